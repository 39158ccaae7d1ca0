//! Commands and the rules that turn them into events.
//!
//! Saga commands (outcomes reported by payment and inventory, the deadline) never fail:
//! one that no longer applies decides no events, and the caller counts it as late.
//! User commands (create, cancel, ship) fail with a [`DomainError`] the API maps to a
//! status code.

use contracts::{CancelReason, LineItem, OrderId, PaymentFailureReason};
use uuid::Uuid;

use super::draft::OrderDraft;
use super::events::{
    Cancelled, Created, OrderStoreEvent, PaymentRecorded, RefundRecorded, ReleaseRecorded, Shipped,
};
use super::state::{Order, OrderStatus, PaymentProgress, StockProgress};

pub use contracts::validate::MAX_TRACKING_NUMBER_CHARS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A customer places an order.
    Create {
        order_id: OrderId,
        draft: OrderDraft,
    },
    /// payment: `PaymentCompleted`.
    RecordPayment { payment_id: Uuid, amount_cents: i64 },
    /// payment: `PaymentFailed`.
    RecordPaymentFailure { reason: PaymentFailureReason },
    /// inventory: `StockReserved`.
    RecordStockReserved,
    /// inventory: `StockReservationFailed`.
    RecordStockFailure,
    /// payment's answer to `OrderCancelled`.
    RecordRefund {
        payment_id: Option<Uuid>,
        amount_cents: i64,
    },
    /// inventory's answer to `OrderCancelled`.
    RecordRelease { items: Vec<LineItem> },
    /// The saga deadline passed.
    Expire,
    /// The customer cancels.
    Cancel,
    /// The order leaves the warehouse.
    Ship { tracking_number: String },
}

impl Command {
    /// A short name, for spans and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Create { .. } => "create",
            Command::RecordPayment { .. } => "record_payment",
            Command::RecordPaymentFailure { .. } => "record_payment_failure",
            Command::RecordStockReserved => "record_stock_reserved",
            Command::RecordStockFailure => "record_stock_failure",
            Command::RecordRefund { .. } => "record_refund",
            Command::RecordRelease { .. } => "record_release",
            Command::Expire => "expire",
            Command::Cancel => "cancel",
            Command::Ship { .. } => "ship",
        }
    }
}

/// A user command refused by the order's state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("the order does not exist")]
    NotFound,
    #[error("the order already exists")]
    AlreadyExists,
    #[error("the order is already cancelled")]
    AlreadyCancelled,
    #[error("the order is already shipped")]
    AlreadyShipped,
    #[error("the order is not confirmed yet")]
    NotConfirmed,
    #[error("a cancelled order cannot be shipped")]
    Cancelled,
    #[error(
        "the tracking number must be 1 to {MAX_TRACKING_NUMBER_CHARS} characters, none of them a control character"
    )]
    InvalidTrackingNumber,
}

/// The events `command` causes on `state`; `Ok(vec![])` when it no longer applies.
pub fn decide(
    state: Option<&Order>,
    command: Command,
) -> Result<Vec<OrderStoreEvent>, DomainError> {
    use OrderStatus::{Cancelled as IsCancelled, Confirmed, Pending, Shipped as IsShipped};

    let Some(order) = state else {
        return match command {
            Command::Create { order_id, draft } => Ok(vec![OrderStoreEvent::Created(Created {
                order_id,
                customer_id: draft.customer_id,
                items: draft.items,
                total_cents: draft.total_cents,
                currency: draft.currency,
            })]),
            Command::Cancel | Command::Ship { .. } => Err(DomainError::NotFound),
            // Saga news about an order this store never saw: nothing to do.
            _ => Ok(vec![]),
        };
    };
    let cancel = |reason| vec![OrderStoreEvent::Cancelled(Cancelled { reason })];
    Ok(match command {
        Command::Create { .. } => return Err(DomainError::AlreadyExists),
        Command::RecordPayment {
            payment_id,
            amount_cents,
        } => match (order.status, order.payment) {
            (Pending | Confirmed, None) => {
                vec![OrderStoreEvent::PaymentRecorded(PaymentRecorded {
                    payment_id,
                    amount_cents,
                })]
            }
            _ => vec![],
        },
        Command::RecordPaymentFailure { .. } if order.status == Pending => {
            cancel(CancelReason::PaymentDeclined)
        }
        Command::RecordPaymentFailure { .. } => vec![],
        // A pending order is confirmed by the reservation alone: it may come before
        // the payment's news, on another topic.
        Command::RecordStockReserved if order.status == Pending => vec![OrderStoreEvent::Confirmed],
        Command::RecordStockReserved => vec![],
        Command::RecordStockFailure if order.status == Pending => cancel(CancelReason::OutOfStock),
        Command::RecordStockFailure => vec![],
        Command::RecordRefund {
            payment_id,
            amount_cents,
        } => match order.compensation {
            Some(c) if c.payment == PaymentProgress::Pending => {
                vec![OrderStoreEvent::RefundRecorded(RefundRecorded {
                    payment_id,
                    amount_cents,
                })]
            }
            _ => vec![],
        },
        Command::RecordRelease { items } => match order.compensation {
            Some(c) if c.stock == StockProgress::Pending => {
                vec![OrderStoreEvent::ReleaseRecorded(ReleaseRecorded { items })]
            }
            _ => vec![],
        },
        Command::Expire if order.status == Pending => cancel(CancelReason::Deadline),
        Command::Expire => vec![],
        Command::Cancel => match order.status {
            Pending | Confirmed => cancel(CancelReason::Customer),
            IsCancelled => return Err(DomainError::AlreadyCancelled),
            IsShipped => return Err(DomainError::AlreadyShipped),
        },
        Command::Ship { tracking_number } => {
            let tracking_number = tracking_number.trim().to_owned();
            if !contracts::ids::is_short_printable(&tracking_number, MAX_TRACKING_NUMBER_CHARS) {
                return Err(DomainError::InvalidTrackingNumber);
            }
            match order.status {
                Confirmed => vec![OrderStoreEvent::Shipped(Shipped { tracking_number })],
                Pending => return Err(DomainError::NotConfirmed),
                IsCancelled => return Err(DomainError::Cancelled),
                IsShipped => return Err(DomainError::AlreadyShipped),
            }
        }
    })
}
