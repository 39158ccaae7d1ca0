//! Where the order service reads the time: every `now` of a command, a view row and a
//! saga deadline comes from here, so a test can move time instead of waiting for it.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};

/// The system's clock, or one that only moves when told to.
#[derive(Debug, Clone, Default)]
pub struct Clock(Option<Arc<Mutex<DateTime<Utc>>>>);

impl Clock {
    /// The system's time.
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock that reads `start` until [`Clock::advance`] moves it.
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self(Some(Arc::new(Mutex::new(start))))
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.0 {
            None => Utc::now(),
            Some(time) => *time.lock().expect("a clock's lock is never poisoned"),
        }
    }

    /// Moves a manual clock (and every clone of it) forward; the system's clock moves
    /// on its own, so this is refused for it.
    pub fn advance(&self, by: TimeDelta) {
        let time = self.0.as_ref().expect("only a manual clock is advanced");
        *time.lock().expect("a clock's lock is never poisoned") += by;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced_and_for_all_its_clones() {
        let start = Utc::now() - TimeDelta::days(1);
        let clock = Clock::manual(start);
        let clone = clock.clone();
        assert_eq!(clock.now(), start);
        clone.advance(TimeDelta::seconds(30));
        assert_eq!(clock.now(), start + TimeDelta::seconds(30));
    }

    #[test]
    fn the_system_clock_reads_the_system_time() {
        let before = Utc::now();
        let now = Clock::system().now();
        assert!(before <= now && now <= Utc::now());
    }
}
