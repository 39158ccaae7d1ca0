//! The saga deadline: orders still pending when their deadline passes are cancelled
//! with reason `deadline`. The deadlines are rows, so a restart forgets none.
//!
//! Each due order is expired on its own (under the saga lock, a version conflict
//! decided again at once): one whose expiry fails is counted, logged and its deadline
//! pushed back by a backoff that doubles with each failure in a row, so it never holds
//! back the deadlines behind it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use contracts::OrderId;
use service_kit::Shutdown;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

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
/// The wait after an order's first failed expiry; doubled per failure in a row.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Expires due orders until shutdown: one statement tells how many sagas are pending
/// and when the next deadline is due; the loop sleeps until then (at most
/// [`MAX_SLEEP`]). An idle service reads once every five seconds. A saga deadline the
/// clock cannot hold stops the service: every new order would fail with it.
pub async fn run_deadlines(service: OrderService, shutdown: Shutdown) -> anyhow::Result<()> {
    service
        .deadline_after(service.clock.now())
        .context("SAGA_DEADLINE")?;
    let mut failures = Failures::default();
    loop {
        let wait = match pass(&service, &mut failures).await {
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
async fn pass(service: &OrderService, failures: &mut Failures) -> anyhow::Result<Duration> {
    let now = service.clock.now();
    let pending = deadlines::pending(&service.pool, now).await?;
    if pending.next_due.is_some_and(|due| due <= now) {
        let expired = expire_due(service, failures).await?;
        if expired > 0 {
            tracing::info!(expired, "Cancelled orders past their saga deadline.");
        }
        // More may be due (a pass expires at most 100): look again at once. A failed
        // order is due later now, so it does not come back at once.
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

/// Cancels every order whose deadline has passed; returns how many changed. An order
/// whose expiry fails is pushed back; only reading the due orders or pushing one back
/// failing (the database away) fails the pass.
async fn expire_due(service: &OrderService, failures: &mut Failures) -> anyhow::Result<usize> {
    let due = deadlines::due(&service.pool, service.clock.now(), 100).await?;
    let mut expired = 0;
    for order_id in due {
        match expire(service, order_id).await {
            Ok(changed) => {
                failures.clear(order_id);
                expired += usize::from(changed);
            }
            Err(err) => {
                let attempt = failures.record(order_id);
                let wait = backoff(attempt);
                metrics::counter!("saga_deadline_failures_total").increment(1);
                tracing::warn!(%order_id, attempt, retry_in_s = wait.as_secs(), error = format!("{err:#}"),
                    "Expiring an order failed; its deadline is pushed back.");
                let next = service.clock.now() + chrono::Duration::from_std(wait)?;
                deadlines::postpone(&service.pool, order_id, next).await?;
            }
        }
    }
    Ok(expired)
}

/// Cancels one order for its deadline, in the saga's trace; `true` if it changed. The
/// timer's span, the trace the saga step links, names the order and (from `join_saga`)
/// the saga.
async fn expire(service: &OrderService, order_id: OrderId) -> anyhow::Result<bool> {
    let timer = tracing::info_span!(
        "saga deadline timer",
        order.id = %order_id,
        saga.correlation_id = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    telemetry::record_trace_id(&timer);
    let span = join_saga(&service.pool, order_id, "order deadline")
        .instrument(timer)
        .await?;
    let cause = Cause {
        causation_id: None,
        trace: span.context(),
    };
    // `run` locks the saga, retries conflicts and settles the deadline in any case.
    let executed = service
        .run(order_id, Command::Expire, &cause)
        .instrument(span)
        .await?;
    Ok(matches!(executed, Ok(e) if e.appended > 0))
}

/// How long to wait after the `attempt`-th failure in a row: [`FIRST_BACKOFF`],
/// doubling, at most [`MAX_BACKOFF`].
fn backoff(attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(16);
    FIRST_BACKOFF
        .saturating_mul(1 << doublings)
        .min(MAX_BACKOFF)
}

/// Orders whose expiry failed: failures in a row and when the last was. Kept in
/// memory (a restart starts the backoff again); an order not seen failing for twice
/// the longest backoff is forgotten, as its deadline was settled elsewhere.
#[derive(Debug, Default)]
struct Failures(HashMap<OrderId, (u32, Instant)>);

impl Failures {
    /// Records a failure; returns how many in a row.
    fn record(&mut self, order_id: OrderId) -> u32 {
        let now = Instant::now();
        self.0
            .retain(|_, (_, at)| now.duration_since(*at) < 2 * MAX_BACKOFF);
        let entry = self.0.entry(order_id).or_insert((0, now));
        entry.0 += 1;
        entry.1 = now;
        entry.0
    }

    fn clear(&mut self, order_id: OrderId) {
        self.0.remove(&order_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_per_failure_up_to_its_cap() {
        let waits: Vec<u64> = (1..=12).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn failures_count_in_a_row_per_order_and_a_success_forgets_them() {
        let mut failures = Failures::default();
        let (a, b) = (OrderId::new(), OrderId::new());
        assert_eq!(failures.record(a), 1);
        assert_eq!(failures.record(a), 2);
        assert_eq!(failures.record(b), 1);
        failures.clear(a);
        assert_eq!(failures.record(a), 1);
    }
}
