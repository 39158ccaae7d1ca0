//! What operators and monitors ask of an outbox: its backlog, its parked rows, and the
//! pruning of published rows.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgExecutor};

/// Rows not yet published, parked ones included: a parked row is work an operator
/// still has to do.
#[derive(Debug, Clone, Copy, PartialEq, FromRow)]
pub struct Backlog {
    pub unpublished: i64,
    pub parked: i64,
    /// Age of the oldest unpublished row, in seconds (0 when there is none).
    pub oldest_age_seconds: f64,
}

impl Backlog {
    pub fn total(&self) -> i64 {
        self.unpublished + self.parked
    }
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn backlog(db: impl PgExecutor<'_>) -> Result<Backlog, sqlx::Error> {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE failed_at IS NULL) AS unpublished,
                count(*) FILTER (WHERE failed_at IS NOT NULL) AS parked,
                coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_seconds
         FROM outbox WHERE published_at IS NULL",
    )
    .fetch_one(db)
    .await
}

/// A row the relay parked because the broker refused it for good.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct ParkedRow {
    pub id: i64,
    pub topic: String,
    pub key: String,
    pub event_type: String,
    pub created_at: DateTime<Utc>,
    pub failed_at: DateTime<Utc>,
    pub failure: Option<String>,
    /// Key, value and headers in bytes, roughly as the broker counted them.
    pub size_bytes: i64,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn parked(db: impl PgExecutor<'_>) -> Result<Vec<ParkedRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, topic, key, event_type, created_at, failed_at, failure,
                (octet_length(key) + octet_length(payload::text) + octet_length(headers::text))::int8 AS size_bytes
         FROM outbox WHERE failed_at IS NOT NULL AND published_at IS NULL ORDER BY id",
    )
    .fetch_all(db)
    .await
}

/// Puts parked rows back in the queue (all of them when `ids` is empty); returns how
/// many. For after the cause was fixed, e.g. a topic's size limit raised.
#[tracing::instrument(level = "debug", skip_all, fields(rows = ids.len()))]
pub async fn requeue(db: impl PgExecutor<'_>, ids: &[i64]) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE outbox SET failed_at = NULL, failure = NULL
         WHERE failed_at IS NOT NULL AND published_at IS NULL
           AND (cardinality($1::int8[]) = 0 OR id = ANY($1))",
    )
    .bind(ids)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
