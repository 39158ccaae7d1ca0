//! Operating a dead letter topic: list, show, replay, discard (`sagactl dlq`).
//!
//! Settling: a message replayed or discarded is settled. The cursor — the committed
//! offset of consumer group `sagactl-dlq.<group>` on `<group>.dlq` — advances only over
//! a contiguous run of settled messages; settled messages past it are remembered in
//! that commit's metadata. Depth counts unsettled messages only.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Headers, OwnedHeaders};
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::dlq::replay_headers;
use crate::{EventProducer, KafkaConfig, ProduceError};

mod cursor;
mod letter;

use cursor::Cursor;
pub use letter::{DeadLetter, Selector};

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
    /// and offset order.
    pub async fn list(&self, include_settled: bool) -> Result<Vec<DeadLetter>, DlqAdminError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.list_blocking(include_settled)).await?
    }

    /// Unsettled dead letters: the DLQ depth.
    pub async fn depth(&self) -> Result<u64, DlqAdminError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let reader: BaseConsumer = this.kafka.client().create()?;
            let cursors = this.cursors()?;
            let mut depth = 0u64;
            for (partition, cursor) in cursors {
                let (low, high) = reader.fetch_watermarks(&this.topic(), partition, TIMEOUT)?;
                let start = cursor.offset.max(low);
                let settled_ahead = cursor.settled.range(start..high).count() as i64;
                depth += (high - start - settled_ahead).max(0) as u64;
            }
            Ok(depth)
        })
        .await?
    }

    /// Copies each selected letter to `<group>.retry` (consumed by that group alone) and
    /// settles it once the broker acknowledged the copy.
    pub async fn replay(
        &self,
        letters: &[DeadLetter],
        producer: &EventProducer,
    ) -> Result<(), DlqAdminError> {
        let retry = self
            .kafka
            .topic(&contracts::topics::retry_topic(&self.group));
        for letter in letters {
            let original = to_owned(&letter.headers);
            let headers = replay_headers(Some(&original), letter.partition, letter.offset);
            producer
                .send_raw(&retry, &letter.key, &letter.payload, headers)
                .await?;
            self.settle(letter.partition, letter.offset).await?;
        }
        Ok(())
    }

    /// Settles each selected letter without replaying it.
    pub async fn discard(&self, letters: &[DeadLetter], reason: &str) -> Result<(), DlqAdminError> {
        for letter in letters {
            tracing::warn!(group = %self.group, position = %letter.position(), original = %letter.original(), reason, "Discarded a dead letter.");
            self.settle(letter.partition, letter.offset).await?;
        }
        Ok(())
    }

    async fn settle(&self, partition: i32, offset: i64) -> Result<(), DlqAdminError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut cursors = this.cursors()?;
            let cursor = cursors
                .iter_mut()
                .find(|(p, _)| *p == partition)
                .map(|(_, c)| c);
            let Some(cursor) = cursor else {
                return Err(DlqAdminError::NotFound {
                    topic: this.topic(),
                    partition,
                    offset,
                });
            };
            cursor.settle(offset);
            let mut list = TopicPartitionList::new();
            list.add_partition_offset(&this.topic(), partition, Offset::Offset(cursor.offset))?;
            if let Some(mut entry) = list.find_partition(&this.topic(), partition) {
                entry.set_metadata(cursor.metadata());
            }
            let committer: BaseConsumer = this.cursor_client().create()?;
            committer.commit(&list, CommitMode::Sync)?;
            Ok(())
        })
        .await?
    }

    fn cursor_client(&self) -> rdkafka::ClientConfig {
        let mut client = self.kafka.client();
        client
            .set("group.id", self.cursor_group())
            .set("enable.auto.commit", "false");
        client
    }

    /// The cursor of every partition of the DLQ topic.
    fn cursors(&self) -> Result<Vec<(i32, Cursor)>, DlqAdminError> {
        let consumer: BaseConsumer = self.cursor_client().create()?;
        let topic = self.topic();
        let metadata = consumer.fetch_metadata(Some(&topic), TIMEOUT)?;
        let partitions = metadata
            .topics()
            .first()
            .map(|t| t.partitions().len() as i32)
            .unwrap_or(0);
        let mut list = TopicPartitionList::new();
        for partition in 0..partitions {
            list.add_partition(&topic, partition);
        }
        let committed =
            crate::admin::committed_offsets_patiently(&consumer, &list, Duration::from_secs(60))?;
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

    fn list_blocking(&self, include_settled: bool) -> Result<Vec<DeadLetter>, DlqAdminError> {
        let topic = self.topic();
        let reader: BaseConsumer = self
            .kafka
            .client()
            .set("group.id", "sagactl-dlq-reader")
            .set("enable.auto.commit", "false")
            .create()?;
        let cursors = self.cursors()?;
        // Where each partition's reading starts and ends.
        let mut assignment = TopicPartitionList::new();
        let mut remaining = std::collections::BTreeMap::new();
        for (partition, cursor) in &cursors {
            let (low, high) = reader.fetch_watermarks(&topic, *partition, TIMEOUT)?;
            let start = if include_settled {
                low
            } else {
                cursor.offset.max(low)
            };
            if start < high {
                assignment.add_partition_offset(&topic, *partition, Offset::Offset(start))?;
                remaining.insert(*partition, high);
            }
        }
        let mut letters = Vec::new();
        if remaining.is_empty() {
            return Ok(letters);
        }
        reader.assign(&assignment)?;
        while !remaining.is_empty() {
            let Some(message) = reader.poll(TIMEOUT) else {
                break;
            };
            let message = message?;
            let partition = message.partition();
            let Some(high) = remaining.get(&partition).copied() else {
                continue;
            };
            if message.offset() + 1 >= high {
                remaining.remove(&partition);
            }
            let cursor = cursors
                .iter()
                .find(|(p, _)| *p == partition)
                .map(|(_, c)| c);
            let settled = cursor.is_some_and(|c| c.is_settled(message.offset()));
            if settled && !include_settled {
                continue;
            }
            letters.push(DeadLetter {
                partition,
                offset: message.offset(),
                key: message.key().unwrap_or_default().to_vec(),
                payload: message.payload().unwrap_or_default().to_vec(),
                headers: message
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                            .collect()
                    })
                    .unwrap_or_default(),
                settled,
            });
        }
        letters.sort_by_key(|l| (l.partition, l.offset));
        Ok(letters)
    }
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
