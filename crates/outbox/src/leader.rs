//! One active relay per database: a session-level advisory lock held on a dedicated
//! connection. The lock lives exactly as long as that session, so a relay that crashes
//! or loses its connection hands over without any lease to expire.

use sqlx::{Connection, PgConnection};

/// Namespace of the two-key advisory lock, so ours never collides with an application
/// lock that happens to hash alike.
const LOCK_NAMESPACE: i32 = 0x5a6a_0b0c;

/// Leadership of one outbox table.
#[derive(Debug)]
pub struct Leadership {
    database_url: String,
    table: String,
    session: Option<PgConnection>,
}

impl Leadership {
    /// `table` is the outbox's qualified name (`public.outbox`); the lock key is its hash,
    /// so relays of different schemas in one database do not exclude each other.
    pub fn new(database_url: impl Into<String>, table: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            table: table.into(),
            session: None,
        }
    }

    /// True when this relay holds the lock, trying to take it when it does not.
    pub async fn acquire(&mut self) -> Result<bool, sqlx::Error> {
        if self.is_held().await {
            return Ok(true);
        }
        let mut session = PgConnection::connect(&self.database_url).await?;
        let acquired: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, hashtext($2))")
            .bind(LOCK_NAMESPACE)
            .bind(&self.table)
            .fetch_one(&mut session)
            .await?;
        if acquired {
            tracing::info!(table = %self.table, "This relay is now the outbox leader.");
            self.session = Some(session);
        } else {
            let _ = session.close().await;
        }
        Ok(acquired)
    }

    /// True while the lock's session is alive: a session-level lock is lost only with
    /// its session, so a live session still holds it. Checked before every mark.
    pub async fn is_held(&mut self) -> bool {
        let Some(session) = self.session.as_mut() else {
            return false;
        };
        if session.ping().await.is_ok() {
            return true;
        }
        tracing::warn!(table = %self.table, "The outbox leader's lock session is gone; leadership lost.");
        self.session = None;
        false
    }

    /// Gives the lock up (on shutdown), so another relay takes over at once.
    pub async fn release(&mut self) {
        if let Some(session) = self.session.take() {
            let _ = session.close().await;
        }
    }
}
