//! PostgreSQL adapters of the order service: the event store with snapshots, the read
//! model, saga deadlines, the saga lock and idempotency keys. Every write takes the caller's
//! transaction, so events, view, deadline and outbox rows commit together.

pub mod deadlines;
pub mod event_store;
pub mod idempotency;
pub mod saga_lock;
pub mod view;

pub use event_store::{Loaded, StoreError, StoredEvent, StoredMetadata};
