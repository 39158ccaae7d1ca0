//! The order service's own retention rules: idempotency keys expire, and lock rows of
//! orders that do not exist (created by events for unknown orders) do not pile up.

use std::time::Duration;

use order_service::store::{idempotency, saga_lock};
use test_support::TestDatabase;
use uuid::Uuid;

use crate::support::{settings, start};

#[tokio::test]
async fn old_idempotency_keys_and_lock_rows_of_unknown_orders_are_pruned() -> anyhow::Result<()> {
    let database = TestDatabase::create("order_retention").await?;
    let app = start(&database, settings(Duration::from_secs(30))).await?;
    let order = app.create_order().await?;
    let order: Uuid = order.parse()?;
    sqlx::query(
        "INSERT INTO idempotency_keys (key, request_hash, order_id, created_at) VALUES
         ('old', '\\x00', $1, now() - interval '2 days'), ('young', '\\x00', $1, now())",
    )
    .bind(order)
    .execute(&app.pool)
    .await?;
    let unknown = Uuid::now_v7();
    sqlx::query("INSERT INTO order_saga_locks (order_id, status) VALUES ($1, 'new'), ($2, 'new')")
        .bind(unknown)
        .bind(order)
        .execute(&app.pool)
        .await?;

    let keys = idempotency::retention(Duration::from_secs(24 * 3600));
    assert_eq!(keys.prune(&app.pool).await?, 1);
    let left: Vec<String> = sqlx::query_scalar("SELECT key FROM idempotency_keys")
        .fetch_all(&app.pool)
        .await?;
    assert_eq!(left, ["young"]);

    assert_eq!(saga_lock::retention().prune(&app.pool).await?, 1);
    let locks: Vec<Uuid> = sqlx::query_scalar("SELECT order_id FROM order_saga_locks")
        .fetch_all(&app.pool)
        .await?;
    assert_eq!(locks, [order], "the lock of an existing order stays");

    app.stop().await?;
    database.drop_database().await
}
