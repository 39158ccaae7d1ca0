//! Events on `inventory-events`, published by inventory-service.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{LineItem, OrderId, topic_event};
use crate::topics::INVENTORY_EVENTS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StockReserved {
    pub order_id: OrderId,
    pub reservation_id: Uuid,
    pub items: Vec<LineItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StockReservationFailed {
    pub order_id: OrderId,
    pub reason: StockFailureReason,
    /// The first line that could not be reserved.
    pub sku: String,
}

/// The answer to every `OrderCancelled`: `items` is empty when nothing was held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StockReleased {
    pub order_id: OrderId,
    pub items: Vec<LineItem>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StockFailureReason {
    OutOfStock,
    UnknownSku,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InventoryEvent {
    Reserved(StockReserved),
    ReservationFailed(StockReservationFailed),
    Released(StockReleased),
}

topic_event!(InventoryEvent, INVENTORY_EVENTS, {
    Reserved(StockReserved) => "stock.reserved", 1;
    ReservationFailed(StockReservationFailed) => "stock.reservation_failed", 1;
    Released(StockReleased) => "stock.released", 1;
});
