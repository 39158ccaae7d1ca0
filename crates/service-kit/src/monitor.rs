//! Periodic gauges and housekeeping of a service's messaging tables: outbox backlog,
//! oldest unpublished age and parked rows, DLQ depth, and the pruning of published
//! outbox rows and old inbox rows.

use std::time::{Duration, Instant};

use messaging::KafkaConfig;
use messaging::dlq_admin::DlqAdmin;
use sqlx::PgPool;

use crate::Shutdown;

const EVERY: Duration = Duration::from_secs(5);
const DLQ_EVERY: Duration = Duration::from_secs(15);
const OUTBOX_PRUNE_EVERY: Duration = Duration::from_secs(60);
const INBOX_PRUNE_EVERY: Duration = Duration::from_secs(300);

/// How long inbox rows are kept: at least as long as DLQ messages (7 days), so the
/// replay of anything still in a DLQ is recognised as a duplicate when it is one.
pub const INBOX_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Updates the gauges until shutdown.
pub async fn run(
    pool: PgPool,
    kafka: KafkaConfig,
    group: String,
    outbox_retention: Duration,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let dlq = DlqAdmin::new(kafka, &group);
    let mut last_dlq = None::<Instant>;
    let mut last_outbox_prune = Instant::now();
    let mut last_inbox_prune = Instant::now();
    loop {
        match outbox::admin::backlog(&pool).await {
            Ok(backlog) => {
                metrics::gauge!("outbox_backlog").set(backlog.total() as f64);
                metrics::gauge!("outbox_oldest_unpublished_age_seconds")
                    .set(backlog.oldest_age_seconds);
                metrics::gauge!("outbox_parked_rows").set(backlog.parked as f64);
            }
            Err(err) => tracing::debug!(error = %err, "Reading the outbox backlog failed."),
        }
        if last_dlq.is_none_or(|t| t.elapsed() >= DLQ_EVERY) {
            last_dlq = Some(Instant::now());
            match dlq.depth().await {
                Ok(depth) => {
                    metrics::gauge!("dlq_depth", "group" => group.clone()).set(depth as f64)
                }
                Err(err) => tracing::debug!(error = %err, "Reading the DLQ depth failed."),
            }
        }
        if last_outbox_prune.elapsed() >= OUTBOX_PRUNE_EVERY {
            last_outbox_prune = Instant::now();
            pruned(
                "published outbox",
                outbox::admin::prune(&pool, outbox_retention).await,
            );
        }
        if last_inbox_prune.elapsed() >= INBOX_PRUNE_EVERY {
            last_inbox_prune = Instant::now();
            pruned(
                "old inbox",
                messaging::inbox::prune(&pool, INBOX_RETENTION).await,
            );
        }
        tokio::select! {
            () = shutdown.wait() => return Ok(()),
            () = tokio::time::sleep(EVERY) => {}
        }
    }
}

/// Logs one pruning pass: what it deleted (at debug), or why it failed (a warning; the
/// next pass tries again).
fn pruned(rows: &str, result: Result<u64, sqlx::Error>) {
    match result {
        Ok(0) => {}
        Ok(deleted) => tracing::debug!(deleted, "Pruned {rows} rows."),
        Err(err) => tracing::warn!(error = %err, "Pruning {rows} rows failed."),
    }
}
