//! Kafka header names (DESIGN.md §3): CloudEvents Kafka binding in binary mode, the
//! saga's correlation, W3C trace context, and the headers a dead-lettered copy adds.

pub const CE_SPECVERSION: &str = "ce_specversion";
pub const CE_ID: &str = "ce_id";
pub const CE_TYPE: &str = "ce_type";
pub const CE_SOURCE: &str = "ce_source";
pub const CE_TIME: &str = "ce_time";
pub const CONTENT_TYPE: &str = "content-type";
pub const CORRELATION_ID: &str = "correlation-id";
pub const CAUSATION_ID: &str = "causation-id";

/// W3C trace context and baggage, written by the OpenTelemetry propagators.
pub const TRACEPARENT: &str = "traceparent";
pub const TRACESTATE: &str = "tracestate";
pub const BAGGAGE: &str = "baggage";

/// Set to `true` on messages a test injects on purpose.
pub const TEST_INJECTED: &str = "test-injected";

/// The CloudEvents version we speak.
pub const SPECVERSION: &str = "1.0";
/// The only body encoding: the event's JSON alone.
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// Headers a dead-lettered copy adds to the original message's headers.
pub mod dlq {
    pub const ORIGINAL_TOPIC: &str = "dlq-original-topic";
    pub const ORIGINAL_PARTITION: &str = "dlq-original-partition";
    pub const ORIGINAL_OFFSET: &str = "dlq-original-offset";
    pub const CONSUMER_GROUP: &str = "dlq-consumer-group";
    /// `poison` | `handler` | `unsupported-version`.
    pub const ERROR_CLASS: &str = "dlq-error-class";
    pub const ERROR: &str = "dlq-error";
    pub const ATTEMPTS: &str = "dlq-attempts";
    pub const FIRST_FAILED_AT: &str = "dlq-first-failed-at";
    pub const LAST_FAILED_AT: &str = "dlq-last-failed-at";
    /// On a replayed message: `<partition>:<offset>` of the DLQ message it copies.
    pub const REPLAY_OF: &str = "dlq-replay-of";
    /// On a stub copy (the broker refused the full one): why the body is missing.
    pub const BODY_OMITTED: &str = "dlq-body-omitted";
    /// On a stub copy: the original body's size in bytes.
    pub const ORIGINAL_SIZE: &str = "dlq-original-size";
    /// On a stub copy: the original body's SHA-256, hex.
    pub const BODY_SHA256: &str = "dlq-body-sha256";
}
