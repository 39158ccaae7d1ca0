//! The saga deadline is durable: an order left pending is cancelled at its deadline even
//! when the service restarted in between. Time is the service's `Clock`, moved by the
//! test: a deadline of an hour passes without waiting for it.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use order_service::OrderSettings;
use order_service::app::Clock;
use test_support::TestDatabase;

use crate::support::{settings, start};

const DEADLINE: Duration = Duration::from_secs(3600);

fn with_clock(clock: &Clock) -> OrderSettings {
    OrderSettings {
        clock: clock.clone(),
        ..settings(DEADLINE)
    }
}

#[tokio::test]
async fn the_deadline_fires_for_an_order_left_pending_across_a_restart() -> anyhow::Result<()> {
    let database = TestDatabase::create("order_deadline").await?;
    let clock = Clock::manual(Utc::now());
    let app = start(&database, with_clock(&clock)).await?;
    let id = app.create_order().await?;

    // A second short of the deadline, the deadline loop (every half second) leaves it be.
    clock.advance(TimeDelta::from_std(DEADLINE)? - TimeDelta::seconds(1));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, state) = app.get(&format!("/orders/{id}")).await?;
    assert_eq!(
        state["status"], "pending",
        "cancelled before its deadline: {state}"
    );
    app.stop().await?;

    // The service is down when the deadline passes; a new one picks the deadline up.
    clock.advance(TimeDelta::seconds(2));
    let app = start(&database, with_clock(&clock)).await?;
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
