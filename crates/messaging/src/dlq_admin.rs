//! Operating a dead letter topic: list, show, replay, discard (`sagactl dlq`).
//!
//! Settling: a message replayed or discarded is settled. The cursor — the committed
//! offset of consumer group `sagactl-dlq.<group>` on `<group>.dlq` — advances only over
//! a contiguous run of settled messages; settled messages past it are remembered in
//! that commit's metadata. Depth counts unsettled messages only.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use contracts::headers::{self, dlq};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Headers, OwnedHeaders};
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::dlq::{DlqClass, replay_headers};
use crate::{EventProducer, KafkaConfig, ProduceError};

const TIMEOUT: Duration = Duration::from_secs(10);
const SETTLED_PREFIX: &str = "settled:";

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

/// One dead-lettered message, with what its headers say.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub partition: i32,
    pub offset: i64,
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub settled: bool,
}

impl DeadLetter {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }

    pub fn class(&self) -> Option<DlqClass> {
        self.header(dlq::ERROR_CLASS)
            .as_deref()
            .and_then(DlqClass::parse)
    }

    pub fn event_type(&self) -> Option<String> {
        self.header(headers::CE_TYPE)
    }

    pub fn last_failed_at(&self) -> Option<DateTime<Utc>> {
        self.header(dlq::LAST_FAILED_AT)
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc))
    }

    /// `<topic>/<partition>/<offset>` the message was first read from.
    pub fn original(&self) -> String {
        format!(
            "{}/{}/{}",
            self.header(dlq::ORIGINAL_TOPIC).unwrap_or_default(),
            self.header(dlq::ORIGINAL_PARTITION).unwrap_or_default(),
            self.header(dlq::ORIGINAL_OFFSET).unwrap_or_default()
        )
    }

    pub fn position(&self) -> String {
        format!("{}:{}", self.partition, self.offset)
    }
}

/// Which dead letters a command applies to; every given criterion must match.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    pub positions: Vec<(i32, i64)>,
    pub class: Option<DlqClass>,
    pub event_type: Option<String>,
    pub original_topic: Option<String>,
    pub key: Option<String>,
}

impl Selector {
    pub fn matches(&self, letter: &DeadLetter) -> bool {
        (self.positions.is_empty() || self.positions.contains(&(letter.partition, letter.offset)))
            && self.class.is_none_or(|c| letter.class() == Some(c))
            && self
                .event_type
                .as_ref()
                .is_none_or(|t| letter.event_type().as_ref() == Some(t))
            && self
                .original_topic
                .as_ref()
                .is_none_or(|t| letter.header(dlq::ORIGINAL_TOPIC).as_ref() == Some(t))
            && self.key.as_ref().is_none_or(|k| letter.key == k.as_bytes())
    }
}

/// Where settling stands on one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Cursor {
    offset: i64,
    settled: BTreeSet<i64>,
}

impl Cursor {
    fn parse(offset: i64, metadata: &str) -> Self {
        let settled = metadata
            .strip_prefix(SETTLED_PREFIX)
            .map(|list| {
                list.split(',')
                    .filter_map(|o| o.parse().ok())
                    .filter(|o| *o >= offset)
                    .collect()
            })
            .unwrap_or_default();
        Self { offset, settled }
    }

    fn is_settled(&self, offset: i64) -> bool {
        offset < self.offset || self.settled.contains(&offset)
    }

    /// Marks `offset` settled and moves the cursor over the contiguous run.
    fn settle(&mut self, offset: i64) {
        if offset >= self.offset {
            self.settled.insert(offset);
        }
        while self.settled.remove(&self.offset) {
            self.offset += 1;
        }
    }

    fn metadata(&self) -> String {
        let list: Vec<String> = self.settled.iter().map(i64::to_string).collect();
        format!("{SETTLED_PREFIX}{}", list.join(","))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_advances_only_over_a_contiguous_run_of_settled_offsets() {
        let mut cursor = Cursor::default();
        cursor.settle(2);
        cursor.settle(1);
        assert_eq!(cursor.offset, 0);
        assert!(cursor.is_settled(1) && cursor.is_settled(2) && !cursor.is_settled(0));
        cursor.settle(0);
        assert_eq!(cursor.offset, 3);
        assert!(cursor.settled.is_empty());
    }

    #[test]
    fn settled_offsets_survive_the_commit_metadata() {
        let mut cursor = Cursor::parse(5, "");
        cursor.settle(7);
        cursor.settle(9);
        let back = Cursor::parse(cursor.offset, &cursor.metadata());
        assert_eq!(back, cursor);
        assert!(back.is_settled(4) && back.is_settled(7) && !back.is_settled(8));
    }
}
