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

impl OrderStoreEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            OrderStoreEvent::Created(_) => "order.created",
            OrderStoreEvent::PaymentRecorded(_) => "order.payment_recorded",
            OrderStoreEvent::Confirmed => "order.confirmed",
            OrderStoreEvent::Cancelled(_) => "order.cancelled",
            OrderStoreEvent::RefundRecorded(_) => "order.refund_recorded",
            OrderStoreEvent::ReleaseRecorded(_) => "order.release_recorded",
            OrderStoreEvent::Shipped(_) => "order.shipped",
        }
    }

    /// The schema version this build writes.
    pub fn schema_version(&self) -> i32 {
        current_version(self.event_type())
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
        let current = current_version(event_type);
        if current == 0 {
            return Err(StoredEventError::UnknownType(event_type.to_owned()));
        }
        if version > current {
            return Err(StoredEventError::TooNew {
                event_type: event_type.to_owned(),
                version,
                current,
            });
        }
        let mut payload = payload;
        for from in version..current {
            payload = upcast(event_type, from, payload);
        }
        let decode_error = |source| StoredEventError::Payload {
            event_type: event_type.to_owned(),
            source,
        };
        Ok(match event_type {
            "order.created" => {
                OrderStoreEvent::Created(serde_json::from_value(payload).map_err(decode_error)?)
            }
            "order.payment_recorded" => OrderStoreEvent::PaymentRecorded(
                serde_json::from_value(payload).map_err(decode_error)?,
            ),
            "order.confirmed" => OrderStoreEvent::Confirmed,
            "order.cancelled" => {
                OrderStoreEvent::Cancelled(serde_json::from_value(payload).map_err(decode_error)?)
            }
            "order.refund_recorded" => OrderStoreEvent::RefundRecorded(
                serde_json::from_value(payload).map_err(decode_error)?,
            ),
            "order.release_recorded" => OrderStoreEvent::ReleaseRecorded(
                serde_json::from_value(payload).map_err(decode_error)?,
            ),
            "order.shipped" => {
                OrderStoreEvent::Shipped(serde_json::from_value(payload).map_err(decode_error)?)
            }
            other => return Err(StoredEventError::UnknownType(other.to_owned())),
        })
    }
}

/// The version this build writes of each stored type; 0 for a type it does not know.
fn current_version(event_type: &str) -> i32 {
    match event_type {
        // v2: `currency` became explicit (v1 orders were EUR by definition).
        "order.created" => 2,
        "order.payment_recorded"
        | "order.confirmed"
        | "order.cancelled"
        | "order.refund_recorded"
        | "order.release_recorded"
        | "order.shipped" => 1,
        _ => 0,
    }
}

/// One step of the upcaster chain: `event_type` at `from` to `from + 1`.
fn upcast(event_type: &str, from: i32, mut payload: Value) -> Value {
    match (event_type, from) {
        ("order.created", 1) => {
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
