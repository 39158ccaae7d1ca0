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

const TICK: Duration = Duration::from_millis(500);

/// Expires due orders every half second until shutdown.
pub async fn run_deadlines(service: OrderService, shutdown: Shutdown) -> anyhow::Result<()> {
    loop {
        match expire_due(&service).await {
            Ok(0) => {}
            Ok(expired) => tracing::info!(expired, "Cancelled orders past their saga deadline."),
            Err(err) => tracing::warn!(error = %err, "Expiring saga deadlines failed; will retry."),
        }
        if let Ok((pending, oldest)) = deadlines::pending(&service.pool, service.clock.now()).await
        {
            metrics::gauge!("sagas_pending").set(pending as f64);
            metrics::gauge!("sagas_oldest_pending_age_seconds").set(oldest);
        }
        tokio::select! {
            () = shutdown.wait() => return Ok(()),
            () = tokio::time::sleep(TICK) => {}
        }
    }
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
