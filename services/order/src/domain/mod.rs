//! The order aggregate as a pure decider (DESIGN.md §6). Nothing here touches a
//! database, a broker or the clock: time and ids come in with the commands.
//!
//! - [`draft`]: validated input of a new order (bounds of DESIGN.md §4).
//! - [`events`]: what the order's event store records, published or kept private.
//! - [`state`]: the order as a fold of its events (`evolve`).
//! - [`decide`]: commands and the rules that turn them into events.

pub mod decide;
pub mod draft;
pub mod events;
pub mod state;

#[cfg(test)]
mod tests;

pub use decide::{Command, DomainError, decide};
pub use draft::{DraftError, OrderDraft};
pub use events::OrderStoreEvent;
pub use state::{Compensation, Order, OrderStatus, PaymentProgress, StockProgress, evolve};
