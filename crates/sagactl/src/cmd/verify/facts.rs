//! The facts that `invariants::check` judges, read from the three databases.

use contracts::LineItem;
use invariants::{Account, Facts, LedgerEntry, Line, Movement, Order, Reservation, Stock};
use sqlx::{PgPool, types::Json};
use uuid::Uuid;

/// Every invariant of DESIGN.md §1, over what the databases hold now.
pub(super) async fn check(
    orders: &PgPool,
    payments: &PgPool,
    inventory: &PgPool,
) -> anyhow::Result<Vec<invariants::Violation>> {
    Ok(invariants::check(
        &facts(orders, payments, inventory).await?,
    ))
}

async fn facts(orders: &PgPool, payments: &PgPool, inventory: &PgPool) -> anyhow::Result<Facts> {
    let orders = sqlx::query_as::<_, (Uuid, String, i64, Json<Vec<LineItem>>, bool)>(
        "SELECT order_id, status, total_cents, items,
                coalesce(compensation->>'payment' <> 'pending'
                         AND compensation->>'stock' <> 'pending', false)
         FROM order_view",
    )
    .fetch_all(orders)
    .await?
    .into_iter()
    .map(|(id, status, total_cents, items, compensated)| Order {
        id,
        status,
        total_cents,
        lines: lines(&items),
        compensated,
    })
    .collect();
    let payment_statuses =
        sqlx::query_as::<_, (Uuid, String)>("SELECT order_id, status FROM payments")
            .fetch_all(payments)
            .await?
            .into_iter()
            .collect();
    let ledger = sqlx::query_as::<_, (Uuid, String, String, i64)>(
        "SELECT order_id, customer_id, kind, amount_cents FROM ledger",
    )
    .fetch_all(payments)
    .await?
    .into_iter()
    .map(|(order, customer, kind, amount_cents)| {
        let movement = match kind.as_str() {
            "charge" => Movement::Charge,
            "refund" => Movement::Refund,
            other => anyhow::bail!("ledger row of order {order} has an unknown kind {other}"),
        };
        Ok(LedgerEntry {
            order,
            customer,
            movement,
            amount_cents,
        })
    })
    .collect::<anyhow::Result<_>>()?;
    let reservations = sqlx::query_as::<_, (Uuid, String, Json<Vec<LineItem>>)>(
        "SELECT order_id, status, items FROM order_reservations",
    )
    .fetch_all(inventory)
    .await?
    .into_iter()
    .map(|(order, status, items)| {
        let lines = lines(&items);
        (order, Reservation { status, lines })
    })
    .collect();
    let accounts = sqlx::query_as::<_, (String, i64, i64)>(
        "SELECT customer_id, opening_balance_cents, balance_cents FROM accounts",
    )
    .fetch_all(payments)
    .await?
    .into_iter()
    .map(|(customer, opening_cents, balance_cents)| Account {
        customer,
        opening_cents,
        balance_cents,
    })
    .collect();
    let stock = sqlx::query_as::<_, (String, i64, i64, i64, i64)>(
        "SELECT s.sku,
                (s.opening + coalesce((SELECT sum(quantity) FROM stock_movements m
                                       WHERE m.sku = s.sku AND m.kind = 'restock'), 0))::int8,
                s.available, s.reserved, s.shipped
         FROM stock s",
    )
    .fetch_all(inventory)
    .await?
    .into_iter()
    .map(|(sku, supplied, available, reserved, shipped)| Stock {
        sku,
        supplied,
        available,
        reserved,
        shipped,
    })
    .collect();
    Ok(Facts {
        orders,
        payments: payment_statuses,
        ledger,
        reservations,
        accounts,
        stock,
    })
}

fn lines(items: &[LineItem]) -> Vec<Line> {
    items.iter().map(Line::from).collect()
}
