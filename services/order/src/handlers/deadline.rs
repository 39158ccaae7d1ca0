//! The saga deadline: orders still pending when their deadline passes are cancelled
//! with reason `deadline`. The deadlines are rows, so a restart forgets none.

use std::time::Duration;

use service_kit::Shutdown;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::saga::lock_saga_row;
use crate::app::{Cause, OrderService, join_saga};
use crate::domain::Command;
use crate::store::deadlines;

/// The longest the loop sleeps. A deadline scheduled meanwhile, by this instance or
/// another, is due a whole saga deadline later, so sleeping until the earliest known
/// deadline misses none; the cap keeps the pending gauges fresh and bounds the delay
/// for an instance configured with a shorter deadline.
const MAX_SLEEP: Duration = Duration::from_secs(5);
/// After a failed pass (the database away).
const RETRY: Duration = Duration::from_secs(1);

/// Expires due orders until shutdown: one statement tells how many sagas are pending
/// and when the next deadline is due; the loop sleeps until then (at most
/// [`MAX_SLEEP`]). An idle service reads once every five seconds.
pub async fn run_deadlines(service: OrderService, shutdown: Shutdown) -> anyhow::Result<()> {
    loop {
        let wait = match pass(&service).await {
            Ok(wait) => wait,
            Err(err) => {
                tracing::warn!(error = %err, "Expiring saga deadlines failed; will retry.");
                RETRY
            }
        };
        tokio::select! {
            () = shutdown.wait() => return Ok(()),
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Expires what is due, updates the gauges, and says how long to sleep.
async fn pass(service: &OrderService) -> anyhow::Result<Duration> {
    let now = service.clock.now();
    let pending = deadlines::pending(&service.pool, now).await?;
    if pending.next_due.is_some_and(|due| due <= now) {
        let expired = expire_due(service).await?;
        if expired > 0 {
            tracing::info!(expired, "Cancelled orders past their saga deadline.");
        }
        // More may be due (a pass expires at most 100): look again at once.
        return Ok(Duration::ZERO);
    }
    metrics::gauge!("sagas_pending").set(pending.count as f64);
    metrics::gauge!("sagas_oldest_pending_age_seconds").set(pending.oldest_age_seconds);
    let until_due = pending
        .next_due
        .and_then(|due| (due - now).to_std().ok())
        .unwrap_or(MAX_SLEEP);
    Ok(until_due.min(MAX_SLEEP))
}

/// Cancels every order whose deadline has passed; returns how many changed.
pub async fn expire_due(service: &OrderService) -> anyhow::Result<usize> {
    let due = deadlines::due(&service.pool, service.clock.now(), 100).await?;
    let mut expired = 0;
    for order_id in due {
        let timer = tracing::info_span!("saga deadline timer", order.id = %order_id);
        let span = join_saga(&service.pool, order_id, "order deadline")
            .instrument(timer)
            .await?;
        let done = async {
            let mut tx = service.pool.begin().await?;
            lock_saga_row(&mut tx, order_id).await?;
            let cause = Cause {
                causation_id: None,
                trace: tracing::Span::current().context(),
            };
            let executed = service
                .execute(&mut tx, order_id, Command::Expire, &cause)
                .await?;
            // Whatever the outcome, this deadline is settled.
            deadlines::clear(&mut tx, order_id).await?;
            tx.commit().await?;
            anyhow::Ok(matches!(executed, Ok(e) if e.appended > 0))
        }
        .instrument(span)
        .await?;
        if done {
            expired += 1;
            service.wakeup.notify();
        }
    }
    Ok(expired)
}
