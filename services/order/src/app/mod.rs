//! The order service's use cases: load, decide, append, and in the same transaction the
//! read model, the saga deadline and the outbox rows.

mod clock;
mod execute;
mod join;

pub use clock::Clock;
pub use execute::{Cause, Executed, OrderService, ServiceError, to_published};
pub use join::join_saga;
