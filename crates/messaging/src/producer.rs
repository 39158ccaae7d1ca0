//! The producer every service, tool and test uses to put events on Kafka.

use std::time::Duration;

use contracts::EventMetadata;
use contracts::events::TopicEvent;
use opentelemetry::Context;
use rdkafka::error::KafkaError;
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

use crate::KafkaConfig;
use crate::headers::event_headers;

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

/// An idempotent producer (see [`KafkaConfig::producer`]).
#[derive(Clone)]
pub struct EventProducer {
    inner: FutureProducer,
}

impl std::fmt::Debug for EventProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventProducer").finish_non_exhaustive()
    }
}

impl EventProducer {
    pub fn new(kafka: &KafkaConfig) -> Result<Self, ProduceError> {
        let inner = kafka.producer().create().map_err(ProduceError::Create)?;
        Ok(Self { inner })
    }

    /// Publishes `event` to its topic, keyed by its order id, with the envelope of
    /// `metadata` and the trace context of `cx`; resolves on the delivery report.
    pub async fn send_event<E: TopicEvent>(
        &self,
        event: &E,
        metadata: &EventMetadata,
        cx: &Context,
    ) -> Result<Delivered, ProduceError> {
        let key = event.order_id().to_string();
        let body = event.encode();
        self.send_raw(E::TOPIC, key.as_bytes(), &body, event_headers(metadata, cx))
            .await
    }

    /// Publishes bytes as they are: for relays, DLQ copies and replays.
    pub async fn send_raw(
        &self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
        headers: OwnedHeaders,
    ) -> Result<Delivered, ProduceError> {
        let record = FutureRecord::to(topic)
            .key(key)
            .payload(payload)
            .headers(headers);
        self.inner
            .send(record, Duration::from_secs(0))
            .await
            .map(|delivery| Delivered {
                partition: delivery.partition,
                offset: delivery.offset,
            })
            .map_err(|(source, _)| ProduceError::Delivery {
                topic: topic.to_owned(),
                source,
            })
    }

    /// Waits up to `timeout` for every message in flight; for shutdown.
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.inner.flush(timeout)
    }
}
