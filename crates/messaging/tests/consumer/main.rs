//! The consumer runtime against the real Kafka and PostgreSQL.

mod batch;
mod dedup;
mod dlq;
mod health;
mod outage;
mod rebalance;
mod replay;
mod silent;
mod support;
