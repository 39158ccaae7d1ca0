//! payment's reactions as a pure decider: the order's payment state and what an event
//! does to it. No database, broker or clock here; ids come in with the inputs.

use contracts::events::{OrderCreated, PaymentCompleted, PaymentFailed, PaymentRefunded};
use contracts::{Currency, OrderId, PaymentEvent, PaymentFailureReason};
use uuid::Uuid;

#[cfg(test)]
mod tests;

/// The per-order payment state (`payments.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    /// Nothing has happened yet for this order.
    New,
    Captured,
    Declined,
    Refunded,
    /// The order was cancelled before anything was charged: a late `OrderCreated`
    /// charges nothing.
    CancelledBeforeCharge,
}

impl PaymentStatus {
    pub const ALL: [Self; 5] = [
        Self::New,
        Self::Captured,
        Self::Declined,
        Self::Refunded,
        Self::CancelledBeforeCharge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::New => "new",
            PaymentStatus::Captured => "captured",
            PaymentStatus::Declined => "declined",
            PaymentStatus::Refunded => "refunded",
            PaymentStatus::CancelledBeforeCharge => "cancelled_before_charge",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "new" => PaymentStatus::New,
            "captured" => PaymentStatus::Captured,
            "declined" => PaymentStatus::Declined,
            "refunded" => PaymentStatus::Refunded,
            "cancelled_before_charge" => PaymentStatus::CancelledBeforeCharge,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentState {
    pub status: PaymentStatus,
    pub payment_id: Option<Uuid>,
    pub customer_id: Option<String>,
    pub amount_cents: i64,
}

impl PaymentState {
    pub fn new() -> Self {
        Self {
            status: PaymentStatus::New,
            payment_id: None,
            customer_id: None,
            amount_cents: 0,
        }
    }

    /// What makes this state one [`evolve`] never produces, if anything: a capture
    /// must name its payment and customer and hold money, or its refund would go
    /// nowhere. The store refuses such a row instead of deciding on it.
    pub fn inconsistency(&self) -> Option<&'static str> {
        if self.status != PaymentStatus::Captured {
            return None;
        }
        if self.payment_id.is_none() {
            Some("a captured payment without its payment id")
        } else if self.customer_id.is_none() {
            Some("a captured payment with no customer")
        } else if self.amount_cents <= 0 {
            Some("a captured payment of no money")
        } else {
            None
        }
    }
}

impl Default for PaymentState {
    fn default() -> Self {
        Self::new()
    }
}

/// The customer's account as the charge sees it (`None`: no such customer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    pub balance_cents: i64,
    pub declines: bool,
}

/// What the adapter must do, and what to announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing applies any more (a duplicate, or a late event): no change, no event.
    Nothing,
    /// Take `amount_cents` from the customer's account.
    Charge {
        payment_id: Uuid,
        customer_id: String,
        amount_cents: i64,
        announce: PaymentEvent,
    },
    /// Refuse the charge.
    Decline {
        reason: PaymentFailureReason,
        announce: PaymentEvent,
    },
    /// Give back what was captured.
    Refund {
        payment_id: Uuid,
        customer_id: String,
        amount_cents: i64,
        announce: PaymentEvent,
    },
    /// Cancelled with nothing captured: remember it, answer with a zero refund.
    RememberCancellation { announce: PaymentEvent },
}

impl Decision {
    /// The event this decision announces, if any.
    pub fn announcement(&self) -> Option<&PaymentEvent> {
        match self {
            Decision::Nothing => None,
            Decision::Charge { announce, .. }
            | Decision::Decline { announce, .. }
            | Decision::Refund { announce, .. }
            | Decision::RememberCancellation { announce } => Some(announce),
        }
    }
}

/// An `OrderCreated` asks for a charge of its total; `payment_id` names the capture.
pub fn on_order_created(
    state: &PaymentState,
    order: &OrderCreated,
    account: Option<Account>,
    payment_id: Uuid,
) -> Decision {
    let order_id = order.order_id;
    let customer_id = order.customer_id.as_str();
    let total_cents = order.total_cents;
    let currency = order.currency;
    if state.status != PaymentStatus::New {
        // Charged, declined, or cancelled first: nothing more to do.
        return Decision::Nothing;
    }
    let decline = |reason| Decision::Decline {
        reason,
        announce: PaymentEvent::Failed(PaymentFailed { order_id, reason }),
    };
    let Some(account) = account else {
        return decline(PaymentFailureReason::UnknownCustomer);
    };
    if currency != Currency::Eur {
        return decline(PaymentFailureReason::CurrencyMismatch);
    }
    if account.declines {
        return decline(PaymentFailureReason::Declined);
    }
    if total_cents <= 0 || account.balance_cents < total_cents {
        return decline(PaymentFailureReason::InsufficientFunds);
    }
    Decision::Charge {
        payment_id,
        customer_id: customer_id.to_owned(),
        amount_cents: total_cents,
        announce: PaymentEvent::Completed(PaymentCompleted {
            order_id,
            payment_id,
            customer_id: customer_id.to_owned(),
            amount_cents: total_cents,
            currency,
            items: order.items.clone(),
        }),
    }
}

/// An `OrderCancelled` is always answered with a `PaymentRefunded` (0 when nothing
/// was captured), once. `state` is consistent ([`PaymentState::inconsistency`]): a
/// capture names its payment and customer.
pub fn on_order_cancelled(state: &PaymentState, order_id: OrderId) -> Decision {
    match state.status {
        PaymentStatus::Captured => {
            let payment_id = state.payment_id.expect("a captured payment has an id");
            Decision::Refund {
                payment_id,
                customer_id: state.customer_id.clone().unwrap_or_default(),
                amount_cents: state.amount_cents,
                announce: PaymentEvent::Refunded(PaymentRefunded {
                    order_id,
                    payment_id: Some(payment_id),
                    amount_cents: state.amount_cents,
                }),
            }
        }
        PaymentStatus::New | PaymentStatus::Declined => Decision::RememberCancellation {
            announce: PaymentEvent::Refunded(PaymentRefunded {
                order_id,
                payment_id: None,
                amount_cents: 0,
            }),
        },
        PaymentStatus::Refunded | PaymentStatus::CancelledBeforeCharge => Decision::Nothing,
    }
}

/// The state after a decision was applied.
pub fn evolve(state: &PaymentState, decision: &Decision) -> PaymentState {
    let mut next = state.clone();
    match decision {
        Decision::Nothing => {}
        Decision::Charge {
            payment_id,
            customer_id,
            amount_cents,
            ..
        } => {
            next.status = PaymentStatus::Captured;
            next.payment_id = Some(*payment_id);
            next.customer_id = Some(customer_id.clone());
            next.amount_cents = *amount_cents;
        }
        Decision::Decline { .. } => next.status = PaymentStatus::Declined,
        Decision::Refund { .. } => next.status = PaymentStatus::Refunded,
        Decision::RememberCancellation { .. } => next.status = PaymentStatus::CancelledBeforeCharge,
    }
    next
}
