//! Periodic gauges and housekeeping of a service's messaging tables: outbox backlog,
//! oldest unpublished age and parked rows, DLQ depth, and the retention rules of
//! [`crate::retention`].

use std::time::{Duration, Instant};

use messaging::KafkaConfig;
use messaging::dlq_admin::{DepthProbe, DlqAdmin};
use sqlx::PgPool;

use crate::Shutdown;
use crate::retention::{Retention, prune_all};

const EVERY: Duration = Duration::from_secs(5);
const DLQ_EVERY: Duration = Duration::from_secs(15);
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Updates the gauges until shutdown.
pub async fn run(
    pool: PgPool,
    kafka: KafkaConfig,
    group: String,
    retention: Vec<Retention>,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let dlq = DepthProbe::new(&DlqAdmin::new(kafka, &group))?;
    let mut last_dlq = None::<Instant>;
    let mut last_prune = Instant::now();
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
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = Instant::now();
            prune_all(&pool, &retention).await;
        }
        tokio::select! {
            () = shutdown.wait() => return Ok(()),
            () = tokio::time::sleep(EVERY) => {}
        }
    }
}
