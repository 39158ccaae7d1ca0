//! An order named by either of its ids: the order id, or the saga's correlation id
//! (what the services' logs, traces and message headers carry). order-service's API
//! knows orders by order id only, so a correlation id is looked up in the order
//! service's read model (`order_view.correlation_id`), read-only, and only when the
//! API answers 404: a plain order id needs no database.

use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

/// Where a correlation id is looked up.
#[derive(Debug, Clone, Args)]
pub(crate) struct OrdersDb {
    /// order-service's database, read to find an order by its correlation id.
    #[arg(
        long,
        global = true,
        env = "ORDERS_DATABASE_URL",
        hide_env_values = true,
        default_value = "postgres://postgres@127.0.0.1:5432/orders"
    )]
    pub(crate) orders_db: String,
}

/// The order id of `id`, an order id or a correlation id. An id order-service knows is
/// returned as it is; an unknown one too, so the caller's request reports the 404.
pub(crate) async fn resolve(
    http: &reqwest::Client,
    order_url: &str,
    db: &OrdersDb,
    id: &str,
) -> anyhow::Result<String> {
    let response = http
        .get(format!("{}/orders/{id}", order_url.trim_end_matches('/')))
        .send()
        .await
        .context("order-service did not answer")?;
    let Ok(correlation) = Uuid::parse_str(id) else {
        return Ok(id.to_owned());
    };
    if response.status() != reqwest::StatusCode::NOT_FOUND {
        return Ok(id.to_owned());
    }
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(super::databases::options(&db.orders_db)?)
        .await
        .context(
            "no order has this id; looking it up as a correlation id needs order-service's \
             database (--orders-db or ORDERS_DATABASE_URL)",
        )?;
    let order = order_of_correlation(&pool, correlation).await?;
    pool.close().await;
    Ok(order.map_or_else(|| id.to_owned(), |o| o.to_string()))
}

/// The order whose saga has `correlation` as its correlation id.
async fn order_of_correlation(
    pool: &sqlx::PgPool,
    correlation: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT order_id FROM order_view WHERE correlation_id = $1 LIMIT 1")
        .bind(correlation)
        .fetch_optional(pool)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_correlation_id_leads_to_its_order_in_the_order_services_read_model()
    -> anyhow::Result<()> {
        let database = test_support::TestDatabase::create("sagactl_order_ref").await?;
        let pool = PgPoolOptions::new().connect(&database.url).await?;
        sqlx::migrate!("../../services/order/migrations")
            .run(&pool)
            .await?;
        let (order, correlation) = (Uuid::now_v7(), Uuid::now_v7());
        sqlx::query(
            "INSERT INTO order_view (order_id, customer_id, status, items, total_cents, currency,
                                     version, correlation_id, created_at, updated_at)
             VALUES ($1, 'c', 'pending', '[]', 0, 'EUR', 1, $2, now(), now())",
        )
        .bind(order)
        .bind(correlation)
        .execute(&pool)
        .await?;
        assert_eq!(order_of_correlation(&pool, correlation).await?, Some(order));
        assert_eq!(order_of_correlation(&pool, order).await?, None);
        assert_eq!(order_of_correlation(&pool, Uuid::now_v7()).await?, None);
        pool.close().await;
        database.drop_database().await
    }
}
