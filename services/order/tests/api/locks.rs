//! Cancel and ship take the saga lock that the deadline and the consumers take first
//! (DESIGN.md §1), so every change to one order is serialised, whoever makes it.

use std::time::Duration;

use contracts::OrderId;
use order_service::app::Cause;
use order_service::domain::Command;
use test_support::TestDatabase;
use uuid::Uuid;

use crate::support::{settings, start};

#[tokio::test]
async fn cancel_and_ship_wait_for_the_saga_lock() -> anyhow::Result<()> {
    let database = TestDatabase::create("order_locks").await?;
    let app = start(&database, settings(Duration::from_secs(3600))).await?;
    let to_cancel = app.create_order().await?;
    let to_ship = app.create_order().await?;
    let service = app.service(Duration::from_secs(3600));
    let cause = Cause {
        causation_id: Some(Uuid::now_v7()),
        trace: Default::default(),
    };
    service
        .run(
            to_ship.parse::<OrderId>()?,
            Command::RecordStockReserved,
            &cause,
        )
        .await??;

    for (id, path, body, then) in [
        (&to_cancel, "cancel", serde_json::json!({}), "cancelled"),
        (
            &to_ship,
            "ship",
            serde_json::json!({"tracking_number": "T-1"}),
            "shipped",
        ),
    ] {
        // A consumer or the deadline holds the order's lock.
        let mut holder = app.pool.begin().await?;
        sqlx::query(
            "INSERT INTO order_saga_locks (order_id, status) VALUES ($1, 'new')
             ON CONFLICT (order_id) DO UPDATE SET order_id = EXCLUDED.order_id",
        )
        .bind(id.parse::<Uuid>()?)
        .execute(&mut *holder)
        .await?;
        let request = tokio::spawn({
            let client = reqwest::Client::new();
            let url = format!("{}/orders/{id}/{path}", app.base);
            async move { client.post(url).json(&body).send().await }
        });
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(!request.is_finished(), "{path} went past the saga lock");
        holder.commit().await?;
        let response = tokio::time::timeout(Duration::from_secs(10), request).await???;
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let body: serde_json::Value = response.json().await?;
        assert_eq!(body["status"], then, "{body}");
    }
    app.stop().await?;
    database.drop_database().await
}
