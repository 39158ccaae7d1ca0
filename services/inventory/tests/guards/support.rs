//! An inventory service of its own (fresh database, topics and group, port 0), a way to
//! send it events as order would, and a reader of its DLQ.

use std::ops::Deref;

use contracts::{Currency, LineItem, OrderId, PaymentEvent};
pub use test_support::harness::Dead;
use test_support::harness::Harness;
use uuid::Uuid;

pub struct Inventory(Harness);

impl Deref for Inventory {
    type Target = Harness;

    fn deref(&self) -> &Harness {
        &self.0
    }
}

impl Inventory {
    pub async fn start(label: &str) -> anyhow::Result<Self> {
        let harness =
            Harness::start(label, &inventory_service::SPEC, inventory_service::build).await?;
        Ok(Self(harness))
    }

    /// The order's status in `order_reservations`, once it is other than `new`.
    pub async fn status_of(&self, order: OrderId) -> anyhow::Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT status FROM order_reservations WHERE order_id = $1 AND status <> 'new'",
        )
        .bind(order.0)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Waits until the order's row in `order_reservations` leaves `new`, for up to 30 s.
    pub async fn settled(&self, order: OrderId) -> anyhow::Result<String> {
        self.await_row(
            "SELECT status FROM order_reservations WHERE order_id = $1 AND status <> 'new'",
            order.0,
        )
        .await
    }

    /// `(available, reserved)` of a SKU.
    pub async fn stock(&self, sku: &str) -> anyhow::Result<(i64, i64)> {
        Ok(
            sqlx::query_as("SELECT available, reserved FROM stock WHERE sku = $1")
                .bind(sku)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub async fn movements(&self, order: OrderId) -> anyhow::Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM stock_movements WHERE order_id = $1")
                .bind(order.0)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.0.stop().await
    }
}

pub fn line(sku: &str, quantity: u32, unit_price_cents: i64) -> LineItem {
    LineItem {
        sku: sku.to_owned(),
        quantity,
        unit_price_cents,
    }
}

/// A `PaymentCompleted` for `c-rich` with these lines, its amount their total.
pub fn paid(order_id: OrderId, items: Vec<LineItem>) -> PaymentEvent {
    let amount_cents = items
        .iter()
        .map(|l| l.unit_price_cents * i64::from(l.quantity))
        .sum();
    PaymentEvent::Completed(contracts::events::PaymentCompleted {
        order_id,
        payment_id: Uuid::now_v7(),
        customer_id: "c-rich".into(),
        amount_cents,
        currency: Currency::Eur,
        items,
    })
}
