//! Settling under a lease, so two operators settling at once lose nothing.
//!
//! A settlement is a read-modify-write of the cursor (offset and metadata), and a Kafka
//! offset commit has no compare-and-set. What it has is the group generation: a commit
//! by a member of consumer group `sagactl-dlq.<group>` carries the member id and
//! generation it joined with, and the coordinator refuses it (`ILLEGAL_GENERATION`,
//! `UNKNOWN_MEMBER_ID`, `REBALANCE_IN_PROGRESS`) once that generation is over; a commit
//! from outside the group (an older `sagactl`) is refused while the group has members.
//! So a settler joins the group and works only once it owns *every* partition of the
//! DLQ topic. It then reads the cursors and commits without polling again: librdkafka
//! rejoins only after the application served the revocation in `poll`, so no newer
//! generation can form (and hand a partition to another operator) while the settler
//! works, except by evicting it, which fails its next commit. A second settler's join
//! waits until the first leaves. Two settlers that joined together split the
//! partitions; both leave and retry after a random pause, until one owns them all.
//! Each commit is read back, so a refusal the client does not report is still seen.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use super::cursor::Cursor;
use super::{DeadLetter, DlqAdmin, DlqAdminError, TIMEOUT};
use crate::EventProducer;
use crate::dlq::replay_headers;

/// How long a settler waits for another operator's settling to end.
const LEASE_WAIT: Duration = Duration::from_secs(60);
/// How long one attempt waits for a complete assignment before it leaves and retries.
const ATTEMPT: Duration = Duration::from_secs(3);

/// The exclusive right to settle one DLQ's letters, held until dropped or closed.
pub struct Settler {
    admin: DlqAdmin,
    consumer: Arc<BaseConsumer>,
    cursors: BTreeMap<i32, Cursor>,
}

impl std::fmt::Debug for Settler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settler")
            .field("topic", &self.admin.topic())
            .field("cursors", &self.cursors)
            .finish_non_exhaustive()
    }
}

impl DlqAdmin {
    /// Takes the settle lease of this DLQ, waiting up to a minute for another
    /// operator's settling to end.
    pub async fn settler(&self) -> Result<Settler, DlqAdminError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.settler_blocking()).await?
    }

    fn settler_blocking(&self) -> Result<Settler, DlqAdminError> {
        let topic = self.topic();
        let partitions = self.partitions()?;
        let deadline = Instant::now() + LEASE_WAIT;
        loop {
            let consumer: BaseConsumer = self
                .cursor_client()
                .set("enable.auto.offset.store", "false")
                .set("session.timeout.ms", "10000")
                // The settler polls only while joining; its work may take long.
                .set("max.poll.interval.ms", "1800000")
                .set("queued.max.messages.kbytes", "1024")
                .create()?;
            consumer.subscribe(&[&topic])?;
            let attempt_end = (Instant::now() + ATTEMPT).min(deadline);
            while Instant::now() < attempt_end {
                if let Some(Err(err)) = consumer.poll(Duration::from_millis(100)) {
                    tracing::debug!(error = %err, "Joining the settle group.");
                }
                let owned = consumer.assignment()?;
                if owned.count() == partitions as usize && partitions > 0 {
                    consumer.pause(&owned)?;
                    return self.leased(consumer, partitions);
                }
            }
            drop(consumer); // Leaves the group, so a competitor can take it all.
            if Instant::now() >= deadline {
                return Err(DlqAdminError::Busy { topic });
            }
            std::thread::sleep(Duration::from_millis(100 + u64::from(jitter() % 900)));
        }
    }

    /// Reads the cursors as the lease holder: nobody else commits until it leaves.
    fn leased(&self, consumer: BaseConsumer, partitions: i32) -> Result<Settler, DlqAdminError> {
        let topic = self.topic();
        let mut list = TopicPartitionList::new();
        for partition in 0..partitions {
            list.add_partition(&topic, partition);
        }
        let committed =
            crate::admin::committed_offsets_patiently(&consumer, &list, Duration::from_secs(60))?;
        let mut cursors = BTreeMap::new();
        for element in committed.elements() {
            let offset = match element.offset() {
                Offset::Offset(offset) => offset,
                _ => 0,
            };
            let mut cursor = Cursor::parse(offset, element.metadata());
            let (low, _) = consumer.fetch_watermarks(&topic, element.partition(), TIMEOUT)?;
            cursor.skip_to(low);
            cursors.insert(element.partition(), cursor);
        }
        Ok(Settler {
            admin: self.clone(),
            consumer: Arc::new(consumer),
            cursors,
        })
    }
}

impl Settler {
    pub fn is_settled(&self, partition: i32, offset: i64) -> bool {
        self.cursors
            .get(&partition)
            .is_some_and(|c| c.is_settled(offset))
    }

    /// Copies `letter` to `<group>.retry` (consumed by that group alone) and settles it
    /// once the broker acknowledged the copy. A settlement with no room is refused
    /// before the copy is sent.
    pub async fn replay(
        &mut self,
        letter: &DeadLetter,
        producer: &EventProducer,
    ) -> Result<(), DlqAdminError> {
        let next = self.next_cursor(letter.partition, letter.offset)?;
        let retry = self
            .admin
            .kafka
            .topic(&contracts::topics::retry_topic(&self.admin.group));
        let original = super::to_owned(&letter.headers);
        let headers = replay_headers(Some(&original), letter.partition, letter.offset);
        producer
            .send_raw(&retry, &letter.key, &letter.payload, headers)
            .await?;
        self.commit(letter.partition, next).await
    }

    /// Settles `letter` without replaying it; the reason is logged.
    pub async fn discard(
        &mut self,
        letter: &DeadLetter,
        reason: &str,
    ) -> Result<(), DlqAdminError> {
        let next = self.next_cursor(letter.partition, letter.offset)?;
        tracing::warn!(group = %self.admin.group, position = %letter.position(), original = %letter.original(), reason, "Discarded a dead letter.");
        self.commit(letter.partition, next).await
    }

    /// Leaves the group, so the next operator's settler need not wait.
    pub async fn close(self) -> Result<(), DlqAdminError> {
        let consumer = self.consumer;
        tokio::task::spawn_blocking(move || drop(consumer)).await?;
        Ok(())
    }

    fn next_cursor(&self, partition: i32, offset: i64) -> Result<Cursor, DlqAdminError> {
        let topic = self.admin.topic();
        let cursor = self
            .cursors
            .get(&partition)
            .ok_or_else(|| DlqAdminError::NotFound {
                topic: topic.clone(),
                partition,
                offset,
            })?;
        cursor
            .with_settled(offset)
            .map_err(|full| DlqAdminError::SettledAheadFull {
                topic,
                partition,
                oldest_unsettled: full.oldest_unsettled,
                settled_ahead: full.settled_ahead,
            })
    }

    async fn commit(&mut self, partition: i32, next: Cursor) -> Result<(), DlqAdminError> {
        let (consumer, topic, cursor) =
            (Arc::clone(&self.consumer), self.admin.topic(), next.clone());
        tokio::task::spawn_blocking(move || commit_checked(&consumer, &topic, partition, &cursor))
            .await??;
        self.cursors.insert(partition, next);
        Ok(())
    }
}

/// Commits `cursor` and reads it back: a commit the coordinator refused for one
/// partition (lease lost, metadata too large) is not always reported as an error.
fn commit_checked(
    consumer: &BaseConsumer,
    topic: &str,
    partition: i32,
    cursor: &Cursor,
) -> Result<(), DlqAdminError> {
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(topic, partition, Offset::Offset(cursor.offset))?;
    if let Some(mut entry) = list.find_partition(topic, partition) {
        entry.set_metadata(cursor.metadata());
    }
    let refused = |reason: String| DlqAdminError::CommitRefused {
        topic: topic.to_owned(),
        partition,
        reason,
    };
    consumer
        .commit(&list, CommitMode::Sync)
        .map_err(|err| refused(err.to_string()))?;
    let mut read = TopicPartitionList::new();
    read.add_partition(topic, partition);
    let back = consumer.committed_offsets(read, TIMEOUT)?;
    let element = back
        .find_partition(topic, partition)
        .ok_or_else(|| refused("the commit is not there".to_owned()))?;
    let stored = match element.offset() {
        Offset::Offset(offset) => Cursor::parse(offset, element.metadata()),
        other => {
            return Err(refused(format!(
                "the committed offset reads back as {other:?}"
            )));
        }
    };
    if stored != *cursor {
        return Err(refused(
            "another commit is there instead (the lease was lost)".to_owned(),
        ));
    }
    Ok(())
}

/// A little randomness for the retry pause (a v7 UUID ends in random bits).
fn jitter() -> u32 {
    uuid::Uuid::now_v7().as_u128() as u32
}
