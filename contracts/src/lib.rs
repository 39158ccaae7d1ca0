//! The saga's public interface, shared by every service and by `sagactl`.
//!
//! - [`topics`]: topic names, partition counts and size limits, consumer groups.
//! - [`headers`]: the Kafka header names (CloudEvents binary mode, tracing, DLQ).
//! - [`events`]: every event, one enum per topic, with its payload types.
//! - [`metadata`]: the envelope every message carries in its headers.
//! - [`asyncapi`]: the AsyncAPI 3 document, generated from these types.
//! - [`codec`]: body encoding and decoding, telling poison from unsupported versions.
//! - [`validate`]: each event's contract beyond its shape (bounds, sums): a consumed
//!   event that breaks it is poison.
//!
//! Invariants kept here: a message body is the event's JSON alone; every event carries
//! its `order_id`, which is also the message key; events evolve by adding optional
//! fields, and a breaking change is a new version with an upcaster in [`codec`].

pub mod asyncapi;
pub mod codec;
pub mod events;
pub mod headers;
pub mod ids;
pub mod metadata;
pub mod topics;
pub mod validate;

pub use codec::{DecodeError, EventType};
pub use events::{
    CancelReason, Currency, InventoryEvent, LineItem, OrderEvent, OrderId, PaymentEvent,
    PaymentFailureReason, SagaEvent, StockFailureReason,
};
pub use metadata::EventMetadata;
pub use validate::{ContractViolation, Validate};
