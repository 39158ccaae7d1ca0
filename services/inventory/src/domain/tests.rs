//! Given / when / then for every reaction of inventory.

use std::collections::BTreeMap;

use contracts::events::PaymentCompleted;
use contracts::{Currency, InventoryEvent, LineItem, OrderId, StockFailureReason};
use uuid::Uuid;

use super::*;

fn line(sku: &str, quantity: u32) -> LineItem {
    LineItem {
        sku: sku.into(),
        quantity,
        unit_price_cents: 100,
    }
}

fn paid(items: Vec<LineItem>) -> PaymentCompleted {
    PaymentCompleted {
        order_id: OrderId(Uuid::from_u128(1)),
        payment_id: Uuid::from_u128(2),
        customer_id: "c-rich".into(),
        amount_cents: 100,
        currency: Currency::Eur,
        items,
    }
}

fn stock(levels: &[(&str, Option<i64>)]) -> BTreeMap<String, Option<i64>> {
    levels.iter().map(|(s, l)| ((*s).to_owned(), *l)).collect()
}

fn reserved() -> Reservation {
    let decision = on_payment_completed(
        &Reservation::default(),
        &paid(vec![line("b", 1), line("a", 2)]),
        &stock(&[("a", Some(5)), ("b", Some(5))]),
        Uuid::from_u128(3),
    );
    evolve(&Reservation::default(), &decision)
}

#[test]
fn every_line_is_reserved_in_sku_order() {
    let state = reserved();
    assert_eq!(state.status, ReservationStatus::Reserved);
    let skus: Vec<&str> = state.items.iter().map(|l| l.sku.as_str()).collect();
    assert_eq!(skus, ["a", "b"]);
}

#[test]
fn one_short_line_refuses_the_whole_reservation() {
    let decision = on_payment_completed(
        &Reservation::default(),
        &paid(vec![line("a", 1), line("b", 9)]),
        &stock(&[("a", Some(5)), ("b", Some(5))]),
        Uuid::from_u128(3),
    );
    let Decision::Fail {
        announce: InventoryEvent::ReservationFailed(failed),
    } = &decision
    else {
        panic!("expected a failure, got {decision:?}");
    };
    assert_eq!(
        (failed.reason, failed.sku.as_str()),
        (StockFailureReason::OutOfStock, "b")
    );
    let unknown = on_payment_completed(
        &Reservation::default(),
        &paid(vec![line("zz", 1)]),
        &stock(&[("zz", None)]),
        Uuid::from_u128(3),
    );
    assert!(matches!(
        unknown,
        Decision::Fail { announce: InventoryEvent::ReservationFailed(ref f) } if f.reason == StockFailureReason::UnknownSku
    ));
}

#[test]
fn a_cancellation_releases_what_is_held_once() {
    let decision = on_order_cancelled(&reserved(), OrderId(Uuid::from_u128(1)));
    let Decision::Release { items, .. } = &decision else {
        panic!("expected a release, got {decision:?}")
    };
    assert_eq!(items.len(), 2);
    let released = evolve(&reserved(), &decision);
    assert_eq!(
        on_order_cancelled(&released, OrderId(Uuid::from_u128(1))),
        Decision::Nothing
    );
}

#[test]
fn a_cancellation_before_the_payment_is_remembered_and_a_late_payment_reserves_nothing() {
    let decision = on_order_cancelled(&Reservation::default(), OrderId(Uuid::from_u128(1)));
    let Decision::RememberCancellation {
        announce: InventoryEvent::Released(released),
    } = &decision
    else {
        panic!("expected an empty release, got {decision:?}");
    };
    assert!(released.items.is_empty());
    let remembered = evolve(&Reservation::default(), &decision);
    let late = on_payment_completed(
        &remembered,
        &paid(vec![line("a", 1)]),
        &stock(&[("a", Some(5))]),
        Uuid::from_u128(3),
    );
    assert_eq!(late, Decision::Nothing);
}

#[test]
fn shipping_moves_a_reservation_and_nothing_else() {
    assert!(matches!(
        on_order_shipped(&reserved()),
        Decision::Ship { .. }
    ));
    assert_eq!(on_order_shipped(&Reservation::default()), Decision::Nothing);
}

#[test]
fn every_status_is_stored_as_text_and_read_back_as_itself() {
    use ReservationStatus::*;
    for status in [
        New,
        Reserved,
        Released,
        Shipped,
        CancelledBeforeReserve,
        Failed,
    ] {
        assert_eq!(ReservationStatus::parse(status.as_str()), Some(status));
    }
    assert_eq!(
        ReservationStatus::parse("held"),
        None,
        "an unknown status is no status"
    );
}
