//! Given / when / then tests of every transition, and properties over any sequence of
//! commands.

use contracts::{CancelReason, LineItem, OrderId, PaymentFailureReason};
use proptest::prelude::*;
use uuid::Uuid;

use super::draft::RawLine;
use super::*;

fn draft() -> OrderDraft {
    let line = RawLine {
        sku: "sku-widget".into(),
        quantity: 2,
        unit_price_cents: 500,
    };
    OrderDraft::parse("c-rich", &[line], "EUR").unwrap()
}

fn order_id() -> OrderId {
    OrderId(Uuid::from_u128(42))
}

/// The state after `commands`, each decided on the state before it.
fn given(commands: Vec<Command>) -> Option<Order> {
    commands.into_iter().fold(None, |state, command| {
        let events = decide(state.as_ref(), command).expect("a given command applies");
        events.iter().fold(state, evolve)
    })
}

fn created() -> Command {
    Command::Create {
        order_id: order_id(),
        draft: draft(),
    }
}

fn paid() -> Command {
    Command::RecordPayment {
        payment_id: Uuid::from_u128(7),
        amount_cents: 1000,
    }
}

fn items() -> Vec<LineItem> {
    draft().items
}

fn when(state: &Option<Order>, command: Command) -> Result<Vec<OrderStoreEvent>, DomainError> {
    decide(state.as_ref(), command)
}

fn then_state(state: Option<Order>, events: &[OrderStoreEvent]) -> Order {
    events.iter().fold(state, evolve).expect("an order")
}

#[test]
fn creating_an_order_makes_it_pending() {
    let state = given(vec![]);
    let events = when(&state, created()).unwrap();
    let order = then_state(state, &events);
    assert_eq!(order.status, OrderStatus::Pending);
    assert_eq!(order.total_cents, 1000);
    assert_eq!(order.version, 1);
}

#[test]
fn an_order_cannot_be_created_twice() {
    assert_eq!(
        when(&given(vec![created()]), created()),
        Err(DomainError::AlreadyExists)
    );
}

#[test]
fn a_payment_is_recorded_once() {
    let state = given(vec![created()]);
    let events = when(&state, paid()).unwrap();
    assert_eq!(events.len(), 1);
    let state = Some(then_state(state, &events));
    assert_eq!(
        when(&state, paid()).unwrap(),
        vec![],
        "a second payment report changes nothing"
    );
}

#[test]
fn a_pending_order_is_confirmed_by_the_reservation_alone() {
    let state = given(vec![created()]);
    let order = then_state(
        state.clone(),
        &when(&state, Command::RecordStockReserved).unwrap(),
    );
    assert_eq!(order.status, OrderStatus::Confirmed);
    assert_eq!(
        order.payment, None,
        "confirmed before the payment's news arrived"
    );
}

#[test]
fn a_payment_reported_after_confirmation_is_still_recorded() {
    let state = given(vec![created(), Command::RecordStockReserved]);
    let order = then_state(state.clone(), &when(&state, paid()).unwrap());
    assert_eq!(order.status, OrderStatus::Confirmed);
    assert!(order.payment.is_some());
}

#[test]
fn a_declined_payment_cancels_a_pending_order() {
    let state = given(vec![created()]);
    let command = Command::RecordPaymentFailure {
        reason: PaymentFailureReason::InsufficientFunds,
    };
    let order = then_state(state.clone(), &when(&state, command).unwrap());
    assert_eq!(order.status, OrderStatus::Cancelled);
    assert_eq!(order.cancel_reason, Some(CancelReason::PaymentDeclined));
    assert_eq!(
        order.compensation,
        Some(Compensation {
            payment: PaymentProgress::Pending,
            stock: StockProgress::Pending
        })
    );
}

#[test]
fn a_stock_out_cancels_a_pending_order() {
    let state = given(vec![created(), paid()]);
    let order = then_state(
        state.clone(),
        &when(&state, Command::RecordStockFailure).unwrap(),
    );
    assert_eq!(order.cancel_reason, Some(CancelReason::OutOfStock));
}

#[test]
fn a_late_reservation_for_a_cancelled_order_decides_nothing() {
    let state = given(vec![created(), Command::RecordStockFailure]);
    assert_eq!(when(&state, Command::RecordStockReserved).unwrap(), vec![]);
    assert_eq!(when(&state, paid()).unwrap(), vec![]);
    assert_eq!(
        when(
            &state,
            Command::RecordPaymentFailure {
                reason: PaymentFailureReason::Declined
            }
        )
        .unwrap(),
        vec![]
    );
}

#[test]
fn compensation_completes_with_a_refund_and_a_release() {
    let state = given(vec![
        created(),
        paid(),
        Command::RecordStockReserved,
        Command::Cancel,
    ]);
    let refund = Command::RecordRefund {
        payment_id: Some(Uuid::from_u128(7)),
        amount_cents: 1000,
    };
    let state = Some(then_state(
        state.clone(),
        &when(&state, refund.clone()).unwrap(),
    ));
    let release = Command::RecordRelease { items: items() };
    let order = then_state(state.clone(), &when(&state, release).unwrap());
    let compensation = order.compensation.unwrap();
    assert_eq!(compensation.payment, PaymentProgress::Refunded);
    assert_eq!(compensation.stock, StockProgress::Released);
    assert!(compensation.is_complete());
    assert_eq!(
        when(&Some(order), refund).unwrap(),
        vec![],
        "a duplicate refund report changes nothing"
    );
}

#[test]
fn nothing_to_compensate_shows_as_such() {
    let state = given(vec![
        created(),
        Command::RecordPaymentFailure {
            reason: PaymentFailureReason::Declined,
        },
    ]);
    let state = given_more(
        state,
        Command::RecordRefund {
            payment_id: None,
            amount_cents: 0,
        },
    );
    let order = given_more(state, Command::RecordRelease { items: vec![] }).unwrap();
    let compensation = order.compensation.unwrap();
    assert_eq!(compensation.payment, PaymentProgress::NothingToRefund);
    assert_eq!(compensation.stock, StockProgress::NothingHeld);
}

fn given_more(state: Option<Order>, command: Command) -> Option<Order> {
    let events = decide(state.as_ref(), command).unwrap();
    events.iter().fold(state, evolve)
}

#[test]
fn the_deadline_cancels_only_a_pending_order() {
    let pending = given(vec![created()]);
    let order = then_state(pending.clone(), &when(&pending, Command::Expire).unwrap());
    assert_eq!(order.cancel_reason, Some(CancelReason::Deadline));
    let confirmed = given(vec![created(), Command::RecordStockReserved]);
    assert_eq!(when(&confirmed, Command::Expire).unwrap(), vec![]);
    let cancelled = given(vec![created(), Command::Cancel]);
    assert_eq!(when(&cancelled, Command::Expire).unwrap(), vec![]);
}

#[test]
fn a_customer_can_cancel_a_pending_or_confirmed_order() {
    for state in [
        given(vec![created()]),
        given(vec![created(), Command::RecordStockReserved]),
    ] {
        let order = then_state(state.clone(), &when(&state, Command::Cancel).unwrap());
        assert_eq!(order.cancel_reason, Some(CancelReason::Customer));
    }
}

#[test]
fn a_shipped_order_cannot_be_cancelled_and_a_cancelled_one_not_twice() {
    let shipped = given(vec![created(), Command::RecordStockReserved, ship()]);
    assert_eq!(
        when(&shipped, Command::Cancel),
        Err(DomainError::AlreadyShipped)
    );
    let cancelled = given(vec![created(), Command::Cancel]);
    assert_eq!(
        when(&cancelled, Command::Cancel),
        Err(DomainError::AlreadyCancelled)
    );
}

fn ship() -> Command {
    Command::Ship {
        tracking_number: "TRK-1".into(),
    }
}

#[test]
fn a_confirmed_order_ships_with_its_tracking_number() {
    let state = given(vec![created(), Command::RecordStockReserved]);
    let order = then_state(state.clone(), &when(&state, ship()).unwrap());
    assert_eq!(order.status, OrderStatus::Shipped);
    assert_eq!(order.tracking_number.as_deref(), Some("TRK-1"));
}

#[test]
fn a_cancelled_order_cannot_be_shipped() {
    assert_eq!(
        when(&given(vec![created(), Command::Cancel]), ship()),
        Err(DomainError::Cancelled)
    );
    assert_eq!(
        when(&given(vec![created()]), ship()),
        Err(DomainError::NotConfirmed)
    );
    let shipped = given(vec![created(), Command::RecordStockReserved, ship()]);
    assert_eq!(when(&shipped, ship()), Err(DomainError::AlreadyShipped));
    let confirmed = given(vec![created(), Command::RecordStockReserved]);
    let blank = Command::Ship {
        tracking_number: "  ".into(),
    };
    assert_eq!(
        when(&confirmed, blank),
        Err(DomainError::InvalidTrackingNumber)
    );
    let nul = Command::Ship {
        tracking_number: "TRK\u{0}1".into(),
    };
    assert_eq!(
        when(&confirmed, nul),
        Err(DomainError::InvalidTrackingNumber)
    );
}

#[test]
fn user_commands_on_an_unknown_order_are_not_found_and_saga_news_is_ignored() {
    assert_eq!(when(&None, Command::Cancel), Err(DomainError::NotFound));
    assert_eq!(when(&None, ship()), Err(DomainError::NotFound));
    assert_eq!(when(&None, Command::RecordStockReserved), Ok(vec![]));
    assert_eq!(when(&None, Command::Expire), Ok(vec![]));
}

fn any_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        Just(created()),
        (any::<u128>(), 0..5000i64).prop_map(|(id, amount)| Command::RecordPayment {
            payment_id: Uuid::from_u128(id),
            amount_cents: amount
        }),
        Just(Command::RecordPaymentFailure {
            reason: PaymentFailureReason::Declined
        }),
        Just(Command::RecordStockReserved),
        Just(Command::RecordStockFailure),
        (0..2000i64).prop_map(|amount| Command::RecordRefund {
            payment_id: None,
            amount_cents: amount
        }),
        prop::bool::ANY.prop_map(|held| Command::RecordRelease {
            items: if held { items() } else { vec![] }
        }),
        Just(Command::Expire),
        Just(Command::Cancel),
        "[A-Z0-9 ]{0,8}".prop_map(|t| Command::Ship { tracking_number: t }),
    ]
}

/// Runs `commands`, keeping every emitted event and the state after each.
fn run(commands: Vec<Command>) -> (Vec<OrderStoreEvent>, Vec<Option<Order>>) {
    let mut state = None;
    let mut log = Vec::new();
    let mut states = Vec::new();
    for command in commands {
        if let Ok(events) = decide(state.as_ref(), command) {
            for event in events {
                state = evolve(state, &event);
                log.push(event);
            }
        }
        states.push(state.clone());
    }
    (log, states)
}

proptest! {
    #[test]
    fn replaying_the_emitted_events_reproduces_the_state(commands in prop::collection::vec(any_command(), 0..30)) {
        let (log, states) = run(commands);
        let replayed = log.iter().fold(None, evolve);
        prop_assert_eq!(&replayed, states.last().unwrap_or(&None));
        if let Some(order) = &replayed {
            prop_assert_eq!(order.version, log.len() as i64);
        }
    }

    #[test]
    fn loading_from_any_snapshot_gives_the_same_state(commands in prop::collection::vec(any_command(), 1..30), cut in 0usize..30) {
        let (log, _) = run(commands);
        let cut = cut.min(log.len());
        let snapshot = log[..cut].iter().fold(None, evolve);
        // A snapshot is stored as JSON: go through it.
        let stored = serde_json::to_value(&snapshot).unwrap();
        let restored: Option<Order> = serde_json::from_value(stored).unwrap();
        let from_snapshot = log[cut..].iter().fold(restored, evolve);
        prop_assert_eq!(from_snapshot, log.iter().fold(None, evolve));
    }

    #[test]
    fn status_only_moves_forward(commands in prop::collection::vec(any_command(), 0..30)) {
        let (_, states) = run(commands);
        let rank = |s: &Option<Order>| s.as_ref().map(|o| match o.status {
            OrderStatus::Pending => 0,
            OrderStatus::Confirmed => 1,
            OrderStatus::Cancelled | OrderStatus::Shipped => 2,
        });
        for pair in states.windows(2) {
            prop_assert!(rank(&pair[0]) <= rank(&pair[1]), "{:?} then {:?}", pair[0], pair[1]);
            if let (Some(a), Some(b)) = (&pair[0], &pair[1]) {
                prop_assert!(!(a.status == OrderStatus::Cancelled && b.status != OrderStatus::Cancelled));
                prop_assert!(!(a.status == OrderStatus::Shipped && b.status != OrderStatus::Shipped));
                if b.status == OrderStatus::Shipped && a.status != OrderStatus::Shipped {
                    prop_assert_eq!(a.status, OrderStatus::Confirmed, "shipped only from confirmed");
                }
            }
        }
    }
}
