//! The invariants of DESIGN.md §1, read from the three databases: order by order, then
//! money and stock as a whole.

use std::collections::{BTreeMap, HashMap};

use contracts::LineItem;
use sqlx::{PgPool, types::Json};
use uuid::Uuid;

use super::Violation;

#[derive(sqlx::FromRow)]
struct OrderRow {
    order_id: Uuid,
    status: String,
    total_cents: i64,
    items: Json<Vec<LineItem>>,
}

/// The invariants, order by order, then money and stock as a whole.
pub(super) async fn check(
    orders: &PgPool,
    payments: &PgPool,
    inventory: &PgPool,
) -> anyhow::Result<Vec<Violation>> {
    let mut violations = Vec::new();
    let order_rows: Vec<OrderRow> =
        sqlx::query_as("SELECT order_id, status, total_cents, items FROM order_view")
            .fetch_all(orders)
            .await?;
    let payment_rows: HashMap<Uuid, String> =
        sqlx::query_as::<_, (Uuid, String)>("SELECT order_id, status FROM payments")
            .fetch_all(payments)
            .await?
            .into_iter()
            .collect();
    let money: HashMap<Uuid, (i64, i64, i64)> = sqlx::query_as::<_, (Uuid, i64, i64, i64)>(
        "SELECT order_id,
                coalesce(sum(amount_cents) FILTER (WHERE kind = 'charge'), 0)::int8,
                coalesce(sum(amount_cents) FILTER (WHERE kind = 'refund'), 0)::int8,
                count(*) FILTER (WHERE kind = 'charge')
         FROM ledger GROUP BY order_id",
    )
    .fetch_all(payments)
    .await?
    .into_iter()
    .map(|(order, charged, refunded, charges)| (order, (charged, refunded, charges)))
    .collect();
    let reservations: HashMap<Uuid, (String, Json<Vec<LineItem>>)> =
        sqlx::query_as::<_, (Uuid, String, Json<Vec<LineItem>>)>(
            "SELECT order_id, status, items FROM order_reservations",
        )
        .fetch_all(inventory)
        .await?
        .into_iter()
        .map(|(order, status, items)| (order, (status, items)))
        .collect();

    let mut known = std::collections::HashSet::new();
    for order in &order_rows {
        known.insert(order.order_id);
        let mut violated = |what: String| {
            violations.push(Violation {
                order: Some(order.order_id),
                what,
            })
        };
        let (charged, refunded, charges) = money.get(&order.order_id).copied().unwrap_or_default();
        let reservation = reservations
            .get(&order.order_id)
            .map(|(s, items)| (s.as_str(), &items.0));
        let payment = payment_rows.get(&order.order_id).map(String::as_str);
        match order.status.as_str() {
            "pending" => violated("still pending".into()),
            status @ ("confirmed" | "shipped") => {
                if charges != 1
                    || charged != order.total_cents
                    || refunded != 0
                    || payment != Some("captured")
                {
                    violated(format!(
                        "{status} but captured {charged} in {charges} charge(s), refunded {refunded}, payment {payment:?} (total {})",
                        order.total_cents
                    ));
                }
                let held = if status == "shipped" {
                    "shipped"
                } else {
                    "reserved"
                };
                match reservation {
                    Some((s, items)) if s == held && same_lines(items, &order.items.0) => {}
                    other => violated(format!(
                        "{status} but its stock is {:?}",
                        other.map(|(s, _)| s)
                    )),
                }
            }
            "cancelled" => {
                if charged != refunded {
                    violated(format!(
                        "cancelled but net money moved: charged {charged}, refunded {refunded}"
                    ));
                }
                if let Some((s @ ("reserved" | "shipped"), _)) = reservation {
                    violated(format!("cancelled but stock is {s}"));
                }
            }
            other => violated(format!("unknown status {other}")),
        }
    }
    for (order, (charged, refunded, _)) in &money {
        if !known.contains(order) && charged != refunded {
            violations.push(Violation {
                order: Some(*order),
                what: format!("money held ({charged} charged, {refunded} refunded) for an order the order service does not know"),
            });
        }
    }
    for (order, (status, _)) in &reservations {
        if !known.contains(order) && matches!(status.as_str(), "reserved" | "shipped") {
            violations.push(Violation {
                order: Some(*order),
                what: format!("stock {status} for an order the order service does not know"),
            });
        }
    }
    violations.extend(money_conserved(payments).await?);
    violations.extend(stock_conserved(inventory, &reservations).await?);
    Ok(violations)
}

fn same_lines(a: &[LineItem], b: &[LineItem]) -> bool {
    let key = |items: &[LineItem]| {
        let mut lines: Vec<(String, u32)> =
            items.iter().map(|l| (l.sku.clone(), l.quantity)).collect();
        lines.sort();
        lines
    };
    key(a) == key(b)
}

/// opening − charges + refunds = balance, for every account.
async fn money_conserved(payments: &PgPool) -> anyhow::Result<Vec<Violation>> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT a.customer_id, a.balance_cents,
                (a.opening_balance_cents
                 - coalesce(sum(l.amount_cents) FILTER (WHERE l.kind = 'charge'), 0)
                 + coalesce(sum(l.amount_cents) FILTER (WHERE l.kind = 'refund'), 0))::int8
         FROM accounts a LEFT JOIN ledger l USING (customer_id)
         GROUP BY a.customer_id, a.balance_cents, a.opening_balance_cents",
    )
    .fetch_all(payments)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, balance, expected)| balance != expected)
        .map(|(customer, balance, expected)| Violation {
            order: None,
            what: format!(
                "money not conserved for {customer}: balance {balance}, ledger says {expected}"
            ),
        })
        .collect())
}

/// available + reserved + shipped = opening + restocks, and what is reserved and
/// shipped is what reservations say, for every SKU.
async fn stock_conserved(
    inventory: &PgPool,
    reservations: &HashMap<Uuid, (String, Json<Vec<LineItem>>)>,
) -> anyhow::Result<Vec<Violation>> {
    let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT s.sku, s.available, s.reserved, s.shipped,
                (s.opening + coalesce((SELECT sum(quantity) FROM stock_movements m
                                       WHERE m.sku = s.sku AND m.kind = 'restock'), 0))::int8
         FROM stock s",
    )
    .fetch_all(inventory)
    .await?;
    let mut held: BTreeMap<(String, &str), i64> = BTreeMap::new();
    for (status, items) in reservations.values() {
        if matches!(status.as_str(), "reserved" | "shipped") {
            let column = if status == "reserved" {
                "reserved"
            } else {
                "shipped"
            };
            for line in &items.0 {
                *held.entry((line.sku.clone(), column)).or_default() += i64::from(line.quantity);
            }
        }
    }
    let mut violations = Vec::new();
    for (sku, available, reserved, shipped, expected) in rows {
        if available + reserved + shipped != expected {
            violations.push(Violation {
                order: None,
                what: format!(
                    "stock of {sku} not conserved: {available}+{reserved}+{shipped} != {expected}"
                ),
            });
        }
        for (column, value) in [("reserved", reserved), ("shipped", shipped)] {
            let expected = held.get(&(sku.clone(), column)).copied().unwrap_or(0);
            if value != expected {
                violations.push(Violation {
                    order: None,
                    what: format!("{sku}: {value} {column} but reservations say {expected}"),
                });
            }
        }
    }
    Ok(violations)
}
