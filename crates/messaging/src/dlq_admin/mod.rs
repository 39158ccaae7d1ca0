//! Operating a dead letter topic: list, show, replay, discard (`sagactl dlq`).
//!
//! Settling: a message replayed or discarded is settled. The cursor — the committed
//! offset of consumer group `sagactl-dlq.<group>` on `<group>.dlq` — advances only over
//! a contiguous run of settled messages; settled messages past it are remembered, in a
//! bounded set, in that commit's metadata ([`cursor`]). Settling holds a lease on that
//! group, so operators settling at once serialize ([`settle`]). Depth counts unsettled
//! messages only. Reading streams the letters ([`reader`]); nothing holds a whole DLQ.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::OwnedHeaders;
use rdkafka::{Offset, TopicPartitionList};

use crate::{EventProducer, KafkaConfig, ProduceError};

mod cursor;
mod depth;
mod letter;
mod reader;
mod settle;

use cursor::Cursor;
pub use depth::DepthProbe;
pub use letter::{DeadLetter, Selector};
pub use reader::LetterStream;
pub use settle::Settler;

const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum DlqAdminError {
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error(transparent)]
    Produce(#[from] ProduceError),
    #[error("no message at {partition}:{offset} in {topic}")]
    NotFound {
        topic: String,
        partition: i32,
        offset: i64,
    },
    #[error("the background task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error(
        "{topic} partition {partition}: {settled_ahead} letters past the oldest unsettled one are settled, \
         as many as the cursor can remember; settle {partition}:{oldest_unsettled} first"
    )]
    SettledAheadFull {
        topic: String,
        partition: i32,
        oldest_unsettled: i64,
        settled_ahead: usize,
    },
    #[error("another operator is settling letters of {topic}; try again when they are done")]
    Busy { topic: String },
    #[error("the settle cursor of {topic} partition {partition} was not committed: {reason}")]
    CommitRefused {
        topic: String,
        partition: i32,
        reason: String,
    },
    #[error(
        "{topic} partition {partition} returned nothing from offset {offset} within the timeout"
    )]
    Stalled {
        topic: String,
        partition: i32,
        offset: i64,
    },
}

/// The DLQ of one consumer group.
#[derive(Debug, Clone)]
pub struct DlqAdmin {
    kafka: KafkaConfig,
    group: String,
}

impl DlqAdmin {
    pub fn new(kafka: KafkaConfig, group: impl Into<String>) -> Self {
        Self {
            kafka,
            group: group.into(),
        }
    }

    pub fn topic(&self) -> String {
        self.kafka.topic(&contracts::topics::dlq_topic(&self.group))
    }

    fn cursor_group(&self) -> String {
        format!("sagactl-dlq.{}", self.group)
    }

    /// Dead letters past the cursor (all of them with `include_settled`), in partition
    /// and offset order, all in memory: for tests and small DLQs; see [`DlqAdmin::stream`].
    pub async fn list(&self, include_settled: bool) -> Result<Vec<DeadLetter>, DlqAdminError> {
        let mut stream = self.stream(include_settled);
        let mut letters = Vec::new();
        while let Some(letter) = stream.next().await {
            letters.push(letter?);
        }
        Ok(letters)
    }

    /// Unsettled dead letters: the DLQ depth, from a client made for this one question
    /// (a gauge asking again and again keeps a [`DepthProbe`]).
    pub async fn depth(&self) -> Result<u64, DlqAdminError> {
        DepthProbe::new(self)?.depth().await
    }

    /// Copies each selected letter to `<group>.retry` (consumed by that group alone) and
    /// settles it once the broker acknowledged the copy, under one settle lease.
    pub async fn replay(
        &self,
        letters: &[DeadLetter],
        producer: &EventProducer,
    ) -> Result<(), DlqAdminError> {
        let mut settler = self.settler().await?;
        for letter in letters {
            settler.replay(letter, producer).await?;
        }
        settler.close().await
    }

    /// Settles each selected letter without replaying it, under one settle lease.
    pub async fn discard(&self, letters: &[DeadLetter], reason: &str) -> Result<(), DlqAdminError> {
        let mut settler = self.settler().await?;
        for letter in letters {
            settler.discard(letter, reason).await?;
        }
        settler.close().await
    }

    fn cursor_client(&self) -> rdkafka::ClientConfig {
        let mut client = self.kafka.client();
        client
            .set("group.id", self.cursor_group())
            .set("enable.auto.commit", "false");
        client
    }

    /// How many partitions the DLQ topic has.
    fn partitions(&self) -> Result<i32, DlqAdminError> {
        partition_count(&self.kafka.client().create()?, &self.topic())
    }

    /// The cursor of every partition of the DLQ topic, read without joining its group.
    fn cursors(&self) -> Result<Vec<(i32, Cursor)>, DlqAdminError> {
        read_cursors(&self.cursor_client().create()?, &self.topic())
    }
}

fn partition_count(client: &BaseConsumer, topic: &str) -> Result<i32, DlqAdminError> {
    let metadata = client.fetch_metadata(Some(topic), TIMEOUT)?;
    Ok(metadata
        .topics()
        .first()
        .map(|t| t.partitions().len() as i32)
        .unwrap_or(0))
}

/// The cursor of every partition of `topic`, by a client of its cursor group.
fn read_cursors(client: &BaseConsumer, topic: &str) -> Result<Vec<(i32, Cursor)>, DlqAdminError> {
    let mut list = TopicPartitionList::new();
    for partition in 0..partition_count(client, topic)? {
        list.add_partition(topic, partition);
    }
    let committed =
        crate::admin::committed_offsets_patiently(client, &list, Duration::from_secs(60))?;
    Ok(committed
        .elements()
        .iter()
        .map(|element| {
            let offset = match element.offset() {
                Offset::Offset(offset) => offset,
                _ => 0,
            };
            (
                element.partition(),
                Cursor::parse(offset, element.metadata()),
            )
        })
        .collect())
}

fn to_owned(headers: &[(String, Vec<u8>)]) -> OwnedHeaders {
    headers
        .iter()
        .fold(OwnedHeaders::new(), |acc, (key, value)| {
            acc.insert(rdkafka::message::Header {
                key,
                value: Some(value),
            })
        })
}
