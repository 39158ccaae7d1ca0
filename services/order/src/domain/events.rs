//! What the order's event store records. Four of these are also published on
//! `order-events` (created, confirmed, cancelled, shipped); the others are the order's
//! own memory of the saga (a payment captured, a refund, a release) and never leave it.
//!
//! Stored as `(event_type, schema_version, payload)`. Old versions are upcast on load,
//! one version at a time, so every reader above the store sees the current shape.

use contracts::{CancelReason, Currency, LineItem, OrderId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    pub order_id: OrderId,
    pub customer_id: String,
    pub items: Vec<LineItem>,
    pub total_cents: i64,
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecorded {
    pub payment_id: Uuid,
    pub amount_cents: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancelled {
    pub reason: CancelReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRecorded {
    pub payment_id: Option<Uuid>,
    pub amount_cents: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRecorded {
    pub items: Vec<LineItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipped {
    pub tracking_number: String,
}

/// Every event of the order's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderStoreEvent {
    Created(Created),
    PaymentRecorded(PaymentRecorded),
    Confirmed,
    Cancelled(Cancelled),
    RefundRecorded(RefundRecorded),
    ReleaseRecorded(ReleaseRecorded),
    Shipped(Shipped),
}

/// Why a stored event cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum StoredEventError {
    #[error("unknown stored event type {0}")]
    UnknownType(String),
    #[error("{event_type} v{version} is newer than this build reads (v{current})")]
    TooNew {
        event_type: String,
        version: i32,
        current: i32,
    },
    #[error("stored {event_type} does not decode: {source}")]
    Payload {
        event_type: String,
        #[source]
        source: serde_json::Error,
    },
}

/// Each stored type once: its name in the store, the schema version this build
/// writes, and whether it is also published on `order-events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredType {
    Created,
    PaymentRecorded,
    Confirmed,
    Cancelled,
    RefundRecorded,
    ReleaseRecorded,
    Shipped,
}

impl StoredType {
    pub const ALL: [Self; 7] = [
        Self::Created,
        Self::PaymentRecorded,
        Self::Confirmed,
        Self::Cancelled,
        Self::RefundRecorded,
        Self::ReleaseRecorded,
        Self::Shipped,
    ];

    /// `order_events.event_type`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Created => "order.created",
            Self::PaymentRecorded => "order.payment_recorded",
            Self::Confirmed => "order.confirmed",
            Self::Cancelled => "order.cancelled",
            Self::RefundRecorded => "order.refund_recorded",
            Self::ReleaseRecorded => "order.release_recorded",
            Self::Shipped => "order.shipped",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The schema version this build writes; older ones are upcast on load.
    pub fn current_version(self) -> i32 {
        match self {
            // v2: `currency` became explicit (v1 orders were EUR by definition).
            Self::Created => 2,
            _ => 1,
        }
    }

    /// Also published on `order-events` (`app::to_published` maps these, and only these).
    pub fn is_published(self) -> bool {
        matches!(
            self,
            Self::Created | Self::Confirmed | Self::Cancelled | Self::Shipped
        )
    }

    /// The names of the published types, for a query over the store.
    pub fn published_names() -> Vec<&'static str> {
        Self::ALL
            .into_iter()
            .filter(|t| t.is_published())
            .map(Self::name)
            .collect()
    }
}

impl OrderStoreEvent {
    pub fn stored_type(&self) -> StoredType {
        match self {
            OrderStoreEvent::Created(_) => StoredType::Created,
            OrderStoreEvent::PaymentRecorded(_) => StoredType::PaymentRecorded,
            OrderStoreEvent::Confirmed => StoredType::Confirmed,
            OrderStoreEvent::Cancelled(_) => StoredType::Cancelled,
            OrderStoreEvent::RefundRecorded(_) => StoredType::RefundRecorded,
            OrderStoreEvent::ReleaseRecorded(_) => StoredType::ReleaseRecorded,
            OrderStoreEvent::Shipped(_) => StoredType::Shipped,
        }
    }

    pub fn event_type(&self) -> &'static str {
        self.stored_type().name()
    }

    /// The schema version this build writes.
    pub fn schema_version(&self) -> i32 {
        self.stored_type().current_version()
    }

    pub fn payload(&self) -> Value {
        let value = match self {
            OrderStoreEvent::Created(e) => serde_json::to_value(e),
            OrderStoreEvent::PaymentRecorded(e) => serde_json::to_value(e),
            OrderStoreEvent::Confirmed => Ok(Value::Object(Default::default())),
            OrderStoreEvent::Cancelled(e) => serde_json::to_value(e),
            OrderStoreEvent::RefundRecorded(e) => serde_json::to_value(e),
            OrderStoreEvent::ReleaseRecorded(e) => serde_json::to_value(e),
            OrderStoreEvent::Shipped(e) => serde_json::to_value(e),
        };
        value.expect("store events are plain data")
    }

    /// Reads a stored event, upcasting it from `version` to the current one.
    pub fn from_stored(
        event_type: &str,
        version: i32,
        payload: Value,
    ) -> Result<Self, StoredEventError> {
        let kind = StoredType::parse(event_type)
            .ok_or_else(|| StoredEventError::UnknownType(event_type.to_owned()))?;
        let current = kind.current_version();
        if version > current {
            return Err(StoredEventError::TooNew {
                event_type: event_type.to_owned(),
                version,
                current,
            });
        }
        let payload = (version..current).fold(payload, |payload, from| upcast(kind, from, payload));
        Ok(match kind {
            StoredType::Created => OrderStoreEvent::Created(decode(event_type, payload)?),
            StoredType::PaymentRecorded => {
                OrderStoreEvent::PaymentRecorded(decode(event_type, payload)?)
            }
            StoredType::Confirmed => OrderStoreEvent::Confirmed,
            StoredType::Cancelled => OrderStoreEvent::Cancelled(decode(event_type, payload)?),
            StoredType::RefundRecorded => {
                OrderStoreEvent::RefundRecorded(decode(event_type, payload)?)
            }
            StoredType::ReleaseRecorded => {
                OrderStoreEvent::ReleaseRecorded(decode(event_type, payload)?)
            }
            StoredType::Shipped => OrderStoreEvent::Shipped(decode(event_type, payload)?),
        })
    }
}

fn decode<T: serde::de::DeserializeOwned>(
    event_type: &str,
    payload: Value,
) -> Result<T, StoredEventError> {
    serde_json::from_value(payload).map_err(|source| StoredEventError::Payload {
        event_type: event_type.to_owned(),
        source,
    })
}

/// One step of the upcaster chain: `kind` at `from` to `from + 1`.
fn upcast(kind: StoredType, from: i32, mut payload: Value) -> Value {
    match (kind, from) {
        (StoredType::Created, 1) => {
            if let Some(object) = payload.as_object_mut() {
                object
                    .entry("currency")
                    .or_insert_with(|| Value::from("EUR"));
            }
            payload
        }
        _ => payload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_v1_created_event_is_read_as_v2_with_its_implied_currency() {
        let v1 = serde_json::json!({
            "order_id": "0190f5a2-7c3e-7d4a-9b1e-3f2a1c0d9e8f",
            "customer_id": "c-rich",
            "items": [{"sku": "sku-widget", "quantity": 1, "unit_price_cents": 100}],
            "total_cents": 100
        });
        let event = OrderStoreEvent::from_stored("order.created", 1, v1).unwrap();
        let OrderStoreEvent::Created(created) = event else {
            panic!("not a created event")
        };
        assert_eq!(created.currency, Currency::Eur);
    }

    #[test]
    fn a_version_newer_than_the_build_is_refused() {
        let err =
            OrderStoreEvent::from_stored("order.shipped", 7, serde_json::json!({})).unwrap_err();
        assert!(matches!(
            err,
            StoredEventError::TooNew {
                version: 7,
                current: 1,
                ..
            }
        ));
    }

    #[test]
    fn every_type_name_parses_back_to_itself_and_an_unknown_one_is_refused() {
        for kind in StoredType::ALL {
            assert_eq!(StoredType::parse(kind.name()), Some(kind));
        }
        assert!(matches!(
            OrderStoreEvent::from_stored("order.lost", 1, serde_json::json!({})),
            Err(StoredEventError::UnknownType(_))
        ));
    }

    #[test]
    fn every_event_round_trips_through_its_stored_form() {
        let events = [
            OrderStoreEvent::Confirmed,
            OrderStoreEvent::Cancelled(Cancelled {
                reason: CancelReason::Deadline,
            }),
            OrderStoreEvent::RefundRecorded(RefundRecorded {
                payment_id: None,
                amount_cents: 0,
            }),
            OrderStoreEvent::Shipped(Shipped {
                tracking_number: "T-1".into(),
            }),
        ];
        for event in events {
            let back = OrderStoreEvent::from_stored(
                event.event_type(),
                event.schema_version(),
                event.payload(),
            )
            .unwrap();
            assert_eq!(back, event);
        }
    }
}
