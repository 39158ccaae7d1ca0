//! Given / when / then for every reaction of payment.

use contracts::events::OrderCreated;
use contracts::{Currency, LineItem, OrderId, PaymentEvent, PaymentFailureReason};
use uuid::Uuid;

use super::*;

fn order(total: i64) -> OrderCreated {
    OrderCreated {
        order_id: OrderId(Uuid::from_u128(1)),
        customer_id: "c-rich".into(),
        items: vec![LineItem {
            sku: "sku-widget".into(),
            quantity: 1,
            unit_price_cents: total,
        }],
        total_cents: total,
        currency: Currency::Eur,
    }
}

fn rich() -> Option<Account> {
    Some(Account {
        balance_cents: 10_000,
        declines: false,
    })
}

fn payment_id() -> Uuid {
    Uuid::from_u128(9)
}

fn captured() -> PaymentState {
    let decision = on_order_created(&PaymentState::new(), &order(500), rich(), payment_id());
    evolve(&PaymentState::new(), &decision)
}

#[test]
fn a_new_order_within_the_balance_is_charged_and_announced_with_its_lines() {
    let decision = on_order_created(&PaymentState::new(), &order(500), rich(), payment_id());
    let Decision::Charge {
        amount_cents,
        announce: PaymentEvent::Completed(completed),
        ..
    } = &decision
    else {
        panic!("expected a charge, got {decision:?}");
    };
    assert_eq!(*amount_cents, 500);
    assert_eq!(completed.items.len(), 1, "inventory needs the lines");
    assert_eq!(
        evolve(&PaymentState::new(), &decision).status,
        PaymentStatus::Captured
    );
}

#[test]
fn every_decline_reason() {
    let failed = |account, total| match on_order_created(
        &PaymentState::new(),
        &order(total),
        account,
        payment_id(),
    ) {
        Decision::Decline { reason, .. } => reason,
        other => panic!("expected a decline, got {other:?}"),
    };
    assert_eq!(failed(None, 500), PaymentFailureReason::UnknownCustomer);
    assert_eq!(
        failed(
            Some(Account {
                balance_cents: 10_000,
                declines: true
            }),
            500
        ),
        PaymentFailureReason::Declined
    );
    assert_eq!(
        failed(rich(), 10_001),
        PaymentFailureReason::InsufficientFunds
    );
}

#[test]
fn an_order_is_charged_once() {
    assert_eq!(
        on_order_created(&captured(), &order(500), rich(), Uuid::from_u128(10)),
        Decision::Nothing
    );
}

#[test]
fn a_cancellation_refunds_what_was_captured() {
    let decision = on_order_cancelled(&captured(), order(500).order_id);
    let Decision::Refund {
        amount_cents,
        announce: PaymentEvent::Refunded(refunded),
        ..
    } = &decision
    else {
        panic!("expected a refund, got {decision:?}");
    };
    assert_eq!((*amount_cents, refunded.amount_cents), (500, 500));
    assert_eq!(refunded.payment_id, Some(payment_id()));
    let refunded_state = evolve(&captured(), &decision);
    assert_eq!(refunded_state.status, PaymentStatus::Refunded);
    assert_eq!(
        on_order_cancelled(&refunded_state, order(500).order_id),
        Decision::Nothing,
        "refunded once"
    );
}

#[test]
fn a_cancellation_before_any_charge_answers_zero_and_is_remembered() {
    let decision = on_order_cancelled(&PaymentState::new(), order(500).order_id);
    let Decision::RememberCancellation {
        announce: PaymentEvent::Refunded(refunded),
    } = &decision
    else {
        panic!("expected a zero refund, got {decision:?}");
    };
    assert_eq!((refunded.amount_cents, refunded.payment_id), (0, None));
    let remembered = evolve(&PaymentState::new(), &decision);
    assert_eq!(
        on_order_created(&remembered, &order(500), rich(), payment_id()),
        Decision::Nothing,
        "a late OrderCreated charges nothing"
    );
}

#[test]
fn a_declined_order_cancelled_answers_a_zero_refund() {
    let declined = evolve(
        &PaymentState::new(),
        &on_order_created(&PaymentState::new(), &order(500), None, payment_id()),
    );
    assert!(matches!(
        on_order_cancelled(&declined, order(500).order_id),
        Decision::RememberCancellation { .. }
    ));
}

#[test]
fn every_status_is_stored_as_text_and_read_back_as_itself() {
    for status in PaymentStatus::ALL {
        assert_eq!(PaymentStatus::parse(status.as_str()), Some(status));
    }
    assert_eq!(
        PaymentStatus::parse("paid"),
        None,
        "an unknown status is no status"
    );
}

#[test]
fn every_state_evolve_makes_is_consistent_and_a_capture_missing_a_part_is_not() {
    assert_eq!(PaymentState::new().inconsistency(), None);
    assert_eq!(captured().inconsistency(), None);
    let refunded = evolve(
        &captured(),
        &on_order_cancelled(&captured(), OrderId(Uuid::from_u128(1))),
    );
    assert_eq!(refunded.inconsistency(), None);

    let without = |change: fn(&mut PaymentState)| {
        let mut state = captured();
        change(&mut state);
        state.inconsistency()
    };
    assert_eq!(
        without(|s| s.customer_id = None),
        Some("a captured payment with no customer")
    );
    assert_eq!(
        without(|s| s.payment_id = None),
        Some("a captured payment without its payment id")
    );
    assert_eq!(
        without(|s| s.amount_cents = 0),
        Some("a captured payment of no money")
    );
}
