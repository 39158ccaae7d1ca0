//! The order service against the real PostgreSQL and Kafka: its HTTP API, its event
//! store, concurrency, point-in-time reads and the durable deadline.

mod auth;
mod bad_input;
mod concurrency;
mod deadline;
mod deadline_failures;
mod fuzz;
mod history;
mod locks;
mod retention;
mod saga;
mod support;
