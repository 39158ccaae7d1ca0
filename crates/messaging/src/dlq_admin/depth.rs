//! The DLQ depth from one client that lives as long as its owner: a service's gauge
//! asks every few seconds, and a client per question cost the broker three connections
//! and a dozen requests each time (issue 14's idle stack).

use std::sync::Arc;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use super::{DlqAdmin, DlqAdminError, TIMEOUT, read_cursors};

/// Counts the unsettled letters of one DLQ: per partition, the messages between the
/// settle cursor (or the log start, if retention passed it) and the end, less those
/// settled ahead of the cursor. Four requests a count: the topic's metadata, the cursor
/// group's committed offsets, and the log starts and ends of all partitions at once
/// (`fetch_watermarks` asks two per partition).
#[derive(Clone)]
pub struct DepthProbe {
    client: Arc<BaseConsumer>,
    topic: String,
}

impl std::fmt::Debug for DepthProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DepthProbe")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl DepthProbe {
    /// A client of the cursor group that never joins it: it only reads its commits.
    pub fn new(admin: &DlqAdmin) -> Result<Self, DlqAdminError> {
        Ok(Self {
            client: Arc::new(admin.cursor_client().create()?),
            topic: admin.topic(),
        })
    }

    pub async fn depth(&self) -> Result<u64, DlqAdminError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.count()).await?
    }

    fn count(&self) -> Result<u64, DlqAdminError> {
        let cursors = read_cursors(&self.client, &self.topic)?;
        let partitions: Vec<i32> = cursors.iter().map(|(partition, _)| *partition).collect();
        let low = self.offsets(&partitions, Offset::Beginning)?;
        let high = self.offsets(&partitions, Offset::End)?;
        Ok(cursors
            .into_iter()
            .zip(low.into_iter().zip(high))
            .map(|((_, cursor), (low, high))| {
                let start = cursor.offset.max(low);
                let settled_ahead = cursor.settled_in(start, high) as i64;
                (high - start - settled_ahead).max(0) as u64
            })
            .sum())
    }

    /// Each partition's offset at `at`, in the order given, in one request: a ListOffsets
    /// "timestamp" of -2 is the log's start, -1 its end.
    fn offsets(&self, partitions: &[i32], at: Offset) -> Result<Vec<i64>, DlqAdminError> {
        let mut list = TopicPartitionList::new();
        for &partition in partitions {
            list.add_partition_offset(&self.topic, partition, at)?;
        }
        let found = self.client.offsets_for_times(list, TIMEOUT)?;
        partitions
            .iter()
            .map(
                |&partition| match found.find_partition(&self.topic, partition) {
                    Some(element) => {
                        element.error()?;
                        Ok(match element.offset() {
                            Offset::Offset(offset) => offset,
                            _ => 0,
                        })
                    }
                    None => Ok(0),
                },
            )
            .collect()
    }
}
