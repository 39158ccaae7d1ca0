//! What the order routes answer, typed, so that the OpenAPI document is generated from
//! the same structs the handlers serialize.

use contracts::{CancelReason, Currency, LineItem};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{Compensation, Order, OrderStatus};

/// An order as DESIGN.md §7 shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Order)]
pub struct OrderBody {
    order_id: Uuid,
    status: OrderStatus,
    #[schema(required = true)]
    cancel_reason: Option<CancelReason>,
    /// How far the compensation of a cancelled order has come; null otherwise.
    #[schema(required = true)]
    compensation: Option<Compensation>,
    total_cents: i64,
    currency: Currency,
    items: Vec<LineItem>,
    #[schema(required = true)]
    tracking_number: Option<String>,
    /// How many events made this state.
    version: i64,
    /// The saga's correlation id, from the order's first event.
    #[schema(required = true)]
    correlation_id: Option<Uuid>,
    /// The saga's trace, for Jaeger: on `GET /orders/{id}` when the saga was traced.
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_id: Option<String>,
}

impl OrderBody {
    pub fn new(order: Order, correlation_id: Option<Uuid>) -> Self {
        Self {
            order_id: order.order_id.0,
            status: order.status,
            cancel_reason: order.cancel_reason,
            compensation: order.compensation,
            total_cents: order.total_cents,
            currency: order.currency,
            items: order.items,
            tracking_number: order.tracking_number,
            version: order.version,
            correlation_id,
            trace_id: None,
        }
    }

    pub fn with_trace_id(mut self, trace_id: Option<String>) -> Self {
        self.trace_id = trace_id;
        self
    }
}
