//! What readiness and the metrics see of a consumer: running, paused through an
//! outage, stuck (messages waiting and none handled for a while), or failed for good.
//! A consumer that stops must never look healthy: `/readyz` reads this, and the
//! gauges `consumer_paused` and `consumer_stuck` show it to an alert.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A consumer's state, as its runtime, its client context and the probes share it.
#[derive(Debug, Clone)]
pub struct ConsumerHealth {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    group: String,
    stuck_after: Duration,
    paused: AtomicBool,
    /// Messages waiting on the assigned partitions, from the client's statistics. The
    /// client updates them only when polled, so a runtime stuck in a handler's retries
    /// reports `in_hand` instead.
    lag: AtomicI64,
    /// Messages of the batch the runtime is working on.
    in_hand: AtomicI64,
    /// When a message was last handled, skipped or dead-lettered (or the consumer
    /// started): the offsets move on from there.
    last_progress: Mutex<Instant>,
    failure: OnceLock<String>,
}

/// What a probe reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerState {
    Running,
    /// An outage of the database or the broker paused every partition.
    Paused,
    /// Messages wait and none was handled for longer than the configured time.
    Stuck {
        lag: i64,
        idle: Duration,
    },
    /// The client failed for good (a fenced static member, say); the service exits.
    Failed(String),
}

/// The consumer stopped on an error its client cannot recover from.
#[derive(Debug, thiserror::Error)]
#[error("the consumer of group {group} failed for good: {reason}")]
pub struct ConsumerFailed {
    pub group: String,
    pub reason: String,
}

impl ConsumerHealth {
    pub(crate) fn new(group: &str, stuck_after: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                group: group.to_owned(),
                stuck_after,
                paused: AtomicBool::new(false),
                lag: AtomicI64::new(0),
                in_hand: AtomicI64::new(0),
                last_progress: Mutex::new(Instant::now()),
                failure: OnceLock::new(),
            }),
        }
    }

    pub fn group(&self) -> &str {
        &self.inner.group
    }

    /// True while an infrastructure outage keeps the partitions paused.
    pub fn is_paused(&self) -> bool {
        self.inner.paused.load(Ordering::SeqCst)
    }

    pub fn state(&self) -> ConsumerState {
        if let Some(reason) = self.inner.failure.get() {
            return ConsumerState::Failed(reason.clone());
        }
        if self.is_paused() {
            return ConsumerState::Paused;
        }
        let lag =
            (self.inner.lag.load(Ordering::SeqCst)).max(self.inner.in_hand.load(Ordering::SeqCst));
        let idle = self.idle();
        if lag > 0 && idle > self.inner.stuck_after {
            return ConsumerState::Stuck { lag, idle };
        }
        ConsumerState::Running
    }

    /// The reason the consumer failed, once it has.
    pub fn failure(&self) -> Option<&str> {
        self.inner.failure.get().map(String::as_str)
    }

    fn idle(&self) -> Duration {
        self.inner
            .last_progress
            .lock()
            .map(|at| at.elapsed())
            .unwrap_or_default()
    }

    pub(super) fn set_paused(&self, paused: bool) {
        self.inner.paused.store(paused, Ordering::SeqCst);
    }

    pub(super) fn set_lag(&self, lag: i64) {
        self.inner.lag.store(lag, Ordering::SeqCst);
    }

    /// The runtime took `messages` to work on (0: it finished them).
    pub(super) fn holding(&self, messages: usize) {
        self.inner.in_hand.store(messages as i64, Ordering::SeqCst);
    }

    pub(super) fn progressed(&self) {
        if let Ok(mut at) = self.inner.last_progress.lock() {
            *at = Instant::now();
        }
    }

    /// Records the first fatal error; later ones add nothing.
    pub(super) fn fail(&self, reason: String) {
        let _ = self.inner.failure.set(reason);
    }

    /// Sets the `consumer_paused` and `consumer_stuck` gauges (0 or 1).
    pub(super) fn publish(&self) {
        let state = self.state();
        let group = self.inner.group.clone();
        let flag = |on: bool| if on { 1.0 } else { 0.0 };
        metrics::gauge!("consumer_paused", "group" => group.clone())
            .set(flag(state == ConsumerState::Paused));
        metrics::gauge!("consumer_stuck", "group" => group)
            .set(flag(matches!(state, ConsumerState::Stuck { .. })));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stuck_only_with_messages_waiting_and_no_progress_for_the_configured_time() {
        let health = ConsumerHealth::new("g", Duration::from_millis(20));
        assert_eq!(health.state(), ConsumerState::Running);
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(
            health.state(),
            ConsumerState::Running,
            "idle, nothing waits"
        );
        health.set_lag(3);
        assert!(matches!(
            health.state(),
            ConsumerState::Stuck { lag: 3, .. }
        ));
        health.progressed();
        assert_eq!(health.state(), ConsumerState::Running);
        health.set_lag(0);
        health.holding(5);
        std::thread::sleep(Duration::from_millis(30));
        assert!(
            matches!(health.state(), ConsumerState::Stuck { lag: 5, .. }),
            "a batch in hand waits too"
        );
    }

    #[test]
    fn failed_outranks_paused_and_keeps_the_first_reason() {
        let health = ConsumerHealth::new("g", Duration::from_secs(60));
        health.set_paused(true);
        assert_eq!(health.state(), ConsumerState::Paused);
        health.fail("fenced".into());
        health.fail("later".into());
        assert_eq!(health.state(), ConsumerState::Failed("fenced".into()));
    }
}
