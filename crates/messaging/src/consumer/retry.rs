//! What to do about a message whose transaction failed: the error classes of DESIGN.md
//! §5 as a pure policy, so their rules are tested without a broker or a database.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::dlq::{DlqClass, Failure};
use crate::error::ErrorClass;

/// The next step for a failed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Try again at once: a serialization failure, a deadlock, a version conflict.
    RetryNow,
    /// Try again after this wait, with no transaction open.
    RetryAfter(Duration),
    /// Give up on it: copy it to the dead letter topic.
    DeadLetter,
    /// The database or the broker is away: pause, and never dead-letter for it.
    Pause,
}

/// How many retries each class gets, and the first handler backoff (doubled per retry).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    pub(crate) transient_retries: u32,
    pub(crate) handler_retries: u32,
    pub(crate) handler_backoff: Duration,
}

/// What one message's failures have been so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct Attempts {
    failures: u32,
    transient: u32,
    handler: u32,
    first_failed_at: Option<DateTime<Utc>>,
}

impl RetryPolicy {
    /// Records a failure of `class` at `now` in `attempts` and says what comes next.
    /// A transient failure past its retries counts as a handler failure; handler
    /// failures wait `handler_backoff`, then twice that, and so on, and are
    /// dead-lettered once they exceed `handler_retries`.
    pub(crate) fn decide(
        &self,
        attempts: &mut Attempts,
        class: ErrorClass,
        now: DateTime<Utc>,
    ) -> Decision {
        if class == ErrorClass::Infrastructure {
            return Decision::Pause;
        }
        attempts.failures += 1;
        attempts.first_failed_at.get_or_insert(now);
        if class == ErrorClass::Transient && attempts.transient < self.transient_retries {
            attempts.transient += 1;
            return Decision::RetryNow;
        }
        attempts.handler += 1;
        if attempts.handler > self.handler_retries {
            return Decision::DeadLetter;
        }
        let doublings = (attempts.handler - 1).min(31);
        Decision::RetryAfter(self.handler_backoff.saturating_mul(1 << doublings))
    }
}

impl Attempts {
    /// Failed attempts so far.
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }

    /// The dead letter's failure record: `attempts` counts the tries so far, including
    /// one that ends now without failing (a conflict found, say).
    pub(crate) fn failure(
        &self,
        class: DlqClass,
        error: String,
        attempts: u32,
        now: DateTime<Utc>,
    ) -> Failure {
        Failure {
            class,
            error,
            attempts,
            first_failed_at: self.first_failed_at.unwrap_or(now),
            last_failed_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BACKOFF: Duration = Duration::from_millis(100);

    fn policy(transient_retries: u32, handler_retries: u32) -> RetryPolicy {
        RetryPolicy {
            transient_retries,
            handler_retries,
            handler_backoff: BACKOFF,
        }
    }

    fn decisions(policy: RetryPolicy, classes: &[ErrorClass]) -> Vec<Decision> {
        let mut attempts = Attempts::default();
        classes
            .iter()
            .map(|class| policy.decide(&mut attempts, *class, Utc::now()))
            .collect()
    }

    #[test]
    fn an_outage_pauses_and_is_never_dead_lettered() {
        let all = decisions(policy(0, 0), &[ErrorClass::Infrastructure; 50]);
        assert!(all.iter().all(|d| *d == Decision::Pause));
    }

    #[test]
    fn a_handler_failure_waits_twice_as_long_each_time_then_goes_to_the_dlq() {
        let all = decisions(policy(10, 3), &[ErrorClass::Handler; 4]);
        assert_eq!(
            all,
            [
                Decision::RetryAfter(BACKOFF),
                Decision::RetryAfter(BACKOFF * 2),
                Decision::RetryAfter(BACKOFF * 4),
                Decision::DeadLetter,
            ]
        );
    }

    #[test]
    fn transient_conflicts_retry_at_once_then_count_as_handler_failures() {
        let all = decisions(policy(2, 1), &[ErrorClass::Transient; 4]);
        assert_eq!(
            all,
            [
                Decision::RetryNow,
                Decision::RetryNow,
                Decision::RetryAfter(BACKOFF),
                Decision::DeadLetter,
            ]
        );
    }

    #[test]
    fn with_no_handler_retries_the_first_handler_failure_is_dead_lettered() {
        assert_eq!(
            decisions(policy(0, 0), &[ErrorClass::Handler]),
            [Decision::DeadLetter]
        );
    }

    #[test]
    fn the_dead_letter_keeps_the_first_failure_time() {
        let policy = policy(0, 1);
        let mut attempts = Attempts::default();
        let first = Utc::now();
        let later = first + chrono::Duration::seconds(5);
        policy.decide(&mut attempts, ErrorClass::Handler, first);
        policy.decide(&mut attempts, ErrorClass::Handler, later);
        let failure = attempts.failure(DlqClass::Handler, "boom".into(), 2, later);
        assert_eq!(failure.first_failed_at, first);
        assert_eq!(failure.last_failed_at, later);
        assert_eq!(attempts.failures(), 2);
    }

    fn class() -> impl Strategy<Value = ErrorClass> {
        prop_oneof![
            Just(ErrorClass::Infrastructure),
            Just(ErrorClass::Transient),
            Just(ErrorClass::Handler),
        ]
    }

    proptest! {
        /// Whatever the failures, a message is dead-lettered at most after
        /// transient_retries + handler_retries + 1 non-outage failures, never for an
        /// outage, and never waits inside the transient budget.
        #[test]
        fn every_message_ends_within_its_budget(
            transient_retries in 0u32..12,
            handler_retries in 0u32..6,
            classes in proptest::collection::vec(class(), 0..60),
        ) {
            let policy = policy(transient_retries, handler_retries);
            let mut attempts = Attempts::default();
            let mut ended = false;
            for class in classes {
                if ended {
                    break;
                }
                let before = attempts.failures();
                let decision = policy.decide(&mut attempts, class, Utc::now());
                match decision {
                    Decision::Pause => {
                        prop_assert_eq!(class, ErrorClass::Infrastructure);
                        prop_assert_eq!(attempts.failures(), before);
                    }
                    Decision::DeadLetter => {
                        prop_assert!(attempts.failures() <= transient_retries + handler_retries + 1);
                        ended = true;
                    }
                    Decision::RetryNow => prop_assert_eq!(class, ErrorClass::Transient),
                    Decision::RetryAfter(wait) => prop_assert!(wait >= BACKOFF),
                }
            }
        }
    }
}
