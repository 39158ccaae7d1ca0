//! What `/readyz` sees of a consumer: stuck while messages wait and none is handled,
//! failed (and its run over) when the client is fenced for good.

use std::time::Duration;

use contracts::OrderId;
use messaging::consumer::{ConsumerConfig, ConsumerState};

use crate::support::{Fail, Fixture, TestHandler, until};

#[tokio::test]
async fn a_consumer_with_messages_waiting_and_none_handled_is_stuck_until_it_moves_again()
-> anyhow::Result<()> {
    let fixture = Fixture::new("health_stuck", 1).await?;
    let (handler, _) = TestHandler::new();
    let blocked = OrderId::new();
    handler.fail(blocked, Fail::Always);
    let config = ConsumerConfig {
        stuck_after: Duration::from_secs(2),
        handler_retries: 1_000,
        handler_backoff: Duration::from_millis(500),
        client_overrides: vec![("statistics.interval.ms".into(), "500".into())],
        ..fixture.config()
    };
    let running = fixture.start(config, handler.clone())?;
    fixture.send_created(blocked).await?;
    fixture.send_created(OrderId::new()).await?;

    until(30, "the consumer reported stuck", async || {
        Ok(matches!(
            running.health.state(),
            ConsumerState::Stuck { lag, .. } if lag > 0
        ))
    })
    .await?;
    handler.fix(blocked);
    until(30, "the consumer running again", async || {
        Ok(running.health.state() == ConsumerState::Running)
    })
    .await?;
    assert_eq!(fixture.total_effects().await?, 2);
    running.stop().await?;
    fixture.finish().await
}

#[tokio::test]
async fn a_static_member_fenced_by_a_second_one_with_its_id_fails_and_stops() -> anyhow::Result<()>
{
    let fixture = Fixture::new("health_fenced", 1).await?;
    let (handler, _) = TestHandler::new();
    let config = ConsumerConfig {
        instance_id: Some(test_support::unique_name("instance")),
        ..fixture.config()
    };
    let first = fixture.start(config.clone(), handler.clone())?;
    let order = OrderId::new();
    fixture.send_created(order).await?;
    until(30, "the first member consuming", async || {
        Ok(fixture.effects(order).await? == 1)
    })
    .await?;

    let second = fixture.start(config, handler)?;
    let ended = tokio::time::timeout(Duration::from_secs(30), first.task)
        .await
        .map_err(|_| anyhow::anyhow!("the fenced member still runs after 30s"))??;
    let failure = ended.expect_err("a fenced member's run ends in an error");
    assert!(
        matches!(first.health.state(), ConsumerState::Failed(_)),
        "{:?}",
        first.health.state()
    );
    assert!(failure.to_string().contains("failed for good"), "{failure}");
    second.stop().await?;
    fixture.finish().await
}
