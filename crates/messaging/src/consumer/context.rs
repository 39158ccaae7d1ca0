//! The Kafka client context: commits stored offsets synchronously before partitions
//! are revoked, so the next owner starts exactly after what this member committed,
//! gives every new assignment the runtime's pause state, and reports the group's lag
//! from the client's statistics.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::{ClientContext, Statistics};

#[derive(Debug, Default)]
pub(crate) struct SagaConsumerContext {
    /// Set while the runtime pauses for an outage; shared with its `ConsumerHealth`.
    pub(crate) paused: Arc<AtomicBool>,
    /// The consumer group, for the `consumer_lag` gauge.
    pub(crate) group: String,
}

impl ClientContext for SagaConsumerContext {
    /// Sets `consumer_lag` (`statistics.interval.ms`, see `KafkaConfig::consumer`). Every
    /// fetch response carries its partition's high watermark, so the client knows its lag
    /// without asking: the watermark queries this replaced cost the broker two
    /// `ListOffsets` requests per partition every 10 s, idle or not.
    fn stats(&self, statistics: Statistics) {
        metrics::gauge!("consumer_lag", "group" => self.group.clone()).set(lag(&statistics) as f64);
    }
}

/// Messages between the positions of this member's assigned partitions and their
/// high watermarks (a partition whose lag is not known yet counts none).
fn lag(statistics: &Statistics) -> i64 {
    statistics
        .topics
        .values()
        .flat_map(|topic| topic.partitions.values())
        .filter(|p| p.partition >= 0 && p.fetch_state == "active" && p.consumer_lag > 0)
        .map(|p| p.consumer_lag)
        .sum()
}

impl ConsumerContext for SagaConsumerContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(partitions) => {
                if let Err(err) = consumer.commit_consumer_state(CommitMode::Sync) {
                    // Nothing stored since the last commit is the common case.
                    tracing::debug!(error = %err, "No offsets committed on revoke.");
                }
                tracing::info!(partitions = partitions.count(), "Partitions revoked.");
            }
            Rebalance::Assign(partitions) => {
                tracing::info!(partitions = partitions.count(), "Partitions assigned.");
            }
            Rebalance::Error(err) => tracing::warn!(error = %err, "Rebalance error."),
        }
    }

    /// librdkafka keeps a partition's pause flag across revoke and re-assign: a
    /// partition paused during an outage, revoked, and handed back after the runtime
    /// resumed would otherwise stay paused for good. So each assignment is set to
    /// what the runtime is doing now.
    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Assign(partitions) = rebalance else {
            return;
        };
        if partitions.count() == 0 {
            return;
        }
        let result = if self.paused.load(Ordering::SeqCst) {
            consumer.pause(partitions)
        } else {
            consumer.resume(partitions)
        };
        if let Err(err) = result {
            tracing::warn!(error = %err, "Setting the pause state of new partitions failed.");
        }
    }
}
