//! Every event of the saga (DESIGN.md §2), one enum per topic.
//!
//! Payload structs are the wire shapes: plain, serde-derived, tolerant of unknown
//! fields so that an older reader accepts a newer writer's additions. Business
//! validation (bounds, currencies) happens where commands enter a service.

mod inventory;
mod order;
mod payment;

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use inventory::{
    InventoryEvent, StockFailureReason, StockReleased, StockReservationFailed, StockReserved,
};
pub use order::{
    CancelReason, OrderCancelled, OrderConfirmed, OrderCreated, OrderEvent, OrderShipped,
};
pub use payment::{
    PaymentCompleted, PaymentEvent, PaymentFailed, PaymentFailureReason, PaymentRefunded,
};

use crate::codec::{DecodeError, EventType};

/// The saga's key: every message about an order is keyed by its id.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct OrderId(pub Uuid);

impl OrderId {
    /// A new, time-ordered id.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for OrderId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for OrderId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// Money is integer cents in one currency.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Currency {
    #[serde(rename = "EUR")]
    Eur,
}

impl Currency {
    pub fn code(self) -> &'static str {
        match self {
            Currency::Eur => "EUR",
        }
    }
}

/// One line of an order, carried from the order through payment to inventory.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LineItem {
    pub sku: String,
    pub quantity: u32,
    pub unit_price_cents: i64,
}

/// Behaviour shared by the per-topic enums.
pub trait TopicEvent: Sized {
    /// The topic every variant is published to.
    const TOPIC: &'static str;

    /// The order this event is about, also the message key.
    fn order_id(&self) -> OrderId;

    /// The versioned type written to `ce_type`.
    fn event_type(&self) -> EventType;

    /// The message body: the event's JSON alone.
    fn encode(&self) -> Vec<u8>;

    /// Decodes a body whose `ce_type` is `event_type`, upcasting old versions.
    fn decode(event_type: &str, body: &[u8]) -> Result<Self, DecodeError>;
}

/// Any event of the saga, for readers of several topics.
#[derive(Debug, Clone, PartialEq)]
pub enum SagaEvent {
    Order(OrderEvent),
    Payment(PaymentEvent),
    Inventory(InventoryEvent),
}

impl SagaEvent {
    pub fn order_id(&self) -> OrderId {
        match self {
            SagaEvent::Order(e) => e.order_id(),
            SagaEvent::Payment(e) => e.order_id(),
            SagaEvent::Inventory(e) => e.order_id(),
        }
    }

    pub fn event_type(&self) -> EventType {
        match self {
            SagaEvent::Order(e) => e.event_type(),
            SagaEvent::Payment(e) => e.event_type(),
            SagaEvent::Inventory(e) => e.event_type(),
        }
    }

    pub fn topic(&self) -> &'static str {
        match self {
            SagaEvent::Order(_) => OrderEvent::TOPIC,
            SagaEvent::Payment(_) => PaymentEvent::TOPIC,
            SagaEvent::Inventory(_) => InventoryEvent::TOPIC,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        match self {
            SagaEvent::Order(e) => e.encode(),
            SagaEvent::Payment(e) => e.encode(),
            SagaEvent::Inventory(e) => e.encode(),
        }
    }

    /// Decodes by the type's domain prefix (`order.`, `payment.`, `stock.`).
    pub fn decode(event_type: &str, body: &[u8]) -> Result<Self, DecodeError> {
        let parsed = EventType::parse(event_type)?;
        match parsed.domain() {
            "order" => OrderEvent::decode(event_type, body).map(SagaEvent::Order),
            "payment" => PaymentEvent::decode(event_type, body).map(SagaEvent::Payment),
            "stock" => InventoryEvent::decode(event_type, body).map(SagaEvent::Inventory),
            _ => Err(DecodeError::UnknownType(event_type.to_owned())),
        }
    }
}

/// Generates the [`TopicEvent`] impl of a per-topic enum from its variant table:
/// `Variant(Payload) => "type.name", version;`. Keeping the table in one place means
/// the encoder, the decoder and the catalogue cannot disagree.
macro_rules! topic_event {
    ($enum:ident, $topic:expr, { $($variant:ident($payload:ty) => $name:literal, $version:literal;)+ }) => {
        impl $enum {
            /// Every `(type name, current version)` this topic carries.
            pub const CATALOGUE: &'static [(&'static str, u32)] = &[$(($name, $version)),+];

            /// `(type name, version, payload type, payload schema)` of every event, for
            /// the AsyncAPI document.
            pub fn message_schemas(
                generator: &mut schemars::SchemaGenerator,
            ) -> Vec<(&'static str, u32, &'static str, schemars::Schema)> {
                vec![$(($name, $version, stringify!($payload), generator.subschema_for::<$payload>())),+]
            }
        }

        impl $crate::events::TopicEvent for $enum {
            const TOPIC: &'static str = $topic;

            fn order_id(&self) -> $crate::events::OrderId {
                match self {
                    $($enum::$variant(e) => e.order_id,)+
                }
            }

            fn event_type(&self) -> $crate::codec::EventType {
                match self {
                    $($enum::$variant(_) => $crate::codec::EventType::new($name, $version),)+
                }
            }

            fn encode(&self) -> Vec<u8> {
                let encoded = match self {
                    $($enum::$variant(e) => serde_json::to_vec(e),)+
                };
                encoded.expect("event payloads are plain data and always serialize")
            }

            fn decode(event_type: &str, body: &[u8]) -> Result<Self, $crate::codec::DecodeError> {
                let parsed = $crate::codec::EventType::parse(event_type)?;
                $(
                    if parsed.name() == $name {
                        return $crate::codec::decode_versioned::<$payload>(&parsed, $version, body)
                            .map($enum::$variant);
                    }
                )+
                Err($crate::codec::DecodeError::UnknownType(event_type.to_owned()))
            }
        }
    };
}
pub(crate) use topic_event;
