//! The transactional outbox (DESIGN.md §5).
//!
//! - [`enqueue`]: writes an event into the `outbox` table inside the caller's
//!   transaction, with the headers of that moment (envelope, trace context,
//!   correlation), refusing what could never be sent.
//! - [`relay`]: publishes unpublished rows in id order, awaits every delivery report,
//!   then marks the batch; parks rows the broker refuses for good.
//! - [`leader`]: one active relay per database, by a PostgreSQL advisory lock held on
//!   a dedicated connection.
//! - [`wakeup`]: an in-process nudge after a writing transaction commits, so the relay
//!   does not wait for its poll.
//! - [`admin`]: the parked rows, for `sagactl outbox parked|requeue`.
//!
//! Guarantees: an event is published if and only if the transaction that enqueued it
//! committed; at least once (a crash between produce and mark publishes again, and the
//! consumers' inbox makes that harmless); rows of one key are produced in id order.

pub mod admin;
pub mod enqueue;
pub mod leader;
pub mod relay;
pub mod wakeup;

pub use enqueue::{EnqueueError, OutboxRecord, enqueue, enqueue_reaction};
pub use relay::{Relay, RelayConfig, RelayStep};
pub use wakeup::Wakeup;
