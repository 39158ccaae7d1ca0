//! Waking the relay in-process right after a writing transaction commits.
//!
//! Deliberately not `NOTIFY`: a `NOTIFY` inside a hot transaction takes a cluster-wide
//! lock at commit and serialises every writer. The relay's short poll covers writers in
//! other processes.

use std::sync::Arc;

use tokio::sync::Notify;

/// A cloneable nudge; cheap to call after every commit.
#[derive(Debug, Clone, Default)]
pub struct Wakeup(Arc<Notify>);

impl Wakeup {
    pub fn new() -> Self {
        Self::default()
    }

    /// Call after the transaction that enqueued rows has committed.
    pub fn notify(&self) {
        self.0.notify_one();
    }

    /// Resolves on the next [`Wakeup::notify`] (or at once if one is pending).
    pub async fn notified(&self) {
        self.0.notified().await;
    }
}
