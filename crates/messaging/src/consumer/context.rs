//! The Kafka client context: commits stored offsets synchronously before partitions
//! are revoked, so the next owner starts exactly after what this member committed,
//! gives every new assignment the runtime's pause state, and reports the group's lag
//! from the client's statistics, and records a fatal error.

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Statistics};

use super::health::ConsumerHealth;

#[derive(Debug)]
pub(crate) struct SagaConsumerContext {
    /// The runtime's health: its pause state, the lag read here, a fatal error.
    pub(crate) health: ConsumerHealth,
}

impl ClientContext for SagaConsumerContext {
    /// Sets `consumer_lag` (`statistics.interval.ms`, see `KafkaConfig::consumer`). Every
    /// fetch response carries its partition's high watermark, so the client knows its lag
    /// without asking: the watermark queries this replaced cost the broker two
    /// `ListOffsets` requests per partition every 10 s, idle or not.
    fn stats(&self, statistics: Statistics) {
        let lag = lag(&statistics);
        self.health.set_lag(lag);
        metrics::gauge!("consumer_lag", "group" => self.health.group().to_owned()).set(lag as f64);
    }

    /// A fatal error (a fenced static member, say) ends the client for good: the
    /// runtime sees it on its next tick and stops, and the service exits.
    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::Fatal) {
            self.health.fail(reason.to_owned());
        }
        tracing::error!(error = %error, reason, "Kafka client error.");
    }
}

/// Messages not yet handled on this member's assigned partitions: from the offset the
/// runtime stored (it stores after handling), else the group's committed one, else the
/// log's start (`auto.offset.reset=earliest`), up to the high watermark. librdkafka's
/// own `consumer_lag` counts from the committed offset only, and says nothing for a
/// group that never committed, which is where a first message that cannot be handled
/// leaves it. A partition whose offsets are not known yet counts none.
fn lag(statistics: &Statistics) -> i64 {
    statistics
        .topics
        .values()
        .flat_map(|topic| topic.partitions.values())
        .filter(|p| p.partition >= 0 && p.fetch_state == "active" && p.hi_offset >= 0)
        .filter_map(|p| {
            [p.stored_offset, p.committed_offset, p.lo_offset]
                .into_iter()
                .find(|offset| *offset >= 0)
                .map(|handled| (p.hi_offset - handled).max(0))
        })
        .sum()
}

impl ConsumerContext for SagaConsumerContext {
    /// Commits what was stored before partitions go, so their next owner starts right
    /// after what this member handled. Under `cooperative-sticky` `Revoke` lists only the
    /// partitions that move; the commit covers the kept ones too, which costs nothing.
    /// The runtime polls, and so runs this, between batches: the batch in hand has
    /// committed and stored its offsets by then, so its messages do not come again
    /// (unless the revoke came while a batch was being gathered: the inbox absorbs those).
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(partitions) => {
                if consumer.assignment_lost() {
                    // The session expired (a coordinator away longer than
                    // session.timeout.ms): a commit now would go without a member id,
                    // and a static member is fenced for it, fatally. The next owner
                    // starts at the last commit; the inbox absorbs what it sees again.
                    tracing::warn!(
                        partitions = partitions.count(),
                        "Partitions lost; nothing committed for them."
                    );
                    return;
                }
                commit_stored(consumer, CommitMode::Sync);
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
    /// what the runtime is doing now. Under `cooperative-sticky` (see
    /// `KafkaConfig::consumer`) `Assign` lists only the partitions added: the ones kept
    /// are already in the runtime's state, paused or not, and are left alone.
    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Assign(partitions) = rebalance else {
            return;
        };
        if partitions.count() == 0 {
            return;
        }
        let result = if self.health.is_paused() {
            consumer.pause(partitions)
        } else {
            consumer.resume(partitions)
        };
        if let Err(err) = result {
            tracing::warn!(error = %err, "Setting the pause state of new partitions failed.");
        }
    }
}

/// Commits the offsets the runtime stored since the last commit, unless the client has
/// lost its assignment (see `pre_rebalance`). The runtime calls it once a second
/// (asynchronously) and at shutdown; the context before partitions go.
pub(crate) fn commit_stored<C: ConsumerContext>(consumer: &impl Consumer<C>, mode: CommitMode) {
    if consumer.assignment_lost() {
        return;
    }
    if let Err(err) = consumer.commit_consumer_state(mode) {
        // Nothing stored since the last commit is the common case.
        tracing::debug!(error = %err, "No offsets committed.");
    }
}
