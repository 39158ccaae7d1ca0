//! Property: encode then decode gives back every event, whatever its contents.

use contracts::events::{
    OrderCancelled, OrderConfirmed, OrderCreated, OrderShipped, PaymentCompleted, PaymentFailed,
    PaymentRefunded, StockReleased, StockReservationFailed, StockReserved,
};
use contracts::{
    CancelReason, Currency, InventoryEvent, LineItem, OrderEvent, OrderId, PaymentEvent,
    PaymentFailureReason, SagaEvent, StockFailureReason,
};
use proptest::prelude::*;
use uuid::Uuid;

fn uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

fn order_id() -> impl Strategy<Value = OrderId> {
    uuid().prop_map(OrderId)
}

/// Any text, unicode and control characters included: the codec must not care.
fn text() -> impl Strategy<Value = String> {
    any::<String>()
}

fn items() -> impl Strategy<Value = Vec<LineItem>> {
    prop::collection::vec(
        (text(), any::<u32>(), any::<i64>()).prop_map(|(sku, quantity, unit_price_cents)| {
            LineItem {
                sku,
                quantity,
                unit_price_cents,
            }
        }),
        0..8,
    )
}

fn order_event() -> impl Strategy<Value = OrderEvent> {
    let reason = prop_oneof![
        Just(CancelReason::PaymentDeclined),
        Just(CancelReason::OutOfStock),
        Just(CancelReason::Customer),
        Just(CancelReason::Deadline),
    ];
    prop_oneof![
        (order_id(), text(), items(), any::<i64>()).prop_map(
            |(order_id, customer_id, items, total_cents)| {
                OrderEvent::Created(OrderCreated {
                    order_id,
                    customer_id,
                    items,
                    total_cents,
                    currency: Currency::Eur,
                })
            }
        ),
        order_id().prop_map(|order_id| OrderEvent::Confirmed(OrderConfirmed { order_id })),
        (order_id(), reason).prop_map(|(order_id, reason)| OrderEvent::Cancelled(OrderCancelled {
            order_id,
            reason
        })),
        (order_id(), text()).prop_map(|(order_id, tracking_number)| {
            OrderEvent::Shipped(OrderShipped {
                order_id,
                tracking_number,
            })
        }),
    ]
}

fn payment_event() -> impl Strategy<Value = PaymentEvent> {
    let reason = prop_oneof![
        Just(PaymentFailureReason::InsufficientFunds),
        Just(PaymentFailureReason::Declined),
        Just(PaymentFailureReason::UnknownCustomer),
        Just(PaymentFailureReason::CurrencyMismatch),
    ];
    prop_oneof![
        (order_id(), uuid(), text(), any::<i64>(), items()).prop_map(
            |(order_id, payment_id, customer_id, amount_cents, items)| {
                PaymentEvent::Completed(PaymentCompleted {
                    order_id,
                    payment_id,
                    customer_id,
                    amount_cents,
                    currency: Currency::Eur,
                    items,
                })
            }
        ),
        (order_id(), reason).prop_map(|(order_id, reason)| PaymentEvent::Failed(PaymentFailed {
            order_id,
            reason
        })),
        (order_id(), prop::option::of(uuid()), any::<i64>()).prop_map(
            |(order_id, payment_id, amount_cents)| {
                PaymentEvent::Refunded(PaymentRefunded {
                    order_id,
                    payment_id,
                    amount_cents,
                })
            }
        ),
    ]
}

fn inventory_event() -> impl Strategy<Value = InventoryEvent> {
    let reason = prop_oneof![
        Just(StockFailureReason::OutOfStock),
        Just(StockFailureReason::UnknownSku)
    ];
    prop_oneof![
        (order_id(), uuid(), items()).prop_map(|(order_id, reservation_id, items)| {
            InventoryEvent::Reserved(StockReserved {
                order_id,
                reservation_id,
                items,
            })
        }),
        (order_id(), reason, text()).prop_map(|(order_id, reason, sku)| {
            InventoryEvent::ReservationFailed(StockReservationFailed {
                order_id,
                reason,
                sku,
            })
        }),
        (order_id(), items()).prop_map(|(order_id, items)| InventoryEvent::Released(
            StockReleased { order_id, items }
        )),
    ]
}

fn saga_event() -> impl Strategy<Value = SagaEvent> {
    prop_oneof![
        order_event().prop_map(SagaEvent::Order),
        payment_event().prop_map(SagaEvent::Payment),
        inventory_event().prop_map(SagaEvent::Inventory),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn encode_then_decode_gives_back_the_event(event in saga_event()) {
        let event_type = event.event_type().to_string();
        let decoded = SagaEvent::decode(&event_type, &event.encode()).unwrap();
        prop_assert_eq!(&decoded, &event);
        prop_assert_eq!(decoded.order_id(), event.order_id());
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(event_type in "[a-z._]{0,24}(\\.v[0-9]{1,3})?", body in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = SagaEvent::decode(&event_type, &body);
    }
}
