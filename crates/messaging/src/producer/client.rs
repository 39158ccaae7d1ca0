//! The librdkafka client under [`super::EventProducer`]: a `BaseProducer` whose delivery
//! reports complete one channel per message, polled by a thread of its own.
//!
//! Why not rdkafka's `FutureProducer`: its thread polls in 100 ms slices, and rdkafka
//! rounds a slice's remaining time down to whole milliseconds, so the last fraction of a
//! millisecond of every slice is a loop of non-blocking polls. That is about 1% of a core
//! per producer, idle or busy (0.9% measured in an idle service, thread by thread). This
//! thread polls in one-second slices: the same spin, a tenth as often. A report is
//! handled as soon as it arrives either way; the slice only bounds how long the thread
//! outlives its client.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::client::{Client as NativeClient, ClientContext};
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::{Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use tokio::sync::oneshot;

const POLL_SLICE: Duration = Duration::from_secs(1);

/// A message's delivery report: its partition and offset, or why it failed.
pub(super) type Report = Result<(i32, i64), KafkaError>;

/// Sends each delivery report down the channel the message carried.
pub(super) struct Reports;

impl ClientContext for Reports {}

impl ProducerContext for Reports {
    type DeliveryOpaque = Box<oneshot::Sender<Report>>;

    fn delivery(&self, result: &DeliveryResult<'_>, report: Self::DeliveryOpaque) {
        let outcome = match result {
            Ok(message) => Ok((message.partition(), message.offset())),
            Err((err, _)) => Err(err.clone()),
        };
        // The sender may have stopped waiting; the report is then nobody's.
        let _ = report.send(outcome);
    }
}

/// One librdkafka producer and its polling thread; clones share both. The thread stops
/// within a slice of the last clone's drop, and the producer with it (which purges and
/// reports what it still held).
#[derive(Clone)]
pub(super) struct Client {
    producer: Arc<BaseProducer<Reports>>,
    _polling: Arc<Polling>,
}

struct Polling(Arc<AtomicBool>);

impl Drop for Polling {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Client {
    pub(super) fn create(config: &ClientConfig) -> KafkaResult<Self> {
        let producer = Arc::new(BaseProducer::from_config_and_context(config, Reports)?);
        let stop = Arc::new(AtomicBool::new(false));
        std::thread::Builder::new()
            .name("kafka-reports".to_owned())
            .spawn({
                let producer = Arc::clone(&producer);
                let stop = Arc::clone(&stop);
                move || {
                    while !stop.load(Ordering::Relaxed) {
                        producer.poll(POLL_SLICE);
                    }
                }
            })
            .map_err(|err| KafkaError::ClientCreation(err.to_string()))?;
        Ok(Self {
            producer,
            _polling: Arc::new(Polling(stop)),
        })
    }

    /// Hands a message to librdkafka; its report arrives on the returned channel. A
    /// refusal (a full queue, say) gives the headers back for another try.
    pub(super) fn send(
        &self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
        headers: OwnedHeaders,
    ) -> Result<oneshot::Receiver<Report>, (KafkaError, OwnedHeaders)> {
        let (sender, receiver) = oneshot::channel();
        let record = BaseRecord::with_opaque_to(topic, Box::new(sender))
            .key(key)
            .payload(payload)
            .headers(headers);
        match self.producer.send(record) {
            Ok(()) => Ok(receiver),
            Err((err, record)) => Err((err, record.headers.unwrap_or_else(OwnedHeaders::new))),
        }
    }

    pub(super) fn native(&self) -> &NativeClient<Reports> {
        self.producer.client()
    }

    pub(super) fn flush(&self, timeout: Duration) -> KafkaResult<()> {
        self.producer.flush(timeout)
    }
}
