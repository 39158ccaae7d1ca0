//! The consumer runtime of DESIGN.md §5: at-least-once delivery made effectively
//! exactly-once by an inbox written in the same transaction as the effect.
//!
//! Each polled batch: decode → lock the state rows of its orders → dedup its events in
//! the inbox → handle each new one (with the handler's outbox rows) → commit; then,
//! and only then, the offsets are stored. Locking and dedup are one statement for the
//! whole batch. The first failure commits what came before and handles the rest
//! one per transaction.
//!
//! - [`Handler`]: what a service plugs in.
//! - `prepare`: decoding and sorting a message before any database work.
//! - `runtime`: the poll loop: batches, then single messages with their retries.
//! - `transaction`: a batch, or one message, in one transaction (lock, dedup, handle).
//! - `retry`: the pure policy of the error classes (retry now, later, DLQ, pause).
//! - `health`: running, paused, stuck or failed, for `/readyz` and the metrics.
//! - `outage`: pausing and resuming the partitions through an outage.
//! - `dead_letter`: the copy to `<group>.dlq`.
//! - `observe`: consume spans, the skip log, the handled counters, the lag.
//! - `context`: the Kafka client context (commit on revoke).

mod context;
mod dead_letter;
mod health;
mod observe;
mod outage;
mod prepare;
mod retry;
mod runtime;
mod transaction;

use std::future::Future;
use std::time::Duration;

use contracts::{EventMetadata, OrderId, SagaEvent};
use sqlx::PgConnection;

pub use health::{ConsumerFailed, ConsumerHealth, ConsumerState};
pub use runtime::ConsumerRuntime;

use crate::error::HandlerError;

/// What a service's handler did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It changed state (and may have enqueued events).
    Applied,
    /// It no longer applies (a late event for a finished order): accepted, no change.
    Ignored,
}

/// A decoded message, as a handler sees it.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub metadata: EventMetadata,
    pub event: SagaEvent,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl Envelope {
    pub fn order_id(&self) -> OrderId {
        self.event.order_id()
    }
}

/// A service's reactions, run by the runtime inside its transaction.
pub trait Handler: Send + Sync + 'static {
    /// Whether this service reacts to events named `name` (`payment.completed`, without
    /// the version). Others are skipped with a log line, never dead-lettered.
    fn handles(&self, name: &str) -> bool;

    /// The table of this service's per-order state rows (`order_id` and `status`
    /// columns). The runtime creates and locks the rows of a batch's orders before
    /// anything else in its transaction (see `admission_sql`), so handlers of one order
    /// serialise whichever topic or replica they run on.
    fn state_table(&self) -> &'static str;

    /// Applies the event in `tx`. Runs inside the message's span, so outbox rows written
    /// here carry this message's trace context.
    fn handle(
        &self,
        tx: &mut PgConnection,
        envelope: &Envelope,
    ) -> impl Future<Output = Result<Outcome, HandlerError>> + Send;

    /// Called after a transaction that handled messages committed: wake the relay.
    fn committed(&self) {}
}

/// How the runtime consumes; defaults follow DESIGN.md §5.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// The consumer group, also the service name; `<group>.retry` is consumed too.
    pub group: String,
    /// The saga topics this service reacts to.
    pub topics: Vec<String>,
    /// `group.instance.id`: static membership, so a restarted replica is given its
    /// partitions back at once instead of stalling the group for a session timeout.
    pub instance_id: Option<String>,
    /// Most messages in one batch transaction.
    pub batch_size: usize,
    /// Handler-error retries before a message is dead-lettered.
    pub handler_retries: u32,
    /// First handler-error backoff; doubles per retry.
    pub handler_backoff: Duration,
    /// Immediate retries of a transient conflict before it counts as a handler error.
    pub transient_retries: u32,
    /// First infrastructure backoff; doubles up to `max_backoff`.
    pub infrastructure_backoff: Duration,
    pub max_backoff: Duration,
    /// The longest one transaction (a batch, or one message) is awaited before its
    /// connection is given up as silent and the runtime pauses as for an outage (see
    /// `crate::session`). An ambiguous commit is safe: the inbox absorbs the redo.
    pub transaction_deadline: Duration,
    /// How long messages may wait with none handled before the consumer counts as
    /// stuck (not ready).
    pub stuck_after: Duration,
    /// Extra librdkafka settings (tests shorten `max.poll.interval.ms`, say).
    pub client_overrides: Vec<(String, String)>,
}

impl ConsumerConfig {
    pub fn new(group: impl Into<String>, topics: &[&str]) -> Self {
        Self {
            group: group.into(),
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            instance_id: None,
            batch_size: 100,
            handler_retries: 3,
            handler_backoff: Duration::from_millis(200),
            transient_retries: 10,
            infrastructure_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            transaction_deadline: Duration::from_secs(30),
            stuck_after: Duration::from_secs(60),
            client_overrides: Vec::new(),
        }
    }

    /// The retries of DESIGN.md §5's error classes, as this configuration sets them.
    pub(crate) fn retry_policy(&self) -> retry::RetryPolicy {
        retry::RetryPolicy {
            transient_retries: self.transient_retries,
            handler_retries: self.handler_retries,
            handler_backoff: self.handler_backoff,
        }
    }

    /// Every topic consumed, as named in `kafka`'s deployment: the saga topics and this
    /// group's `.retry`.
    pub fn subscriptions(&self, kafka: &crate::KafkaConfig) -> Vec<String> {
        let mut topics: Vec<String> = self.topics.iter().map(|t| kafka.topic(t)).collect();
        topics.push(kafka.topic(&contracts::topics::retry_topic(&self.group)));
        topics
    }
}

/// Creates the order's state row in `table` if absent (`status = 'new'`), then locks it:
/// the first statement of every transaction that works on one order outside the
/// consumer runtime (requests, timers). `table` is a compile-time name with `order_id`
/// and `status` columns.
pub async fn lock_state_row(
    tx: &mut PgConnection,
    table: &'static str,
    order_id: OrderId,
) -> Result<(), sqlx::Error> {
    sqlx::query(&lock_sql(table, "$1"))
        .bind(vec![order_id.0])
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The statement that starts every transaction of the runtime: creates and locks the
/// state rows of a batch's orders in `table` (bound as `$4`, see [`lock_sql`]; a CTE runs
/// with its statement) and records the batch's events in the inbox
/// ([`crate::inbox::INSERT_ALL`], binding `$1` to `$3`), returning the ids it inserted.
pub(crate) fn admission_sql(table: &str) -> String {
    format!(
        "WITH locked AS ({lock}) {insert} RETURNING event_id",
        lock = lock_sql(table, "$4"),
        insert = crate::inbox::INSERT_ALL
    )
}

/// The query summary of [`admission_sql`] (OpenTelemetry's `db.query.summary`): the
/// name of its database span, `INSERT payments INSERT processed_messages`, say.
pub(crate) fn admission_summary(table: &str) -> String {
    format!("INSERT {table} INSERT processed_messages")
}

/// Creates the state rows of the ids bound as `param` in `table` if absent
/// (`status = 'new'`), then locks them, in one statement (DESIGN.md §1). `ON CONFLICT DO
/// UPDATE` locks an existing row, even one committed after the statement's snapshot,
/// which `DO NOTHING` followed by `SELECT ... FOR UPDATE` needed two statements for; the
/// update writes the same key back (a HOT update, no index change). The rows are taken
/// in id order, so two batches that share orders cannot deadlock on them.
fn lock_sql(table: &str, param: &str) -> String {
    format!(
        "INSERT INTO {table} (order_id, status) \
         SELECT id, 'new' FROM unnest({param}::uuid[]) AS t(id) ORDER BY id \
         ON CONFLICT (order_id) DO UPDATE SET order_id = EXCLUDED.order_id"
    )
}
