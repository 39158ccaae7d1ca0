//! The order service's reactions to payment and inventory events, and the saga
//! deadline timer. Each turns what happened elsewhere into a command on the aggregate.

mod deadline;
mod saga;

pub use deadline::run_deadlines;
pub use saga::{SagaHandler, command_for};
