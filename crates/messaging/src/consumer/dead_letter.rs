//! Copies a message the runtime gives up on to `<group>.dlq`: the original key, value
//! and headers, plus the `dlq-*` headers of DESIGN.md §3, and waits for the broker's
//! acknowledgement before the runtime stores the offset past it.

use rdkafka::Message;
use rdkafka::message::OwnedMessage;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::EventProducer;
use crate::dlq::{Failure, Origin, dlq_headers, stub_headers};
use crate::error::HandlerError;
use crate::headers::{extract_context, last_value};
use crate::producer::{PublishAttributes, publish_span};

#[derive(Debug)]
pub(super) struct DeadLetterer {
    producer: EventProducer,
    topic: String,
    group: String,
}

impl DeadLetterer {
    pub(super) fn new(producer: EventProducer, topic: String, group: String) -> Self {
        Self {
            producer,
            topic,
            group,
        }
    }

    /// Sends the copy, or a stub of it if the broker refuses the copy for good; an error
    /// means the broker is away (an outage, not a dead letter).
    pub(super) async fn send(
        &self,
        message: &OwnedMessage,
        failure: Failure,
    ) -> Result<(), HandlerError> {
        let origin = Origin {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            group: self.group.clone(),
        };
        let headers = dlq_headers(message.headers(), &origin, &failure);
        let header = |name| {
            message
                .headers()
                .and_then(|h| last_value(h, name))
                .map(String::from_utf8_lossy)
                .unwrap_or_default()
        };
        let key = message
            .key()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        let (event_id, event_type, correlation_id) = (
            header(contracts::headers::CE_ID),
            header(contracts::headers::CE_TYPE),
            header(contracts::headers::CORRELATION_ID),
        );
        let span = publish_span(
            &self.topic,
            &self.topic,
            PublishAttributes {
                key: &key,
                event_id: &event_id,
                event_type: &event_type,
                correlation_id: &correlation_id,
            },
        );
        span.record("dlq.error_class", failure.class.as_str());
        let _ = span.set_parent(message.headers().map(extract_context).unwrap_or_default());
        telemetry::record_trace_id(&span);
        let (key, body) = (
            message.key().unwrap_or_default(),
            message.payload().unwrap_or_default(),
        );
        let delivered = match self
            .producer
            .send_raw(&self.topic, key, body, headers)
            .instrument(span.clone())
            .await
        {
            Ok(delivered) => delivered,
            // Sending the same copy again cannot succeed, and pausing on it would stop
            // every partition for good: the stub keeps what an operator needs.
            Err(err) if err.is_permanent_refusal() => {
                span.in_scope(|| tracing::warn!(error = %err, size = body.len(), "The broker refused the dead letter's copy; sending a stub without its body."));
                metrics::counter!("dead_letter_stubs_total", "group" => self.group.clone())
                    .increment(1);
                let stub =
                    stub_headers(message.headers(), &origin, &failure, body, &err.to_string());
                self.producer
                    .send_raw(&self.topic, key, &[], stub)
                    .instrument(span.clone())
                    .await
                    .map_err(|err| HandlerError::Kafka(err.to_string()))?
            }
            Err(err) => return Err(HandlerError::Kafka(err.to_string())),
        };
        span.in_scope(|| {
            tracing::error!(
                class = failure.class.as_str(),
                error = %failure.error,
                attempts = failure.attempts,
                topic = %origin.topic,
                partition = origin.partition,
                offset = origin.offset,
                dlq_partition = delivered.partition,
                dlq_offset = delivered.offset,
                "Dead-lettered a message; inspect with `sagactl dlq list`."
            );
        });
        metrics::counter!("messages_dead_lettered_total", "group" => self.group.clone(), "class" => failure.class.as_str()).increment(1);
        Ok(())
    }
}
