//! inventory's tables: the per-order reservation row, stock and movements.
//!
//! A row that breaks the service's invariants (a status nobody writes, a stock row
//! that is gone) is never guessed at: it is a
//! [`StoreError::Corrupt`], counted and logged, and the message goes to the DLQ.

use std::collections::BTreeMap;

use contracts::{LineItem, OrderId};
use sqlx::PgConnection;
use tracing::Instrument;
use uuid::Uuid;

use crate::domain::{Decision, Reservation, ReservationStatus};

pub use messaging::error::StateError as StoreError;

/// Counts and logs a corrupt row of `table`; an operator must repair it.
fn corrupt(table: &'static str, order_id: OrderId, problem: String) -> StoreError {
    StoreError::corrupt(table, order_id, problem)
}

/// The per-order state rows, which the consumer runtime creates and locks first in
/// every handler's transaction (DESIGN.md §1).
pub const STATE_TABLE: &str = "order_reservations";

pub async fn reservation(
    tx: &mut PgConnection,
    order_id: OrderId,
) -> Result<Reservation, StoreError> {
    let (status, items): (String, sqlx::types::Json<Vec<LineItem>>) =
        sqlx::query_as("SELECT status, items FROM order_reservations WHERE order_id = $1")
            .bind(order_id.0)
            .fetch_one(&mut *tx)
            .instrument(telemetry::db_span!("SELECT", "order_reservations"))
            .await?;
    let Some(status) = ReservationStatus::parse(&status) else {
        let problem = format!("unknown order_reservations.status {status:?}");
        return Err(corrupt(STATE_TABLE, order_id, problem));
    };
    Ok(Reservation {
        status,
        items: items.0,
    })
}

/// Locks the stock rows of `skus` in sorted order (so two orders never wait on each
/// other in a cycle) and returns what is available; `None` for an unknown SKU.
pub async fn lock_stock(
    tx: &mut PgConnection,
    skus: &[String],
) -> Result<BTreeMap<String, Option<i64>>, sqlx::Error> {
    let mut sorted = skus.to_vec();
    sorted.sort();
    sorted.dedup();
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT sku, available FROM stock WHERE sku = ANY($1) ORDER BY sku FOR UPDATE",
    )
    .bind(&sorted)
    .fetch_all(&mut *tx)
    .instrument(telemetry::db_span!("SELECT", "stock"))
    .await?;
    let mut levels: BTreeMap<String, Option<i64>> = sorted.into_iter().map(|s| (s, None)).collect();
    for (sku, available) in rows {
        levels.insert(sku, Some(available));
    }
    Ok(levels)
}

/// Carries out a decision: stock, movements, the reservation row, a database span for
/// the stock and movements together and one for the row.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn apply(
    tx: &mut PgConnection,
    order_id: OrderId,
    decision: &Decision,
) -> Result<(), StoreError> {
    match decision {
        Decision::Nothing => {}
        Decision::Reserve {
            reservation_id,
            items,
            ..
        } => {
            move_stock(tx, order_id, items, Movement::Reserve).await?;
            set_reservation(
                tx,
                order_id,
                ReservationStatus::Reserved,
                Some(*reservation_id),
                Some(items),
            )
            .await?;
        }
        Decision::Fail { .. } => {
            set_reservation(tx, order_id, ReservationStatus::Failed, None, None).await?
        }
        Decision::Release { items, .. } => {
            move_stock(tx, order_id, items, Movement::Release).await?;
            set_reservation(tx, order_id, ReservationStatus::Released, None, None).await?;
        }
        Decision::RememberCancellation { .. } => {
            set_reservation(
                tx,
                order_id,
                ReservationStatus::CancelledBeforeReserve,
                None,
                None,
            )
            .await?;
        }
        Decision::Ship { items } => {
            move_stock(tx, order_id, items, Movement::Ship).await?;
            set_reservation(tx, order_id, ReservationStatus::Shipped, None, None).await?;
        }
    }
    Ok(())
}

async fn set_reservation(
    tx: &mut PgConnection,
    order_id: OrderId,
    status: ReservationStatus,
    reservation_id: Option<Uuid>,
    items: Option<&Vec<LineItem>>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE order_reservations SET status = $2, reservation_id = coalesce($3, reservation_id),
                items = coalesce($4, items), updated_at = now() WHERE order_id = $1",
    )
    .bind(order_id.0)
    .bind(status.as_str())
    .bind(reservation_id)
    .bind(items.map(sqlx::types::Json))
    .execute(&mut *tx)
    .instrument(telemetry::db_span!("UPDATE", "order_reservations"))
    .await?;
    Ok(())
}

/// Which columns a movement shifts a line between.
#[derive(Debug, Clone, Copy)]
enum Movement {
    Reserve,
    Release,
    Ship,
}

impl Movement {
    fn kind(self) -> &'static str {
        match self {
            Movement::Reserve => "reserve",
            Movement::Release => "release",
            Movement::Ship => "ship",
        }
    }

    fn statement(self) -> &'static str {
        match self {
            Movement::Reserve => {
                "UPDATE stock SET available = available - $2, reserved = reserved + $2 WHERE sku = $1"
            }
            Movement::Release => {
                "UPDATE stock SET available = available + $2, reserved = reserved - $2 WHERE sku = $1"
            }
            Movement::Ship => {
                "UPDATE stock SET reserved = reserved - $2, shipped = shipped + $2 WHERE sku = $1"
            }
        }
    }
}

/// Moves each line between columns, in SKU order, and writes a movement per line, in
/// one database span for all the lines; a SKU without its stock row moves nothing, so
/// it writes no movement either.
async fn move_stock(
    tx: &mut PgConnection,
    order_id: OrderId,
    items: &[LineItem],
    movement: Movement,
) -> Result<(), StoreError> {
    let span = telemetry::db_span!(
        "UPDATE",
        "stock",
        summary = "UPDATE stock INSERT stock_movements"
    );
    move_lines(tx, order_id, items, movement)
        .instrument(span)
        .await
}

async fn move_lines(
    tx: &mut PgConnection,
    order_id: OrderId,
    items: &[LineItem],
    movement: Movement,
) -> Result<(), StoreError> {
    let statement = movement.statement();
    let kind = movement.kind();
    let mut lines = items.to_vec();
    lines.sort_by(|a, b| a.sku.cmp(&b.sku));
    for line in &lines {
        let moved = sqlx::query(statement)
            .bind(&line.sku)
            .bind(i64::from(line.quantity))
            .execute(&mut *tx)
            .await?;
        if moved.rows_affected() != 1 {
            let problem = format!("no stock row {:?} to {kind}", line.sku);
            return Err(corrupt("stock", order_id, problem));
        }
        sqlx::query(
            "INSERT INTO stock_movements (sku, order_id, kind, quantity) VALUES ($1, $2, $3, $4)",
        )
        .bind(&line.sku)
        .bind(order_id.0)
        .bind(kind)
        .bind(i64::from(line.quantity))
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
