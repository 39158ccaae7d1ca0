//! The producer every service, tool and test uses to put events on Kafka.

mod client;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::message::OwnedHeaders;
use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::oneshot;

use client::{Client as KafkaClient, Report};

use crate::KafkaConfig;

#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    #[error("cannot create the producer: {0}")]
    Create(#[source] KafkaError),
    #[error("delivery to {topic} failed: {source}")]
    Delivery {
        topic: String,
        #[source]
        source: KafkaError,
    },
}

/// Where a message landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub partition: i32,
    pub offset: i64,
}

/// A message handed to the client, awaiting its delivery report.
pub struct PendingDelivery {
    topic: String,
    report: oneshot::Receiver<Report>,
    /// The producer, and which of its clients took the message.
    producer: EventProducer,
    generation: u64,
}

impl std::fmt::Debug for PendingDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingDelivery")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl PendingDelivery {
    pub async fn delivered(self) -> Result<Delivered, ProduceError> {
        match self.report.await {
            Ok(Ok((partition, offset))) => Ok(Delivered { partition, offset }),
            Ok(Err(source)) => {
                self.producer.after_failure(self.generation, &source);
                Err(ProduceError::Delivery {
                    topic: self.topic,
                    source,
                })
            }
            Err(_canceled) => Err(ProduceError::Delivery {
                topic: self.topic,
                source: KafkaError::Canceled,
            }),
        }
    }
}

impl ProduceError {
    /// The broker (or the client) refuses this record for good: it is too large or
    /// malformed, and sending it again cannot succeed.
    pub fn is_permanent_refusal(&self) -> bool {
        let code = match self {
            ProduceError::Delivery { source, .. } => source.rdkafka_error_code(),
            ProduceError::Create(_) => None,
        };
        matches!(
            code,
            Some(
                RDKafkaErrorCode::MessageSizeTooLarge
                    | RDKafkaErrorCode::InvalidRecord
                    | RDKafkaErrorCode::MessageBatchTooLarge
                    | RDKafkaErrorCode::InvalidMessageSize
            )
        )
    }
}

/// An idempotent producer (see [`KafkaConfig::producer`]). Its client is replaced after
/// a fatal error (an idempotence guarantee librdkafka can no longer keep) and after a
/// message timed out: after a broker restart librdkafka has been seen to time out every
/// later message, and then to hold messages without any report. So the service carries
/// on instead of failing every send from then on; what the old client held is the
/// sender's to send again.
#[derive(Clone)]
pub struct EventProducer {
    config: rdkafka::ClientConfig,
    inner: Arc<RwLock<Client>>,
}

/// The current client and how many clients came before it: a failure replaces the
/// client that had it, once, however many of its messages report it.
struct Client {
    generation: u64,
    producer: KafkaClient,
}

impl std::fmt::Debug for EventProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventProducer").finish_non_exhaustive()
    }
}

impl EventProducer {
    pub fn new(kafka: &KafkaConfig) -> Result<Self, ProduceError> {
        Self::with_overrides(kafka, &[])
    }

    /// A producer with some settings changed (a benchmark's `linger.ms=0`, say).
    pub fn with_overrides(
        kafka: &KafkaConfig,
        overrides: &[(&str, &str)],
    ) -> Result<Self, ProduceError> {
        let mut config = kafka.producer();
        for (key, value) in overrides {
            config.set(*key, *value);
        }
        let producer = KafkaClient::create(&config).map_err(ProduceError::Create)?;
        Ok(Self {
            config,
            inner: Arc::new(RwLock::new(Client {
                generation: 0,
                producer,
            })),
        })
    }

    fn current(&self) -> (u64, KafkaClient) {
        let client = self.inner.read().unwrap_or_else(|e| e.into_inner());
        (client.generation, client.producer.clone())
    }

    /// Replaces the client of `generation` after `err` if the error means it can no
    /// longer deliver (fatal, or a message timed out) and it is still the current one.
    fn after_failure(&self, generation: u64, err: &KafkaError) {
        let (current, producer) = self.current();
        let why = match (producer.native().fatal_error(), err.rdkafka_error_code()) {
            (Some((code, reason)), _) => format!("fatal error {code:?}: {reason}"),
            (None, Some(RDKafkaErrorCode::MessageTimedOut)) => "a message timed out".to_owned(),
            _ => return,
        };
        if current == generation {
            self.replace(generation, &why);
        }
    }

    /// Replaces the client with a fresh one (new connections, new producer id), for a
    /// client that stopped delivering without saying so (no report at all).
    pub fn rebuild(&self, why: &str) {
        let (generation, _) = self.current();
        self.replace(generation, why);
    }

    /// Replaces the client of `generation`, unless another call already did.
    fn replace(&self, generation: u64, why: &str) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if inner.generation != generation {
            return;
        }
        // It heals itself: a WARN. A rebuild that fails is an ERROR.
        tracing::warn!(why, "Rebuilding the Kafka producer.");
        metrics::counter!("producer_rebuilds_total").increment(1);
        match KafkaClient::create(&self.config) {
            Ok(fresh) => {
                inner.generation += 1;
                inner.producer = fresh;
            }
            Err(err) => {
                tracing::error!(error = %err, "Rebuilding the Kafka producer failed; will try again on the next error.")
            }
        }
    }

    /// Publishes bytes as they are, and waits for the delivery report: for DLQ copies,
    /// replays and tools.
    pub async fn send_raw(
        &self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
        headers: OwnedHeaders,
    ) -> Result<Delivered, ProduceError> {
        self.enqueue_raw(topic, key, payload, headers)
            .await?
            .delivered()
            .await
    }

    /// Hands one message to the client at once, in call order, and returns the future
    /// of its delivery report. Calls made in a row keep their order within a partition
    /// (idempotent producer), which is how a relay pipelines a batch without reordering.
    /// Waits while the client's queue is full rather than skipping ahead.
    pub async fn enqueue_raw(
        &self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
        mut headers: OwnedHeaders,
    ) -> Result<PendingDelivery, ProduceError> {
        let (generation, producer) = self.current();
        loop {
            match producer.send(topic, key, payload, headers) {
                Ok(report) => {
                    return Ok(PendingDelivery {
                        topic: topic.to_owned(),
                        report,
                        producer: self.clone(),
                        generation,
                    });
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    headers = returned;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                Err((source, _)) => {
                    self.after_failure(generation, &source);
                    return Err(ProduceError::Delivery {
                        topic: topic.to_owned(),
                        source,
                    });
                }
            }
        }
    }

    /// Waits up to `timeout` for every message in flight; for shutdown.
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.current().1.flush(timeout)
    }
}

/// What the producer span of one message says about it.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublishAttributes<'a> {
    /// The message key: the order id.
    pub key: &'a str,
    pub event_id: &'a str,
    /// `ce_type`, with its version: `order.created.v1`.
    pub event_type: &'a str,
    pub correlation_id: &'a str,
}

/// The span of one message's send, after OpenTelemetry's messaging conventions: the
/// outbox relay's and the dead-letter path's. Named `send {target}`: the relay's target
/// is the event type without its version ([`event_name`]), as the consumer's `process`
/// spans are named, the dead-letter path's is its topic (a dead letter's type may be
/// anything a hostile producer wrote). `outbox.id`, `dlq.error_class` and `trace_id`
/// are declared empty for the caller to record; the caller sets the parent. The
/// dead-letter path, which logs its ERROR line inside the span, then records the trace
/// id (`telemetry::record_trace_id`); the relay, which logs nothing there, spares it.
pub fn publish_span(target: &str, topic: &str, attributes: PublishAttributes<'_>) -> tracing::Span {
    tracing::info_span!(
        "send",
        otel.name = format!("send {target}"),
        otel.kind = "producer",
        messaging.system = "kafka",
        messaging.operation.type = "send",
        messaging.operation.name = "send",
        messaging.destination.name = %topic,
        messaging.kafka.message.key = attributes.key,
        messaging.message.id = attributes.event_id,
        cloudevents.event_type = attributes.event_type,
        saga.correlation_id = attributes.correlation_id,
        order.id = attributes.key,
        outbox.id = tracing::field::Empty,
        dlq.error_class = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    )
}

/// A CloudEvents type without its version: `order.created` for `order.created.v1`.
pub fn event_name(event_type: &str) -> &str {
    match event_type.rsplit_once(".v") {
        Some((name, version))
            if !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()) =>
        {
            name
        }
        _ => event_type,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_event_name_is_its_type_without_the_version() {
        assert_eq!(super::event_name("order.created.v1"), "order.created");
        assert_eq!(
            super::event_name("stock.reservation_failed.v12"),
            "stock.reservation_failed"
        );
        assert_eq!(super::event_name("order.valid"), "order.valid");
    }
}
