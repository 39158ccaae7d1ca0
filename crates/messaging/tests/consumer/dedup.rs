//! The idempotent consumer: an effect once per event, whatever the delivery count.

use contracts::OrderId;
use contracts::events::TopicEvent;
use messaging::headers::event_headers;
use outbox::{OutboxRecord, Relay, RelayConfig, RelayStep, Wakeup, enqueue};

use crate::support::{Fixture, TestHandler, metadata_for, order_created, until};

#[tokio::test]
async fn the_same_event_delivered_twice_has_its_effect_once() -> anyhow::Result<()> {
    let fixture = Fixture::new("dedup_twice", 3).await?;
    let (handler, _) = TestHandler::new();
    let order = OrderId::new();
    let event = order_created(order);
    let metadata = metadata_for(&event);
    for _ in 0..2 {
        let headers = event_headers(&metadata, &opentelemetry::Context::new());
        fixture
            .send(&event.encode(), &order.to_string(), headers)
            .await?;
    }
    let other = OrderId::new();
    fixture.send_created(other).await?;

    let running = fixture.start(fixture.config(), handler.clone())?;
    until(30, "the other order is applied", async || {
        Ok(fixture.effects(other).await? == 1)
    })
    .await?;
    until(30, "the duplicated order is applied", async || {
        Ok(fixture.effects(order).await? == 1)
    })
    .await?;
    running.stop().await?;
    assert_eq!(
        fixture.effects(order).await?,
        1,
        "a duplicate applied twice"
    );
    assert_eq!(
        handler.attempts(order),
        1,
        "the duplicate reached the handler"
    );
    fixture.finish().await
}

/// Every row of `fixture`'s outbox, published by a relay configured as given.
async fn relay_all(fixture: &Fixture, config: RelayConfig) -> anyhow::Result<()> {
    let mut relay = Relay::new(
        &fixture.database.url,
        fixture.producer.clone(),
        Wakeup::new(),
        config,
    );
    while let RelayStep::Published { .. } = relay.relay_once().await? {}
    Ok(())
}

async fn enqueue_orders(fixture: &Fixture, orders: &[OrderId]) -> anyhow::Result<()> {
    let mut tx = fixture.pool.begin().await?;
    for order in orders {
        let event = order_created(*order);
        let mut record = OutboxRecord::for_event(
            &event,
            &metadata_for(&event),
            &opentelemetry::Context::new(),
        );
        record.topic = fixture.topic.clone();
        enqueue(&mut tx, &record).await?;
    }
    tx.commit().await?;
    Ok(())
}

#[tokio::test]
async fn with_duplicate_publishing_or_a_relay_crash_before_the_mark_each_effect_applies_once()
-> anyhow::Result<()> {
    let fixture = Fixture::new("dedup_relay", 3).await?;
    let (handler, _) = TestHandler::new();
    let orders: Vec<OrderId> = (0..20).map(|_| OrderId::new()).collect();

    // Half through a relay that publishes every row twice.
    enqueue_orders(&fixture, &orders[..10]).await?;
    relay_all(
        &fixture,
        RelayConfig {
            publish_twice: true,
            ..RelayConfig::default()
        },
    )
    .await?;

    // Half through a relay that "crashes" after producing and before marking: the next
    // relay finds the rows unpublished and produces them again.
    enqueue_orders(&fixture, &orders[10..]).await?;
    relay_all(&fixture, RelayConfig::default()).await?;
    let unmarked =
        sqlx::query("UPDATE outbox SET published_at = NULL WHERE payload->>'order_id' = ANY($1)")
            .bind(
                orders[10..]
                    .iter()
                    .map(|o| o.to_string())
                    .collect::<Vec<_>>(),
            )
            .execute(&fixture.pool)
            .await?
            .rows_affected();
    assert_eq!(unmarked, 10);
    relay_all(&fixture, RelayConfig::default()).await?;

    let running = fixture.start(fixture.config(), handler.clone())?;
    until(30, "every order applied", async || {
        Ok(fixture.total_effects().await? >= 20)
    })
    .await?;
    // Give the second copies time to arrive and be skipped.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    running.stop().await?;
    for order in &orders {
        assert_eq!(
            fixture.effects(*order).await?,
            1,
            "order {order} applied more than once"
        );
    }
    let duplicates: i64 = sqlx::query_scalar("SELECT count(*) FROM processed_messages")
        .fetch_one(&fixture.pool)
        .await?;
    assert_eq!(duplicates, 20, "one inbox row per event");
    fixture.finish().await
}

#[tokio::test]
async fn the_same_event_id_with_another_body_is_dead_lettered_as_poison() -> anyhow::Result<()> {
    let fixture = Fixture::new("dedup_conflict", 1).await?;
    let (handler, _) = TestHandler::new();
    let order = OrderId::new();
    let event = order_created(order);
    let metadata = metadata_for(&event);
    let headers = || event_headers(&metadata, &opentelemetry::Context::new());
    fixture
        .send(&event.encode(), &order.to_string(), headers())
        .await?;
    let mut tampered: serde_json::Value = serde_json::from_slice(&event.encode())?;
    tampered["customer_id"] = "c-someone-else".into();
    let tampered = serde_json::to_vec(&tampered)?;
    fixture
        .send(&tampered, &order.to_string(), headers())
        .await?;

    let running = fixture.start(fixture.config(), handler)?;
    let dead = crate::dlq::read_dlq(&fixture.group, 1).await?;
    running.stop().await?;
    assert_eq!(fixture.effects(order).await?, 1);
    assert_eq!(dead[0].header("dlq-error-class"), Some("poison".to_owned()));
    assert_eq!(
        dead[0].payload, tampered,
        "the DLQ keeps the original bytes"
    );
    fixture.finish().await
}

/// The batch inbox on the real database: one statement decides a whole batch, with
/// repeats inside the batch judged against their first sight.
#[tokio::test]
async fn the_batch_inbox_tells_new_duplicate_and_conflict_within_and_across_batches()
-> anyhow::Result<()> {
    use messaging::inbox::{InboxOutcome::*, record_all};
    let fixture = Fixture::new("inbox_batch", 1).await?;
    let (a, b, c) = (
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
    );
    let (body, other) = ([1u8; 32], [2u8; 32]);

    let mut tx = fixture.pool.begin().await?;
    let first = record_all(
        &mut tx,
        &fixture.group,
        &[(a, body), (b, body), (a, body), (b, other)],
    )
    .await?;
    tx.commit().await?;
    assert_eq!(first, [New, New, Duplicate, Conflict]);

    let mut tx = fixture.pool.begin().await?;
    let second = record_all(
        &mut tx,
        &fixture.group,
        &[(c, body), (a, body), (b, other), (c, other)],
    )
    .await?;
    assert_eq!(second, [New, Duplicate, Conflict, Conflict]);
    tx.rollback().await?;

    let mut tx = fixture.pool.begin().await?;
    let other_group = record_all(&mut tx, "another-group", &[(a, other)]).await?;
    assert_eq!(other_group, [New], "the inbox is per group");
    tx.rollback().await?;

    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM processed_messages")
        .fetch_one(&fixture.pool)
        .await?;
    assert_eq!(
        stored, 2,
        "only the committed batch's first sights are kept"
    );
    fixture.finish().await
}
