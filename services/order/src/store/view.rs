//! The `order_view` read model, upserted in the transaction of the events it reflects.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tracing::Instrument;
use uuid::Uuid;

use crate::domain::Order;

fn text<T: serde::Serialize>(value: &T) -> String {
    contracts::codec::json_name(value).unwrap_or_default()
}

/// The customer who placed order `order_id`, if it exists. A customer never changes
/// once an order is placed.
pub async fn customer_of(
    conn: &mut PgConnection,
    order_id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT customer_id FROM order_view WHERE order_id = $1")
        .bind(order_id)
        .fetch_optional(conn)
        .instrument(telemetry::db_span!("SELECT order_view"))
        .await
}

/// Writes `order` as the view of its order; returns when the order was created.
pub async fn upsert(
    tx: &mut PgConnection,
    order: &Order,
    correlation_id: Uuid,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO order_view (order_id, customer_id, status, cancel_reason, compensation, items, total_cents,
                                 currency, tracking_number, version, correlation_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
         ON CONFLICT (order_id) DO UPDATE SET
             status = EXCLUDED.status, cancel_reason = EXCLUDED.cancel_reason,
             compensation = EXCLUDED.compensation, tracking_number = EXCLUDED.tracking_number,
             version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
         RETURNING created_at",
    )
    .bind(order.order_id.0)
    .bind(&order.customer_id)
    .bind(text(&order.status))
    .bind(order.cancel_reason.as_ref().map(text))
    .bind(order.compensation.map(|c| serde_json::to_value(c).expect("plain data")))
    .bind(serde_json::to_value(&order.items).expect("plain data"))
    .bind(order.total_cents)
    .bind(order.currency.code())
    .bind(&order.tracking_number)
    .bind(order.version)
    .bind(correlation_id)
    .bind(now)
    .fetch_one(&mut *tx)
    .instrument(telemetry::db_span!("INSERT", "order_view"))
    .await
}
