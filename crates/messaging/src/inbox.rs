//! The idempotent consumer's inbox: one row per handled event, written in the same
//! transaction as the event's effect, so an effect and its "done" mark commit together.

use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

/// What the inbox says about an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxOutcome {
    /// First sight: apply it.
    New,
    /// Handled before with the same body: skip it.
    Duplicate,
    /// Handled before with another body under the same id: poison.
    Conflict,
}

pub fn body_sha256(body: &[u8]) -> [u8; 32] {
    Sha256::digest(body).into()
}

/// Records `event_id` for `group` in the caller's transaction.
pub async fn record(
    tx: &mut PgConnection,
    group: &str,
    event_id: Uuid,
    sha256: &[u8; 32],
) -> Result<InboxOutcome, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO processed_messages (consumer_group, event_id, body_sha256) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(group)
    .bind(event_id)
    .bind(&sha256[..])
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(InboxOutcome::New);
    }
    let stored: Vec<u8> = sqlx::query_scalar(
        "SELECT body_sha256 FROM processed_messages WHERE consumer_group = $1 AND event_id = $2",
    )
    .bind(group)
    .bind(event_id)
    .fetch_one(&mut *tx)
    .await?;
    Ok(if stored == sha256[..] {
        InboxOutcome::Duplicate
    } else {
        InboxOutcome::Conflict
    })
}

/// Deletes inbox rows older than `retention` (kept at least as long as DLQ messages,
/// so a replay of anything still in a DLQ is recognised).
pub async fn prune(
    pool: &sqlx::PgPool,
    retention: std::time::Duration,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "DELETE FROM processed_messages WHERE ctid IN (
             SELECT ctid FROM processed_messages
             WHERE processed_at < now() - make_interval(secs => $1) LIMIT 10000)",
    )
    .bind(retention.as_secs_f64())
    .execute(pool)
    .await?
    .rows_affected())
}
