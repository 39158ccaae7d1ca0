//! What the runtime tells about its messages: the consume span of each, the skip log
//! and the handled counters.

use std::collections::HashSet;
use std::sync::Mutex;

use rdkafka::Message;
use rdkafka::message::OwnedMessage;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::{Envelope, Outcome};
use crate::headers::extract_context;

/// What a message's transaction did, once it committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Applied {
    Handled(Outcome),
    Duplicate,
    /// The same event id was handled before with another body: poison.
    Conflict,
}

/// Counts a committed message in `messages_handled_total`, here and for every service:
/// `applied`, `ignored` (an event that no longer applies, also counted by type in
/// `late_events_ignored_total`) or `duplicate`.
pub(super) fn count(group: &str, applied: Applied, envelope: &Envelope) {
    let outcome = match applied {
        Applied::Handled(Outcome::Applied) => "applied",
        Applied::Handled(Outcome::Ignored) => {
            metrics::counter!("late_events_ignored_total", "type" => envelope.metadata.event_type.to_string())
                .increment(1);
            "ignored"
        }
        Applied::Duplicate => "duplicate",
        Applied::Conflict => return,
    };
    metrics::counter!("messages_handled_total", "group" => group.to_owned(), "outcome" => outcome)
        .increment(1);
}

/// The consume span of one message, a child of the producer's context from the headers:
/// `process {event type}` (`process order.created`, the CloudEvents type without its
/// version), with OpenTelemetry's messaging and CloudEvents attributes. Named by the
/// event rather than the topic, so that Jaeger's tree, which shows names only, tells a
/// saga's steps apart (see docs/architecture.md, Observability). Only types the service
/// handles get here, so the names are few.
pub(super) fn message_span(
    group: &str,
    message: &OwnedMessage,
    envelope: &Envelope,
) -> tracing::Span {
    let event_type = &envelope.metadata.event_type;
    let span = tracing::info_span!(
        "process",
        otel.name = format!("process {}", event_type.name()),
        otel.kind = "consumer",
        messaging.system = "kafka",
        messaging.operation.type = "process",
        messaging.operation.name = "process",
        messaging.destination.name = message.topic(),
        messaging.destination.partition.id = message.partition(),
        messaging.kafka.message.key = %envelope.order_id(),
        messaging.kafka.offset = message.offset(),
        messaging.consumer.group.name = group,
        messaging.message.id = %envelope.metadata.event_id,
        cloudevents.event_type = %event_type,
        cloudevents.event_source = envelope.metadata.source.as_str(),
        saga.correlation_id = %envelope.metadata.correlation_id,
        order.id = %envelope.order_id(),
        trace_id = tracing::field::Empty,
    );
    let _ = span.set_parent(message.headers().map(extract_context).unwrap_or_default());
    telemetry::record_trace_id(&span);
    span
}

/// Reasons for skipping logged at INFO so far; a bound keeps a flood of made-up types
/// from growing it without end.
#[derive(Debug, Default)]
pub(super) struct SkipLog(Mutex<HashSet<String>>);

const SKIP_REASONS_LOGGED: usize = 1000;

impl SkipLog {
    /// The first skip for each reason (an event type this service does not handle, as a
    /// rule) is logged at INFO, later ones at DEBUG: a service skips most of the traffic
    /// on a topic it reads for one event, and a line per message would drown the log.
    /// `messages_skipped_total` counts every one.
    pub(super) fn record(&self, message: &OwnedMessage, reason: &str) {
        let first = {
            let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
            seen.len() < SKIP_REASONS_LOGGED && seen.insert(reason.to_owned())
        };
        let (topic, partition, offset) = (message.topic(), message.partition(), message.offset());
        if first {
            tracing::info!(
                topic,
                partition,
                offset,
                reason,
                "Skipped a message; later ones for the same reason are logged at debug."
            );
        } else {
            tracing::debug!(topic, partition, offset, reason, "Skipped a message.");
        }
        metrics::counter!("messages_skipped_total").increment(1);
    }
}
