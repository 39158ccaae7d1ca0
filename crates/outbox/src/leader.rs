//! One active relay per database: a session-level advisory lock held on a dedicated
//! connection. The lock lives exactly as long as that session, so a relay that crashes
//! or loses its connection hands over without any lease to expire. The relay reads and
//! marks through that same session: a statement that succeeds on it proves the lock is
//! still held, with no round trip spent on checking. A relay that does not hold the
//! lock keeps its session as a standby and asks again on it: a new connection costs the
//! server a process and an authentication, and standbys ask every second.

use std::time::Duration;

use messaging::session::{DatabaseUrl, SessionLimits, within};
use sqlx::{Connection, PgConnection};

/// Namespace of the two-key advisory lock, so ours never collides with an application
/// lock that happens to hash alike.
const LOCK_NAMESPACE: i32 = 0x5a6a_0b0c;

/// Leadership of one outbox table.
#[derive(Debug)]
pub struct Leadership {
    database_url: DatabaseUrl,
    schema: String,
    table: String,
    session: Option<PgConnection>,
    /// The session of a relay that asked and was refused, kept for the next attempt.
    standby: Option<PgConnection>,
    limits: SessionLimits,
}

impl Leadership {
    /// Leadership of the `outbox` table in `schema`. The lock key is the hash of the
    /// qualified name, so relays of different schemas in one database do not exclude
    /// each other; the session's `search_path` is `schema`.
    pub fn new(
        database_url: impl Into<String>,
        schema: impl Into<String>,
        limits: SessionLimits,
    ) -> Self {
        let schema = schema.into();
        Self {
            database_url: DatabaseUrl::new(database_url),
            table: format!("{schema}.outbox"),
            schema,
            session: None,
            standby: None,
            limits,
        }
    }

    /// The longest a statement on the session is awaited: a session that does not
    /// answer is lost (see [`Leadership::lose`]), and the server, which notices the
    /// vanished client within seconds, frees the lock for whoever competes next.
    pub fn deadline(&self) -> Duration {
        self.limits.client_deadline
    }

    /// True when this relay holds the lock (as far as its last statement on the session
    /// showed), trying to take it when it does not.
    pub async fn acquire(&mut self) -> Result<bool, sqlx::Error> {
        if self.session.is_some() {
            return Ok(true);
        }
        within(self.deadline(), self.compete()).await
    }

    /// Asks for the lock on the standby session, or on a new one. A session that fails
    /// or misses the deadline is dropped with the attempt, and the next one connects.
    async fn compete(&mut self) -> Result<bool, sqlx::Error> {
        let mut session = match self.standby.take() {
            Some(session) => session,
            None => {
                let options = self
                    .limits
                    .connect_options(self.database_url.as_str(), "outbox relay")?;
                PgConnection::connect_with(&options).await?
            }
        };
        let acquired: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, hashtext($2))")
            .bind(LOCK_NAMESPACE)
            .bind(&self.table)
            .fetch_one(&mut session)
            .await?;
        if acquired {
            // The session only reads and marks. A mark lost with a crash publishes its
            // rows again, which the consumers' inbox absorbs, so marks need not wait
            // for the WAL flush.
            sqlx::query("SET synchronous_commit = off")
                .execute(&mut session)
                .await?;
            sqlx::query("SELECT set_config('search_path', $1, false)")
                .bind(format!("\"{}\"", self.schema.replace('"', "\"\"")))
                .execute(&mut session)
                .await?;
            tracing::info!(table = %self.table, "This relay is now the outbox leader.");
            leader_gauge(&self.table, true);
            self.session = Some(session);
        } else {
            leader_gauge(&self.table, false);
            self.standby = Some(session);
        }
        Ok(acquired)
    }

    /// The lock's session, while held: run the relay's statements on it.
    pub fn session(&mut self) -> Option<&mut PgConnection> {
        self.session.as_mut()
    }

    /// A statement failed on the session: drop it, and the lock with it, rather than
    /// guess whether it still holds. The next [`Leadership::acquire`] competes again.
    pub fn lose(&mut self) {
        if self.session.take().is_some() {
            leader_gauge(&self.table, false);
            tracing::warn!(table = %self.table, "A statement failed on the outbox leader's session; leadership given up.");
        }
    }

    /// Gives the lock up (on shutdown), so another relay takes over at once.
    pub async fn release(&mut self) {
        if self.session.is_some() {
            leader_gauge(&self.table, false);
        }
        for session in [self.session.take(), self.standby.take()]
            .into_iter()
            .flatten()
        {
            let _ = session.close().await;
        }
    }
}

/// `outbox_relay_leader{table}`: 1 while this process's relay holds the outbox's lock,
/// so an operator (or `scripts/chaos`) sees which instance publishes.
fn leader_gauge(table: &str, leading: bool) {
    metrics::gauge!("outbox_relay_leader", "table" => table.to_owned()).set(if leading {
        1.0
    } else {
        0.0
    });
}
