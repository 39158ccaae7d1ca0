//! Kafka for the saga.
//!
//! - [`config`]: client settings every producer and consumer shares (DESIGN.md §5).
//! - [`client_settings`]: librdkafka settings a deployment passes through (TLS, SASL).
//! - [`admin`]: creating and listing the topics of DESIGN.md §2 (broker auto-create is off).
//! - [`consumer`]: the consumer runtime: batches, inbox dedup, retries, DLQ, pausing.
//! - [`error`]: handler failures sorted into infrastructure, transient and handler.
//! - [`inbox`]: the idempotent consumer's dedup table, written with the effect.
//! - [`dlq`]: dead-letter copies and replays, and their headers.
//! - [`dlq_admin`]: listing, replaying and discarding dead letters, with the settle cursor.
//! - [`headers`]: CloudEvents headers from [`contracts::EventMetadata`], and the
//!   OpenTelemetry injector and extractor over Kafka headers.
//! - [`producer`]: an idempotent producer that sends one event with every header.
//! - [`probe`]: a cheap "does the broker answer" check for readiness.
//! - [`schema`]: the outbox and inbox tables every service database holds.
//!
//! Invariant: every producer built here is idempotent with `acks=all` and the
//! `murmur2_random` partitioner, so keys land on the partitions Java clients choose.

pub mod admin;
pub mod client_settings;
pub mod config;
pub mod consumer;
pub mod dlq;
pub mod dlq_admin;
pub mod error;
pub mod headers;
pub mod inbox;
pub mod probe;
pub mod producer;
pub mod schema;
pub mod session;

pub use client_settings::ClientSettings;
pub use config::KafkaConfig;
pub use producer::{Delivered, EventProducer, PendingDelivery, ProduceError};
