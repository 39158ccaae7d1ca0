//! Events on `order-events`, published by order-service.

use serde::{Deserialize, Serialize};

use super::{Currency, LineItem, OrderId, topic_event};
use crate::topics::ORDER_EVENTS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OrderCreated {
    pub order_id: OrderId,
    pub customer_id: String,
    pub items: Vec<LineItem>,
    pub total_cents: i64,
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OrderConfirmed {
    pub order_id: OrderId,
}

/// The one trigger of compensation, whatever the cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OrderCancelled {
    pub order_id: OrderId,
    pub reason: CancelReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OrderShipped {
    pub order_id: OrderId,
    pub tracking_number: String,
}

/// Why an order was cancelled: a business outcome, never an error.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    PaymentDeclined,
    OutOfStock,
    Customer,
    Deadline,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderEvent {
    Created(OrderCreated),
    Confirmed(OrderConfirmed),
    Cancelled(OrderCancelled),
    Shipped(OrderShipped),
}

topic_event!(OrderEvent, ORDER_EVENTS, {
    Created(OrderCreated) => "order.created", 1;
    Confirmed(OrderConfirmed) => "order.confirmed", 1;
    Cancelled(OrderCancelled) => "order.cancelled", 1;
    Shipped(OrderShipped) => "order.shipped", 1;
});
