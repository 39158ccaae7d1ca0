//! The Kafka client context: commits stored offsets synchronously before partitions
//! are revoked, so the next owner starts exactly after what this member committed.

use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};

#[derive(Debug, Default)]
pub(crate) struct SagaConsumerContext;

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
}
