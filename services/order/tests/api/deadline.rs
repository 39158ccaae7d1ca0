//! The saga deadline is durable: an order left pending is cancelled at its deadline even
//! when the service restarted in between.

use std::time::Duration;

use test_support::TestDatabase;

use crate::support::{settings, start};

#[tokio::test]
async fn the_deadline_fires_for_an_order_left_pending_across_a_restart() -> anyhow::Result<()> {
    let database = TestDatabase::create("order_deadline").await?;
    let deadline = Duration::from_secs(3);
    let app = start(&database, settings(deadline)).await?;
    let id = app.create_order().await?;
    app.stop().await?;

    // The service is down when the deadline passes; a new one picks the deadline up.
    tokio::time::sleep(deadline + Duration::from_millis(500)).await;
    let app = start(&database, settings(deadline)).await?;
    let mut state = serde_json::Value::Null;
    for _ in 0..40 {
        state = app.get(&format!("/orders/{id}")).await?.1;
        if state["status"] == "cancelled" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(state["status"], "cancelled", "{state}");
    assert_eq!(state["cancel_reason"], "deadline");
    assert_eq!(state["compensation"]["payment"], "pending");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM saga_deadlines")
        .fetch_one(&app.pool)
        .await?;
    assert_eq!(left, 0, "the deadline row went with the pending state");
    app.stop().await?;
    database.drop_database().await
}
