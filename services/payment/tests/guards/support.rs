//! A payment service of its own (fresh database, topics and group, port 0), a way to
//! send it events as order would, and a reader of its DLQ.

use std::ops::Deref;

use contracts::{Currency, LineItem, OrderEvent, OrderId};
pub use test_support::harness::Dead;
use test_support::harness::Harness;

pub struct Payment(Harness);

impl Deref for Payment {
    type Target = Harness;

    fn deref(&self) -> &Harness {
        &self.0
    }
}

impl Payment {
    pub async fn start(label: &str) -> anyhow::Result<Self> {
        let harness = Harness::start(label, &payment_service::SPEC, payment_service::build).await?;
        Ok(Self(harness))
    }

    /// The order's status in `payments`, once it is other than `new`.
    pub async fn status_of(&self, order: OrderId) -> anyhow::Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT status FROM payments WHERE order_id = $1 AND status <> 'new'",
        )
        .bind(order.0)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Waits until the order's row in `payments` leaves `new`, for up to 30 s.
    pub async fn settled(&self, order: OrderId) -> anyhow::Result<String> {
        self.await_row(
            "SELECT status FROM payments WHERE order_id = $1 AND status <> 'new'",
            order.0,
        )
        .await
    }

    pub async fn balance(&self, customer: &str) -> anyhow::Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT balance_cents FROM accounts WHERE customer_id = $1")
                .bind(customer)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub async fn ledger_lines(&self, order: OrderId) -> anyhow::Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM ledger WHERE order_id = $1")
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

/// An `OrderCreated` for `c-rich` with these lines and this stated total.
pub fn order_created(order_id: OrderId, items: Vec<LineItem>, total_cents: i64) -> OrderEvent {
    OrderEvent::Created(contracts::events::OrderCreated {
        order_id,
        customer_id: "c-rich".into(),
        items,
        total_cents,
        currency: Currency::Eur,
    })
}
