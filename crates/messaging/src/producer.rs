//! The producer every service, tool and test uses to put events on Kafka.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;

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
    future: DeliveryFuture,
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
        match self.future.await {
            Ok(Ok(delivery)) => Ok(Delivered {
                partition: delivery.partition,
                offset: delivery.offset,
            }),
            Ok(Err((source, _))) => Err(ProduceError::Delivery {
                topic: self.topic,
                source,
            }),
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

/// An idempotent producer (see [`KafkaConfig::producer`]). After a fatal error (an
/// idempotence guarantee librdkafka can no longer keep) it is rebuilt, so the service
/// carries on instead of failing every send from then on.
#[derive(Clone)]
pub struct EventProducer {
    config: rdkafka::ClientConfig,
    inner: Arc<RwLock<FutureProducer>>,
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
        let inner = config.create().map_err(ProduceError::Create)?;
        Ok(Self {
            config,
            inner: Arc::new(RwLock::new(inner)),
        })
    }

    fn current(&self) -> FutureProducer {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the client if it hit a fatal error; the failed send is the caller's to retry.
    fn rebuild_if_fatal(&self) {
        let fatal = self.current().client().fatal_error();
        if let Some((code, reason)) = fatal {
            self.rebuild(&format!("fatal error {code:?}: {reason}"));
        }
    }

    /// Replaces the client with a fresh one (new connections, new producer id). For a
    /// client that stopped delivering: after a broker restart librdkafka has been seen
    /// to time out every message, and then to hold messages without any report. What
    /// the old client still holds is dropped with it; the caller sends it again.
    pub fn rebuild(&self, why: &str) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        tracing::error!(why, "Rebuilding the Kafka producer.");
        metrics::counter!("producer_rebuilds_total").increment(1);
        match self.config.create() {
            Ok(fresh) => *inner = fresh,
            Err(err) => {
                tracing::error!(error = %err, "Rebuilding the Kafka producer failed; will try again on the next error.")
            }
        }
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
        let sent = self.current().send(record, Duration::from_secs(0)).await;
        sent.map(|delivery| Delivered {
            partition: delivery.partition,
            offset: delivery.offset,
        })
        .map_err(|(source, _)| {
            self.rebuild_if_fatal();
            ProduceError::Delivery {
                topic: topic.to_owned(),
                source,
            }
        })
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
        headers: OwnedHeaders,
    ) -> Result<PendingDelivery, ProduceError> {
        let mut record = FutureRecord::to(topic)
            .key(key)
            .payload(payload)
            .headers(headers);
        let producer = self.current();
        loop {
            match producer.send_result(record) {
                Ok(future) => {
                    return Ok(PendingDelivery {
                        topic: topic.to_owned(),
                        future,
                    });
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    record = returned;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                Err((source, _)) => {
                    self.rebuild_if_fatal();
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
        self.current().flush(timeout)
    }
}
