//! The order as a left fold of its events. `evolve` only folds: every rule lives in
//! `decide`, so replaying stored events can never fail or branch on business logic.

use contracts::{CancelReason, Currency, LineItem, OrderId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::events::OrderStoreEvent;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    Confirmed,
    Cancelled,
    Shipped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentProgress {
    Pending,
    Refunded,
    NothingToRefund,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StockProgress {
    Pending,
    Released,
    NothingHeld,
}

/// How far the compensation of a cancelled order has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Compensation {
    pub payment: PaymentProgress,
    pub stock: StockProgress,
}

impl Compensation {
    pub fn is_complete(&self) -> bool {
        self.payment != PaymentProgress::Pending && self.stock != StockProgress::Pending
    }
}

/// A captured payment, as the order remembers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedPayment {
    pub payment_id: Uuid,
    pub amount_cents: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: OrderId,
    pub customer_id: String,
    pub items: Vec<LineItem>,
    pub total_cents: i64,
    pub currency: Currency,
    pub status: OrderStatus,
    pub cancel_reason: Option<CancelReason>,
    pub payment: Option<RecordedPayment>,
    pub compensation: Option<Compensation>,
    pub tracking_number: Option<String>,
    /// How many events made this state (the stream's version).
    pub version: i64,
}

/// Applies one event. An event that does not fit the state (which `decide` never
/// emits) leaves the state as it is but for the version, so a fold always completes.
pub fn evolve(state: Option<Order>, event: &OrderStoreEvent) -> Option<Order> {
    let mut order = match (state, event) {
        (None, OrderStoreEvent::Created(created)) => {
            return Some(Order {
                order_id: created.order_id,
                customer_id: created.customer_id.clone(),
                items: created.items.clone(),
                total_cents: created.total_cents,
                currency: created.currency,
                status: OrderStatus::Pending,
                cancel_reason: None,
                payment: None,
                compensation: None,
                tracking_number: None,
                version: 1,
            });
        }
        (None, _) => return None,
        (Some(order), _) => order,
    };
    order.version += 1;
    match event {
        OrderStoreEvent::Created(_) => {}
        OrderStoreEvent::PaymentRecorded(payment) => {
            order.payment = Some(RecordedPayment {
                payment_id: payment.payment_id,
                amount_cents: payment.amount_cents,
            });
        }
        OrderStoreEvent::Confirmed => order.status = OrderStatus::Confirmed,
        OrderStoreEvent::Cancelled(cancelled) => {
            order.status = OrderStatus::Cancelled;
            order.cancel_reason = Some(cancelled.reason);
            order.compensation = Some(Compensation {
                payment: PaymentProgress::Pending,
                stock: StockProgress::Pending,
            });
        }
        OrderStoreEvent::RefundRecorded(refund) => {
            if let Some(compensation) = order.compensation.as_mut() {
                compensation.payment = if refund.amount_cents > 0 {
                    PaymentProgress::Refunded
                } else {
                    PaymentProgress::NothingToRefund
                };
            }
        }
        OrderStoreEvent::ReleaseRecorded(release) => {
            if let Some(compensation) = order.compensation.as_mut() {
                compensation.stock = if release.items.is_empty() {
                    StockProgress::NothingHeld
                } else {
                    StockProgress::Released
                };
            }
        }
        OrderStoreEvent::Shipped(shipped) => {
            order.status = OrderStatus::Shipped;
            order.tracking_number = Some(shipped.tracking_number.clone());
        }
    }
    Some(order)
}
