//! Point-in-time reads, the history, snapshots that cannot be read, and upcasting.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use contracts::OrderId;
use order_service::app::Cause;
use order_service::domain::Command;
use order_service::store::event_store;
use serde_json::json;
use test_support::TestDatabase;
use uuid::Uuid;

use crate::support::{settings, start};

#[tokio::test]
async fn a_read_at_an_events_time_includes_it_and_nothing_after_and_before_the_first_is_404()
-> anyhow::Result<()> {
    let database = TestDatabase::create("order_at").await?;
    let app = start(&database, settings(Duration::from_secs(30))).await?;
    let id = app.create_order().await?;
    let order: OrderId = id.parse()?;
    let service = app.service(Duration::from_secs(30));
    let cause = Cause {
        causation_id: Some(Uuid::now_v7()),
        trace: Default::default(),
    };
    service
        .run(order, Command::RecordStockReserved, &cause)
        .await??;
    service
        .run(
            order,
            Command::Ship {
                tracking_number: "TRK-9".into(),
            },
            &cause,
        )
        .await??;

    let (status, history) = app.get(&format!("/orders/{id}/events")).await?;
    assert_eq!(status, 200);
    let history = history.as_array().unwrap().clone();
    let types: Vec<&str> = history
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["order.created", "order.confirmed", "order.shipped"]);
    let times: Vec<DateTime<Utc>> = history
        .iter()
        .map(|e| e["recorded_at"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] < w[1]),
        "recorded_at runs forwards: {times:?}"
    );

    for (index, at) in times.iter().enumerate() {
        let (status, state) = app
            .get(&format!("/orders/{id}?at={}", at.to_rfc3339()))
            .await?;
        assert_eq!(status, 200);
        assert_eq!(
            state["version"],
            json!(index + 1),
            "at {at} the order has exactly the events up to it"
        );
    }
    let just_before_second = times[1] - TimeDelta::microseconds(1);
    let (_, state) = app
        .get(&format!(
            "/orders/{id}?at={}",
            just_before_second.to_rfc3339()
        ))
        .await?;
    assert_eq!(state["status"], "pending");
    let before_first = times[0] - TimeDelta::microseconds(1);
    let (status, _) = app
        .get(&format!("/orders/{id}?at={}", before_first.to_rfc3339()))
        .await?;
    assert_eq!(status, 404);
    let (_, now) = app.get(&format!("/orders/{id}")).await?;
    assert_eq!(now["status"], "shipped");
    assert_eq!(now["tracking_number"], "TRK-9");
    app.stop().await?;
    database.drop_database().await
}

#[tokio::test]
async fn snapshots_give_the_same_state_and_an_unreadable_one_falls_back_to_replay()
-> anyhow::Result<()> {
    let database = TestDatabase::create("order_snap").await?;
    let app = start(&database, settings(Duration::from_secs(30))).await?;
    let order: OrderId = app.create_order().await?.parse()?;
    let service = app.service(Duration::from_secs(30));
    let cause = Cause {
        causation_id: Some(Uuid::now_v7()),
        trace: Default::default(),
    };
    service
        .run(order, Command::RecordStockReserved, &cause)
        .await??;
    service.run(order, Command::Cancel, &cause).await??;
    service
        .run(
            order,
            Command::RecordRefund {
                payment_id: None,
                amount_cents: 0,
            },
            &cause,
        )
        .await??;

    let snapshots: i64 =
        sqlx::query_scalar("SELECT count(*) FROM order_snapshots WHERE order_id = $1")
            .bind(order.0)
            .fetch_one(&app.pool)
            .await?;
    assert_eq!(snapshots, 2, "a snapshot every 2 events");
    let mut conn = app.pool.acquire().await?;
    let with_snapshot = event_store::load(&mut conn, order).await?.unwrap();
    assert_eq!(
        with_snapshot.replayed, 0,
        "the latest snapshot is the current version"
    );
    let replayed = event_store::history(&mut conn, order).await?;
    let from_events = replayed
        .iter()
        .fold(None, |s, e| order_service::domain::evolve(s, &e.event))
        .unwrap();
    assert_eq!(with_snapshot.order, from_events);

    sqlx::query("UPDATE order_snapshots SET state = '{\"garbage\": true}' WHERE order_id = $1")
        .bind(order.0)
        .execute(&mut *conn)
        .await?;
    let fallback = event_store::load(&mut conn, order).await?.unwrap();
    assert_eq!(
        fallback.replayed, 4,
        "an unreadable snapshot means a full replay"
    );
    assert_eq!(fallback.order, from_events);
    drop(conn);
    app.stop().await?;
    database.drop_database().await
}

#[tokio::test]
async fn a_v1_event_in_the_store_is_read_as_v2() -> anyhow::Result<()> {
    let database = TestDatabase::create("order_upcast").await?;
    let app = start(&database, settings(Duration::from_secs(30))).await?;
    let order = Uuid::now_v7();
    let v1 = json!({
        "order_id": order,
        "customer_id": "c-legacy",
        "items": [{"sku": "sku-widget", "quantity": 1, "unit_price_cents": 100}],
        "total_cents": 100
    });
    let metadata = json!({"event_id": Uuid::now_v7(), "correlation_id": Uuid::now_v7(), "causation_id": Uuid::now_v7()});
    sqlx::query(
        "INSERT INTO order_events (order_id, version, event_type, schema_version, payload, metadata, recorded_at)
         VALUES ($1, 1, 'order.created', 1, $2, $3, now())",
    )
    .bind(order)
    .bind(v1)
    .bind(metadata)
    .execute(&app.pool)
    .await?;
    let (status, state) = app.get(&format!("/orders/{order}")).await?;
    assert_eq!(status, 200, "{state}");
    assert_eq!(
        state["currency"], "EUR",
        "upcast from v1 added the implied currency"
    );
    assert_eq!(state["status"], "pending");
    app.stop().await?;
    database.drop_database().await
}
