//! A failure in the middle of a batch: what came before commits, the failing message is
//! retried alone with no lock held while it waits, and no offset passes it.

use std::time::Duration;

use contracts::OrderId;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::support::{Fail, Fixture, TestHandler, until};

fn committed_offset(group: &str, topic: &str) -> anyhow::Result<i64> {
    let consumer: BaseConsumer = test_support::kafka().consumer(group).create()?;
    let mut partitions = TopicPartitionList::new();
    partitions.add_partition(topic, 0);
    let committed = consumer.committed_offsets(partitions, Duration::from_secs(10))?;
    Ok(
        match committed.find_partition(topic, 0).map(|p| p.offset()) {
            Some(Offset::Offset(offset)) => offset,
            _ => 0,
        },
    )
}

#[tokio::test]
async fn a_failure_mid_batch_commits_the_messages_before_it_and_retries_it_alone()
-> anyhow::Result<()> {
    let fixture = Fixture::new("batch_mid", 1).await?;
    let (handler, mut failures) = TestHandler::new();
    let orders: Vec<OrderId> = (0..5).map(|_| OrderId::new()).collect();
    let failing = orders[2];
    handler.fail(failing, Fail::Times(2));
    for order in &orders {
        fixture.send_created(*order).await?;
    }
    let config = messaging::consumer::ConsumerConfig {
        handler_backoff: Duration::from_millis(1500),
        ..fixture.config()
    };
    let running = fixture.start(config, handler.clone())?;

    // First failure: inside the batch transaction. Second: retried alone.
    let (order, attempt) = tokio::time::timeout(Duration::from_secs(30), failures.recv())
        .await?
        .unwrap();
    assert_eq!((order, attempt), (failing, 1));
    let (order, attempt) = tokio::time::timeout(Duration::from_secs(30), failures.recv())
        .await?
        .unwrap();
    assert_eq!((order, attempt), (failing, 2));

    // Now in its backoff: the two before it are committed, the two after it are not.
    assert_eq!(fixture.effects(orders[0]).await?, 1);
    assert_eq!(fixture.effects(orders[1]).await?, 1);
    assert_eq!(fixture.effects(orders[3]).await?, 0);
    assert_eq!(fixture.effects(orders[4]).await?, 0);
    // Nobody holds the failing order's row while it waits.
    let mut tx = fixture.pool.begin().await?;
    sqlx::query("SELECT order_id FROM test_state WHERE order_id = $1 FOR UPDATE NOWAIT")
        .bind(failing.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| anyhow::anyhow!("the failing order's row is locked during backoff: {e}"))?;
    tx.rollback().await?;
    // Auto-commit runs every second: wait past it, then the committed offset must not
    // have passed the failing message (offset 2).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        committed_offset(&fixture.group, &fixture.topic)? <= 2,
        "an offset passed an uncommitted message"
    );

    until(30, "every order applied", async || {
        Ok(fixture.total_effects().await? == 5)
    })
    .await?;
    assert_eq!(handler.attempts(failing), 3);
    until(10, "the offset committed past the batch", async || {
        Ok(committed_offset(&fixture.group, &fixture.topic)? == 5)
    })
    .await?;
    running.stop().await?;
    for order in &orders {
        assert_eq!(fixture.effects(*order).await?, 1);
    }
    fixture.finish().await
}
