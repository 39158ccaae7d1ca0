//! The outbox against the real PostgreSQL and Kafka.

mod helpers;
mod publishing;
mod silent;
mod size;
mod standby;
