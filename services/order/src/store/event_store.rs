//! Append with expected version; load = latest snapshot + later events. Each statement
//! (an append's inserts together) runs in a database span.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use contracts::OrderId;
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, PgConnection};
use tracing::Instrument;
use uuid::Uuid;

use crate::domain::events::{StoredEventError, StoredType};
use crate::domain::{Order, OrderStoreEvent, evolve};

/// Version of the snapshot format; a snapshot of another version is ignored.
const SNAPSHOT_SCHEMA: i32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another writer appended this version first: reload and decide again.
    #[error("order {order_id} was changed concurrently (version {version} taken)")]
    Conflict { order_id: OrderId, version: i64 },
    #[error(transparent)]
    Event(#[from] StoredEventError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What the store keeps beside each event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMetadata {
    pub event_id: Uuid,
    pub correlation_id: Uuid,
    pub causation_id: Uuid,
    /// On the first event: the saga's root trace context (`traceparent`, ...), which
    /// later work on the saga joins.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub trace: std::collections::BTreeMap<String, String>,
}

/// One event as stored.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub version: i64,
    pub event: OrderStoreEvent,
    pub metadata: StoredMetadata,
    pub recorded_at: DateTime<Utc>,
}

/// An order as loaded, with how it was loaded.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub order: Order,
    /// Events folded on top of the snapshot (all of them without one).
    pub replayed: usize,
    /// The first event's metadata when the load read it (no snapshot): saves
    /// [`first_metadata`] a round trip on the hot path.
    pub first: Option<StoredMetadata>,
    /// When the latest event was recorded, for [`append`]'s monotonic clock.
    pub last_recorded_at: Option<DateTime<Utc>>,
}

#[derive(FromRow)]
struct EventRow {
    version: i64,
    event_type: String,
    schema_version: i32,
    payload: serde_json::Value,
    metadata: sqlx::types::Json<StoredMetadata>,
    recorded_at: DateTime<Utc>,
}

impl EventRow {
    fn into_stored(self) -> Result<StoredEvent, StoreError> {
        Ok(StoredEvent {
            version: self.version,
            event: OrderStoreEvent::from_stored(
                &self.event_type,
                self.schema_version,
                self.payload,
            )?,
            metadata: self.metadata.0,
            recorded_at: self.recorded_at,
        })
    }
}

/// One row of [`load`]'s answer: the latest snapshot (first, if any), then the events
/// from the snapshot's own version on.
#[derive(FromRow)]
struct LoadRow {
    is_snapshot: bool,
    version: i64,
    event_type: String,
    schema_version: i32,
    payload: serde_json::Value,
    metadata: Option<sqlx::types::Json<StoredMetadata>>,
    recorded_at: Option<DateTime<Utc>>,
}

/// The current state: the latest readable snapshot plus the events after it, or a
/// full replay when there is no snapshot or it cannot be read. One statement on the
/// hot path; an unreadable snapshot costs a second.
pub async fn load(
    conn: &mut PgConnection,
    order_id: OrderId,
) -> Result<Option<Loaded>, StoreError> {
    let rows: Vec<LoadRow> = sqlx::query_as(
        "WITH snapshot AS (
             SELECT version, schema_version, state FROM order_snapshots
             WHERE order_id = $1 ORDER BY version DESC LIMIT 1)
         SELECT true AS is_snapshot, version, '' AS event_type, schema_version, state AS payload,
                NULL::jsonb AS metadata, NULL::timestamptz AS recorded_at
         FROM snapshot
         UNION ALL
         SELECT false, version, event_type, schema_version, payload, metadata, recorded_at
         FROM order_events
         WHERE order_id = $1 AND version >= coalesce((SELECT version FROM snapshot), 0)
         ORDER BY is_snapshot DESC, version",
    )
    .bind(order_id.0)
    .fetch_all(&mut *conn)
    .instrument(telemetry::db_span!(
        "SELECT",
        "order_events",
        summary = "SELECT order_snapshots order_events"
    ))
    .await?;
    let mut rows = rows.into_iter().peekable();
    let base = match rows.next_if(|row| row.is_snapshot) {
        None => None,
        Some(snapshot) => {
            let restored = (snapshot.schema_version == SNAPSHOT_SCHEMA)
                .then(|| serde_json::from_value::<Order>(snapshot.payload))
                .and_then(Result::ok)
                .filter(|order| order.version == snapshot.version);
            if restored.is_none() {
                tracing::warn!(%order_id, version = snapshot.version, "Unreadable snapshot; replaying every event instead.");
                return replay(conn, order_id).await;
            }
            restored
        }
    };
    let after = base.as_ref().map_or(0, |order| order.version);
    let events = rows
        .map(|row| {
            EventRow {
                version: row.version,
                event_type: row.event_type,
                schema_version: row.schema_version,
                payload: row.payload,
                metadata: row.metadata.ok_or(sqlx::Error::RowNotFound)?,
                recorded_at: row.recorded_at.ok_or(sqlx::Error::RowNotFound)?,
            }
            .into_stored()
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(fold_loaded(base, after, events))
}

/// [`load`] without a snapshot: every event folded.
async fn replay(conn: &mut PgConnection, order_id: OrderId) -> Result<Option<Loaded>, StoreError> {
    Ok(fold_loaded(None, 0, history(conn, order_id).await?))
}

/// Folds the events after version `after` onto `base`; the event at `after` (the
/// snapshot's) only gives the clock.
fn fold_loaded(base: Option<Order>, after: i64, events: Vec<StoredEvent>) -> Option<Loaded> {
    let mut state = base;
    let mut replayed = 0;
    let mut first = None;
    let mut last_recorded_at = None;
    for stored in events {
        last_recorded_at = Some(stored.recorded_at);
        if stored.version == 1 {
            first = Some(stored.metadata);
        }
        if stored.version > after {
            state = evolve(state, &stored.event);
            replayed += 1;
        }
    }
    state.map(|order| Loaded {
        order,
        replayed,
        first,
        last_recorded_at,
    })
}

/// Every event of an order, in order (for history, and for point-in-time reads).
pub async fn history(
    conn: &mut PgConnection,
    order_id: OrderId,
) -> Result<Vec<StoredEvent>, StoreError> {
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT version, event_type, schema_version, payload, metadata, recorded_at
         FROM order_events WHERE order_id = $1 ORDER BY version",
    )
    .bind(order_id.0)
    .fetch_all(&mut *conn)
    .instrument(telemetry::db_span!("SELECT", "order_events"))
    .await?;
    rows.into_iter().map(EventRow::into_stored).collect()
}

/// The state as of `at`: the fold of the events recorded at or before it; `None`
/// before the first event.
#[tracing::instrument(level = "debug", skip_all, fields(order.id = %order_id, at = %at))]
pub async fn load_at(
    conn: &mut PgConnection,
    order_id: OrderId,
    at: DateTime<Utc>,
) -> Result<Option<Order>, StoreError> {
    let events = history(conn, order_id).await?;
    Ok(events
        .iter()
        .take_while(|e| e.recorded_at <= at)
        .fold(None, |state, e| evolve(state, &e.event)))
}

/// Whether the order has any event.
pub async fn exists(conn: &mut PgConnection, order_id: OrderId) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM order_events WHERE order_id = $1 AND version = 1)",
    )
    .bind(order_id.0)
    .fetch_one(&mut *conn)
    .instrument(telemetry::db_span!("SELECT", "order_events"))
    .await?)
}

/// The first event's metadata (the saga's correlation and root trace context).
pub async fn first_metadata(
    conn: &mut PgConnection,
    order_id: OrderId,
) -> Result<Option<StoredMetadata>, StoreError> {
    let metadata: Option<sqlx::types::Json<StoredMetadata>> =
        sqlx::query_scalar("SELECT metadata FROM order_events WHERE order_id = $1 AND version = 1")
            .bind(order_id.0)
            .fetch_optional(&mut *conn)
            .instrument(telemetry::db_span!("SELECT", "order_events"))
            .await?;
    Ok(metadata.map(|m| m.0))
}

/// The `ce_id` of the order's latest *published* event: the causation of work started
/// by a request or a timer (DESIGN.md §3), so causation chains stay on the wire.
pub async fn latest_event_id(
    conn: &mut PgConnection,
    order_id: OrderId,
) -> Result<Option<Uuid>, StoreError> {
    let id: Option<String> = sqlx::query_scalar(
        "SELECT metadata->>'event_id' FROM order_events
         WHERE order_id = $1 AND event_type = ANY($2)
         ORDER BY version DESC LIMIT 1",
    )
    .bind(order_id.0)
    .bind(StoredType::published_names())
    .fetch_optional(&mut *conn)
    .instrument(telemetry::db_span!("SELECT", "order_events"))
    .await?;
    Ok(id.and_then(|id| Uuid::parse_str(&id).ok()))
}

/// Appends `events` after `expected_version` in the caller's transaction, returning
/// them as stored; `previous` is when the event at `expected_version` was recorded
/// (from the load). A concurrent writer that took the version first makes this a
/// [`StoreError::Conflict`]; the caller's transaction is then to be rolled back. One
/// database span for all the events.
pub async fn append(
    tx: &mut PgConnection,
    order_id: OrderId,
    expected_version: i64,
    events: &[(OrderStoreEvent, StoredMetadata)],
    now: DateTime<Utc>,
    previous: Option<DateTime<Utc>>,
) -> Result<Vec<StoredEvent>, StoreError> {
    async {
        let mut recorded_at = previous;
        let mut stored = Vec::with_capacity(events.len());
        for (offset, (event, metadata)) in events.iter().enumerate() {
            let version = expected_version + 1 + offset as i64;
            let at = next_recorded_at(now, recorded_at);
            recorded_at = Some(at);
            let inserted = sqlx::query(
                "INSERT INTO order_events (order_id, version, event_type, schema_version, payload, metadata, recorded_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(order_id.0)
            .bind(version)
            .bind(event.event_type())
            .bind(event.schema_version())
            .bind(event.payload())
            .bind(sqlx::types::Json(metadata))
            .bind(at)
            .execute(&mut *tx)
            .await;
            match inserted {
                Ok(_) => {}
                Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("23505") => {
                    return Err(StoreError::Conflict { order_id, version });
                }
                Err(err) => return Err(err.into()),
            }
            stored.push(StoredEvent {
                version,
                event: event.clone(),
                metadata: metadata.clone(),
                recorded_at: at,
            });
        }
        Ok(stored)
    }
    .instrument(telemetry::db_span!("INSERT", "order_events"))
    .await
}

/// Writes a snapshot of `order` (call when its version crossed a multiple of N).
pub async fn snapshot(tx: &mut PgConnection, order: &Order) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO order_snapshots (order_id, version, schema_version, state) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
    )
    .bind(order.order_id.0)
    .bind(order.version)
    .bind(SNAPSHOT_SCHEMA)
    .bind(serde_json::to_value(order).expect("an order serializes"))
    .execute(&mut *tx)
    .instrument(telemetry::db_span!("INSERT", "order_snapshots"))
    .await?;
    Ok(())
}

/// Microsecond precision (what PostgreSQL keeps), and strictly after the previous
/// event, so that a read at an event's time includes it and nothing after it.
pub fn next_recorded_at(now: DateTime<Utc>, previous: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let now = now
        .duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or(now);
    match previous {
        Some(previous) if previous >= now => previous + TimeDelta::microseconds(1),
        _ => now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_at_never_runs_backwards() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let later = t("2026-11-27T10:00:00.000005Z");
        assert_eq!(
            next_recorded_at(t("2026-11-27T10:00:00Z"), Some(later)),
            t("2026-11-27T10:00:00.000006Z")
        );
        assert_eq!(
            next_recorded_at(later, Some(later)),
            t("2026-11-27T10:00:00.000006Z")
        );
        assert_eq!(
            next_recorded_at(t("2026-11-27T10:00:01.0000019Z"), Some(later)),
            t("2026-11-27T10:00:01.000001Z")
        );
    }
}
