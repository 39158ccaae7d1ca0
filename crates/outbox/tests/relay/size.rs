use outbox::{EnqueueError, RelayConfig, RelayStep, admin, enqueue};

use crate::helpers::Fixture;

#[tokio::test]
async fn an_event_over_the_size_limit_is_refused_at_enqueue_and_nothing_commits()
-> anyhow::Result<()> {
    let fixture = Fixture::new("outbox_size").await?;
    let mut tx = fixture.pool.begin().await?;
    enqueue(&mut tx, &fixture.record("k", 0, 10)).await?;
    let err = enqueue(&mut tx, &fixture.record("k", 1, 950 * 1024))
        .await
        .unwrap_err();
    match err {
        EnqueueError::TooLarge { bytes, limit, .. } => {
            assert!(bytes > limit);
            assert_eq!(limit, outbox::enqueue::MAX_RECORD_BYTES);
        }
        other => panic!("expected TooLarge, got {other}"),
    }
    // The caller's error aborts its transaction: neither row commits.
    drop(tx);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&fixture.pool)
        .await?;
    assert_eq!(rows, 0);
    fixture.finish().await
}

#[tokio::test]
async fn a_row_the_broker_refuses_for_good_is_parked_and_the_rest_published() -> anyhow::Result<()>
{
    let fixture = Fixture::new("outbox_park").await?;
    // Under the enqueue limit, but over what this topic accepts: shrink the topic.
    test_support::set_topic_max_message_bytes(&fixture.topic, 64 * 1024).await?;
    let mut tx = fixture.pool.begin().await?;
    enqueue(&mut tx, &fixture.record("a", 0, 10)).await?;
    enqueue(&mut tx, &fixture.record("b", 0, 200 * 1024)).await?;
    enqueue(&mut tx, &fixture.record("c", 0, 10)).await?;
    tx.commit().await?;

    let mut relay = fixture.relay(RelayConfig::default())?;
    let step = relay.relay_once().await?;
    assert_eq!(step, RelayStep::Published { rows: 3, parked: 1 });
    assert_eq!(
        relay.relay_once().await?,
        RelayStep::Empty,
        "a parked row is not retried"
    );

    let parked = admin::parked(&fixture.pool).await?;
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].key, "b");
    let backlog = admin::backlog(&fixture.pool).await?;
    assert_eq!(
        (backlog.unpublished, backlog.parked),
        (0, 1),
        "a parked row counts in the backlog"
    );

    // Requeued after the limit is raised, it goes out.
    test_support::set_topic_max_message_bytes(&fixture.topic, 1024 * 1024).await?;
    assert_eq!(admin::requeue(&fixture.pool, &[]).await?, 1);
    assert_eq!(
        relay.relay_once().await?,
        RelayStep::Published { rows: 1, parked: 0 }
    );
    assert_eq!(admin::backlog(&fixture.pool).await?.total(), 0);
    fixture.finish().await
}
