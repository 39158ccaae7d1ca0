//! inventory's reactions as a pure decider: an order's reservation and what an event
//! does to it, given the stock of the SKUs it names.

use std::collections::BTreeMap;

use contracts::events::{PaymentCompleted, StockReleased, StockReservationFailed, StockReserved};
use contracts::{InventoryEvent, LineItem, OrderId, StockFailureReason};
use uuid::Uuid;

#[cfg(test)]
mod tests;

/// The per-order state (`order_reservations.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationStatus {
    New,
    Reserved,
    Released,
    Shipped,
    /// Cancelled before anything was reserved: a later `PaymentCompleted` reserves
    /// nothing.
    CancelledBeforeReserve,
    /// The reservation was refused (out of stock, unknown SKU).
    Failed,
}

impl ReservationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReservationStatus::New => "new",
            ReservationStatus::Reserved => "reserved",
            ReservationStatus::Released => "released",
            ReservationStatus::Shipped => "shipped",
            ReservationStatus::CancelledBeforeReserve => "cancelled_before_reserve",
            ReservationStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "new" => ReservationStatus::New,
            "reserved" => ReservationStatus::Reserved,
            "released" => ReservationStatus::Released,
            "shipped" => ReservationStatus::Shipped,
            "cancelled_before_reserve" => ReservationStatus::CancelledBeforeReserve,
            "failed" => ReservationStatus::Failed,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub status: ReservationStatus,
    pub items: Vec<LineItem>,
}

impl Default for Reservation {
    fn default() -> Self {
        Self {
            status: ReservationStatus::New,
            items: Vec::new(),
        }
    }
}

/// What the adapter must do, and what to announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Nothing,
    /// Move every line from available to reserved.
    Reserve {
        reservation_id: Uuid,
        items: Vec<LineItem>,
        announce: InventoryEvent,
    },
    /// Refuse the reservation: nothing moves.
    Fail {
        announce: InventoryEvent,
    },
    /// Move every held line back from reserved to available.
    Release {
        items: Vec<LineItem>,
        announce: InventoryEvent,
    },
    /// Cancelled with nothing held: remember it, answer with an empty release.
    RememberCancellation {
        announce: InventoryEvent,
    },
    /// Move every held line from reserved to shipped.
    Ship {
        items: Vec<LineItem>,
    },
}

impl Decision {
    pub fn announcement(&self) -> Option<&InventoryEvent> {
        match self {
            Decision::Nothing | Decision::Ship { .. } => None,
            Decision::Reserve { announce, .. }
            | Decision::Fail { announce }
            | Decision::Release { announce, .. }
            | Decision::RememberCancellation { announce } => Some(announce),
        }
    }
}

/// A paid order asks to reserve every line, all or nothing. `available` holds the
/// stock of each SKU the order names (`None`: no such SKU).
pub fn on_payment_completed(
    state: &Reservation,
    paid: &PaymentCompleted,
    available: &BTreeMap<String, Option<i64>>,
    reservation_id: Uuid,
) -> Decision {
    if state.status != ReservationStatus::New {
        return Decision::Nothing;
    }
    let fail = |reason, sku: &str| Decision::Fail {
        announce: InventoryEvent::ReservationFailed(StockReservationFailed {
            order_id: paid.order_id,
            reason,
            sku: sku.to_owned(),
        }),
    };
    let mut lines = paid.items.clone();
    lines.sort_by(|a, b| a.sku.cmp(&b.sku));
    for line in &lines {
        match available.get(&line.sku).copied().flatten() {
            None => return fail(StockFailureReason::UnknownSku, &line.sku),
            Some(stock) if stock < i64::from(line.quantity) => {
                return fail(StockFailureReason::OutOfStock, &line.sku);
            }
            Some(_) => {}
        }
    }
    Decision::Reserve {
        reservation_id,
        items: lines.clone(),
        announce: InventoryEvent::Reserved(StockReserved {
            order_id: paid.order_id,
            reservation_id,
            items: lines,
        }),
    }
}

/// An `OrderCancelled` is always answered with a `StockReleased` (empty when nothing
/// was held), once.
pub fn on_order_cancelled(state: &Reservation, order_id: OrderId) -> Decision {
    let released =
        |items: Vec<LineItem>| InventoryEvent::Released(StockReleased { order_id, items });
    match state.status {
        ReservationStatus::Reserved => Decision::Release {
            items: state.items.clone(),
            announce: released(state.items.clone()),
        },
        ReservationStatus::New | ReservationStatus::Failed => Decision::RememberCancellation {
            announce: released(Vec::new()),
        },
        ReservationStatus::Released
        | ReservationStatus::CancelledBeforeReserve
        | ReservationStatus::Shipped => Decision::Nothing,
    }
}

/// An `OrderShipped` moves the reservation to shipped.
pub fn on_order_shipped(state: &Reservation) -> Decision {
    match state.status {
        ReservationStatus::Reserved => Decision::Ship {
            items: state.items.clone(),
        },
        _ => Decision::Nothing,
    }
}

/// The state after a decision was applied.
pub fn evolve(state: &Reservation, decision: &Decision) -> Reservation {
    let mut next = state.clone();
    match decision {
        Decision::Nothing => {}
        Decision::Reserve { items, .. } => {
            next.status = ReservationStatus::Reserved;
            next.items = items.clone();
        }
        Decision::Fail { .. } => next.status = ReservationStatus::Failed,
        Decision::Release { .. } => next.status = ReservationStatus::Released,
        Decision::RememberCancellation { .. } => {
            next.status = ReservationStatus::CancelledBeforeReserve
        }
        Decision::Ship { .. } => next.status = ReservationStatus::Shipped,
    }
    next
}
