//! The Kafka client context: commits stored offsets synchronously before partitions
//! are revoked, so the next owner starts exactly after what this member committed, and
//! gives every new assignment the runtime's pause state.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};

#[derive(Debug, Default)]
pub(crate) struct SagaConsumerContext {
    /// Set while the runtime pauses for an outage; shared with its `ConsumerHealth`.
    pub(crate) paused: Arc<AtomicBool>,
}

impl ClientContext for SagaConsumerContext {}

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
