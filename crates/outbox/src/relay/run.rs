//! [`Relay::run`]: the relay as a service runs it, a pipeline of batches driven by
//! wake-ups, the fallback poll and delivery reports.

use std::collections::VecDeque;
use std::time::Duration;

use super::{Fill, InFlight, MAX_IN_FLIGHT, Marks, REPORTS_OVERDUE, Relay, RelayError, RelayStep};

impl Relay {
    /// Publishes until `shutdown` resolves, then marks what is delivered and hands
    /// leadership over. A wake-up or the poll reads new rows at once while earlier
    /// batches wait for their reports; a batch whose reports are in is marked by the
    /// next read (at the latest the next poll), not by a statement of its own.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut pipeline: VecDeque<InFlight> = VecDeque::new();
        let mut backoff = Duration::from_millis(100);
        // No read before this, whatever wakes the relay: after a failure, or while
        // another relay leads.
        let mut resume_at = tokio::time::Instant::now();
        let mut read_now = true;
        // The fallback poll's period now, and whether the poll (not a wake-up) woke us.
        let mut poll = self.config.poll_interval;
        let mut polled = false;
        loop {
            let resumed = tokio::time::Instant::now() >= resume_at;
            if read_now && resumed && pipeline.len() < MAX_IN_FLIGHT {
                read_now = false;
                match self.fill(&mut pipeline).await {
                    Ok(Fill::Launched { full }) => {
                        read_now = full;
                        poll = self.config.poll_interval;
                    }
                    Ok(Fill::Empty) if polled && pipeline.is_empty() => {
                        poll = (poll * 2)
                            .min(self.config.idle_poll_max.max(self.config.poll_interval));
                    }
                    Ok(Fill::Empty) => {}
                    Ok(Fill::NotLeader) => resume_at = later(Duration::from_secs(1)),
                    Err(err) => {
                        // What is in flight is read and produced again afterwards.
                        pipeline.clear();
                        resume_at = later(self.failed(&err, &mut backoff));
                    }
                }
            }
            // Read again at once when a full batch left more behind and there is room.
            let poll_at = if read_now && pipeline.len() < MAX_IN_FLIGHT {
                resume_at
            } else {
                resume_at.max(later(poll))
            };
            polled = false;
            let overdue_at = pipeline.front().map(|b| b.launched + REPORTS_OVERDUE);
            let oldest = async {
                match pipeline.front_mut() {
                    Some(batch) => (&mut batch.reports).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                reports = oldest => {
                    pipeline.pop_front();
                    match self.settle(reports, Marks::WithNextRead).await {
                        Ok(RelayStep::NotLeader) => {
                            pipeline.clear();
                            resume_at = later(Duration::from_secs(1));
                        }
                        // Rows that committed meanwhile woke the relay (or the poll
                        // finds them): no read on the off chance.
                        Ok(_) => backoff = Duration::from_millis(100),
                        Err(err) => {
                            pipeline.clear();
                            resume_at = later(self.failed(&err, &mut backoff));
                        }
                    }
                }
                () = sleep_until_some(overdue_at) => {
                    pipeline.clear();
                    self.producer.rebuild("an outbox batch's delivery reports are overdue");
                    read_now = true;
                }
                () = self.wakeup.notified() => {
                    read_now = true;
                    poll = self.config.poll_interval;
                }
                () = tokio::time::sleep_until(poll_at) => {
                    read_now = true;
                    polled = true;
                }
            }
        }
        if let Err(err) = self.mark_now().await {
            // Their rows are published again by the next leader; the inbox absorbs it.
            tracing::warn!(error = %err, "Marking the last delivered rows failed.");
        }
        self.leadership.release().await;
    }

    /// Logs a failed step; returns how long to wait before the next.
    fn failed(&self, err: &RelayError, backoff: &mut Duration) -> Duration {
        tracing::warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "Outbox relay step failed; retrying.");
        metrics::counter!("outbox_relay_errors_total").increment(1);
        let wait = *backoff;
        *backoff = (*backoff * 2).min(Duration::from_secs(30));
        wait
    }
}

fn later(wait: Duration) -> tokio::time::Instant {
    tokio::time::Instant::now() + wait
}

/// Sleeps until `at`; never wakes for `None`.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
