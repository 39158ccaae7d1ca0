//! Events on `payment-events`, published by payment-service.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Currency, LineItem, OrderId, topic_event};
use crate::topics::PAYMENT_EVENTS;

/// Carries the order's lines so that inventory needs nothing but this event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PaymentCompleted {
    pub order_id: OrderId,
    pub payment_id: Uuid,
    pub customer_id: String,
    pub amount_cents: i64,
    pub currency: Currency,
    pub items: Vec<LineItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PaymentFailed {
    pub order_id: OrderId,
    pub reason: PaymentFailureReason,
}

/// The answer to every `OrderCancelled`: `amount_cents` is 0 and `payment_id` null
/// when nothing was captured, so the order can tell its compensation is complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PaymentRefunded {
    pub order_id: OrderId,
    pub payment_id: Option<Uuid>,
    pub amount_cents: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentFailureReason {
    InsufficientFunds,
    Declined,
    UnknownCustomer,
    CurrencyMismatch,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentEvent {
    Completed(PaymentCompleted),
    Failed(PaymentFailed),
    Refunded(PaymentRefunded),
}

topic_event!(PaymentEvent, PAYMENT_EVENTS, {
    Completed(PaymentCompleted) => "payment.completed", 1;
    Failed(PaymentFailed) => "payment.failed", 1;
    Refunded(PaymentRefunded) => "payment.refunded", 1;
});
