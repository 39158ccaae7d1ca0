use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::events::{CancelReason, Currency, OrderId};

fn line(sku: &str, quantity: u32, unit_price_cents: i64) -> LineItem {
    LineItem {
        sku: sku.to_owned(),
        quantity,
        unit_price_cents,
    }
}

fn created(items: Vec<LineItem>, total_cents: i64) -> OrderCreated {
    OrderCreated {
        order_id: OrderId::new(),
        customer_id: "c-rich".into(),
        items,
        total_cents,
        currency: Currency::Eur,
    }
}

fn paid(items: Vec<LineItem>, amount_cents: i64) -> PaymentCompleted {
    PaymentCompleted {
        order_id: OrderId::new(),
        payment_id: Uuid::now_v7(),
        customer_id: "c-rich".into(),
        amount_cents,
        currency: Currency::Eur,
        items,
    }
}

fn field(result: Result<(), ContractViolation>) -> String {
    result.expect_err("a violation").field
}

#[test]
fn an_order_whose_total_is_its_lines_is_valid() {
    let order = created(vec![line("a", 2, 1299), line("b", 1, 4500)], 7098);
    assert_eq!(order.validate(), Ok(()));
}

#[test]
fn a_total_that_is_not_the_lines_sum_is_refused() {
    let order = created(vec![line("a", 2, 1299)], 1);
    let err = order.validate().unwrap_err();
    assert_eq!(err.field, "total_cents");
    assert_eq!(
        err.to_string(),
        "total_cents: 1 is not the lines' total 2598"
    );
    assert_eq!(
        field(paid(vec![line("a", 1, 100)], 99).validate()),
        "amount_cents"
    );
}

#[test]
fn every_line_bound_names_its_field() {
    let one = |l: LineItem| {
        let total = l.unit_price_cents * i64::from(l.quantity);
        field(paid(vec![l], total).validate())
    };
    assert_eq!(one(line("a", 0, 100)), "items[0].quantity");
    assert_eq!(one(line("a", MAX_QUANTITY + 1, 1)), "items[0].quantity");
    assert_eq!(one(line("a", 1, 0)), "items[0].unit_price_cents");
    assert_eq!(one(line("a", 1, -5)), "items[0].unit_price_cents");
    assert_eq!(
        one(line("a", 1, MAX_UNIT_PRICE_CENTS + 1)),
        "items[0].unit_price_cents"
    );
    assert_eq!(one(line("", 1, 1)), "items[0].sku");
    assert_eq!(one(line("a\u{1b}[2J", 1, 1)), "items[0].sku");
    assert_eq!(field(paid(vec![], 0).validate()), "items");
    let many: Vec<LineItem> = (0..=MAX_LINES)
        .map(|i| line(&format!("s{i}"), 1, 1))
        .collect();
    let total = many.len() as i64;
    assert_eq!(field(created(many, total).validate()), "items");
}

#[test]
fn a_sku_twice_is_refused_with_its_name() {
    let err = paid(vec![line("sku-widget", 1, 1), line("sku-widget", 1, 1)], 2)
        .validate()
        .unwrap_err();
    assert_eq!(err.field, "items[1].sku");
    assert!(
        err.problem.contains("\"sku-widget\" appears twice"),
        "{err}"
    );
}

#[test]
fn the_largest_order_is_valid() {
    let lines: Vec<LineItem> = (0..MAX_LINES)
        .map(|i| line(&format!("s{i}"), MAX_QUANTITY, MAX_UNIT_PRICE_CENTS))
        .collect();
    let total = MAX_LINES as i64 * i64::from(MAX_QUANTITY) * MAX_UNIT_PRICE_CENTS;
    assert_eq!(created(lines, total).validate(), Ok(()));
}

#[test]
fn a_release_may_be_empty_but_a_reservation_may_not() {
    let order_id = OrderId::new();
    let released = StockReleased {
        order_id,
        items: vec![],
    };
    assert_eq!(released.validate(), Ok(()));
    let reserved = StockReserved {
        order_id,
        reservation_id: Uuid::now_v7(),
        items: vec![],
    };
    assert_eq!(field(reserved.validate()), "items");
    let released_twice = StockReleased {
        order_id,
        items: vec![line("a", 1, 1), line("a", 2, 1)],
    };
    assert_eq!(field(released_twice.validate()), "items[1].sku");
}

#[test]
fn a_refund_of_money_names_its_payment() {
    let order_id = OrderId::new();
    let refund = |payment_id, amount_cents| PaymentRefunded {
        order_id,
        payment_id,
        amount_cents,
    };
    assert_eq!(refund(None, 0).validate(), Ok(()));
    assert_eq!(refund(Some(Uuid::now_v7()), 500).validate(), Ok(()));
    assert_eq!(field(refund(None, 500).validate()), "payment_id");
    assert_eq!(
        field(refund(Some(Uuid::now_v7()), -1).validate()),
        "amount_cents"
    );
}

#[test]
fn ids_and_tracking_numbers_are_short_and_printable() {
    let mut order = created(vec![line("a", 1, 1)], 1);
    order.customer_id = String::new();
    assert_eq!(field(order.validate()), "customer_id");
    let failed = StockReservationFailed {
        order_id: OrderId::new(),
        reason: crate::events::StockFailureReason::OutOfStock,
        sku: "x".repeat(crate::ids::MAX_ID_CHARS + 1),
    };
    assert_eq!(field(failed.validate()), "sku");
    let shipped = |tracking_number: &str| OrderShipped {
        order_id: OrderId::new(),
        tracking_number: tracking_number.into(),
    };
    assert_eq!(shipped("T-1").validate(), Ok(()));
    assert_eq!(field(shipped("").validate()), "tracking_number");
    assert_eq!(field(shipped("a\nb").validate()), "tracking_number");
}

#[test]
fn a_saga_event_is_checked_by_its_payload() {
    let order_id = OrderId::new();
    let events = [
        SagaEvent::Order(OrderEvent::Cancelled(OrderCancelled {
            order_id,
            reason: CancelReason::Deadline,
        })),
        SagaEvent::Order(OrderEvent::Confirmed(OrderConfirmed { order_id })),
        SagaEvent::Payment(PaymentEvent::Failed(PaymentFailed {
            order_id,
            reason: crate::events::PaymentFailureReason::Declined,
        })),
    ];
    for event in events {
        assert_eq!(event.validate(), Ok(()));
    }
    let bad = SagaEvent::Payment(PaymentEvent::Completed(paid(vec![line("a", 0, 1)], 0)));
    assert_eq!(field(bad.validate()), "items[0].quantity");
    let bad = SagaEvent::Inventory(InventoryEvent::Reserved(StockReserved {
        order_id,
        reservation_id: Uuid::now_v7(),
        items: vec![],
    }));
    assert_eq!(field(bad.validate()), "items");
}

/// Valid lines: distinct SKUs, every bound held.
fn valid_lines() -> impl Strategy<Value = Vec<LineItem>> {
    proptest::collection::btree_map(
        "[a-z0-9-]{1,20}",
        (1..=MAX_QUANTITY, 1..=MAX_UNIT_PRICE_CENTS),
        1..=MAX_LINES,
    )
    .prop_map(|lines| {
        lines
            .into_iter()
            .map(|(sku, (quantity, price))| line(&sku, quantity, price))
            .collect()
    })
}

fn total(lines: &[LineItem]) -> i64 {
    lines
        .iter()
        .map(|l| l.unit_price_cents * i64::from(l.quantity))
        .sum()
}

proptest! {
    /// Whatever a producer could have sent passes.
    #[test]
    fn every_order_within_the_bounds_is_valid(lines in valid_lines()) {
        let sum = total(&lines);
        prop_assert_eq!(created(lines.clone(), sum).validate(), Ok(()));
        prop_assert_eq!(paid(lines, sum).validate(), Ok(()));
    }

    /// Any other total is refused, naming the total.
    #[test]
    fn any_other_total_is_refused(lines in valid_lines(), off in any::<i64>().prop_filter("not zero", |d| *d != 0)) {
        let stated = total(&lines).wrapping_add(off);
        prop_assert_eq!(field(created(lines, stated).validate()), "total_cents");
    }

    /// A line repeated anywhere, or one whose quantity is zero, is refused at that line.
    #[test]
    fn a_repeated_sku_or_a_zero_quantity_is_refused_at_its_line(
        lines in valid_lines(),
        pick in any::<proptest::sample::Index>(),
        zero in any::<bool>(),
    ) {
        let mut lines = lines;
        let source = pick.index(lines.len());
        let at = if zero {
            lines[source].quantity = 0;
            source
        } else {
            prop_assume!(lines.len() < MAX_LINES);
            let copy = lines[source].clone();
            lines.push(copy);
            lines.len() - 1
        };
        let err = check_lines(&lines, 1).unwrap_err();
        let expected = if zero { format!("items[{at}].quantity") } else { format!("items[{at}].sku") };
        prop_assert_eq!(err.field, expected);
    }
}
