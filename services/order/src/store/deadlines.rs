//! Durable saga deadlines: a row per pending order, deleted in the transaction that
//! ends the pending state, so a restart loses none.

use chrono::{DateTime, Utc};
use contracts::OrderId;
use sqlx::{PgConnection, PgPool};
use tracing::Instrument;

/// Schedules the saga's deadline, in the transaction that creates the order.
pub async fn schedule(
    tx: &mut PgConnection,
    order_id: OrderId,
    due_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO saga_deadlines (order_id, due_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(order_id.0)
    .bind(due_at)
    .execute(&mut *tx)
    .instrument(telemetry::db_span!("INSERT", "saga_deadlines"))
    .await?;
    Ok(())
}

/// Settles the saga's deadline, in the transaction that ends its pending state.
pub async fn clear(tx: &mut PgConnection, order_id: OrderId) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM saga_deadlines WHERE order_id = $1")
        .bind(order_id.0)
        .execute(&mut *tx)
        .instrument(telemetry::db_span!("DELETE", "saga_deadlines"))
        .await?;
    Ok(())
}

/// Moves a deadline whose expiry failed to `due_at`, the next attempt, so the orders
/// due behind it go first. A deadline settled meanwhile stays settled.
#[tracing::instrument(level = "debug", skip_all, fields(order.id = %order_id, due_at = %due_at))]
pub async fn postpone(
    pool: &PgPool,
    order_id: OrderId,
    due_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE saga_deadlines SET due_at = $2 WHERE order_id = $1")
        .bind(order_id.0)
        .bind(due_at)
        .execute(pool)
        .await?;
    Ok(())
}

/// Orders whose deadline has passed, oldest first.
#[tracing::instrument(level = "debug", skip_all, fields(limit))]
pub async fn due(
    pool: &PgPool,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<OrderId>, sqlx::Error> {
    let ids: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT order_id FROM saga_deadlines WHERE due_at <= $1 ORDER BY due_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(ids.into_iter().map(OrderId).collect())
}

/// The pending sagas: how many, how old the oldest is, and when the next deadline is due.
#[derive(Debug, Clone, Copy)]
pub struct Pending {
    pub count: i64,
    pub oldest_age_seconds: f64,
    pub next_due: Option<DateTime<Utc>>,
}

/// The pending sagas, in one statement.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn pending(pool: &PgPool, now: DateTime<Utc>) -> Result<Pending, sqlx::Error> {
    let (count, oldest, next_due): (i64, Option<DateTime<Utc>>, Option<DateTime<Utc>>) =
        sqlx::query_as(
            "SELECT count(*), min(v.created_at), min(d.due_at)
             FROM saga_deadlines d LEFT JOIN order_view v USING (order_id)",
        )
        .fetch_one(pool)
        .await?;
    Ok(Pending {
        count,
        oldest_age_seconds: oldest.map_or(0.0, |t| (now - t).num_milliseconds() as f64 / 1000.0),
        next_due,
    })
}
