//! PostgreSQL really stopped and started again under a running consumer. It takes the
//! shared server away, so it is ignored in the parallel run; `scripts/test` runs it
//! alone, last: `cargo test -p messaging --test restart -- --ignored`.

#[path = "../consumer/support.rs"]
mod support;

use std::process::{Command, ExitStatus};
use std::time::Duration;

use contracts::OrderId;
use messaging::dlq_admin::DlqAdmin;
use rdkafka::consumer::{BaseConsumer, Consumer};

use support::{Fixture, TestHandler, until};

fn members(group: &str) -> anyhow::Result<Vec<String>> {
    let client: BaseConsumer = test_support::kafka().client().create()?;
    let list = client.fetch_group_list(Some(group), Duration::from_secs(10))?;
    Ok(list
        .groups()
        .iter()
        .filter(|g| g.name() == group)
        .flat_map(|g| g.members().iter().map(|m| m.id().to_owned()))
        .collect())
}

/// `scripts/infra <command> postgres`, off the runtime's threads so the consumer keeps
/// running meanwhile.
async fn infra(command: &'static str) -> anyhow::Result<ExitStatus> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/infra");
    Ok(tokio::task::spawn_blocking(move || {
        Command::new(script).args([command, "postgres"]).status()
    })
    .await??)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "stops the shared PostgreSQL server; run alone by scripts/test"]
async fn postgres_stopped_and_started_under_a_running_consumer_loses_nothing_and_dead_letters_nothing()
-> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("info,sqlx=warn")
        .try_init();
    let fixture = Fixture::new("restart_pg", 3).await?;
    let (handler, _) = TestHandler::new();
    let running = fixture.start(fixture.config(), handler)?;
    let first = OrderId::new();
    fixture.send_created(first).await?;
    until(30, "the consumer runs", async || {
        Ok(fixture.effects(first).await? == 1)
    })
    .await?;
    let before = members(&fixture.group)?;
    assert_eq!(before.len(), 1);

    // Orders keep arriving while the server is away.
    let producer = tokio::spawn({
        let topic = fixture.topic.clone();
        let producer = fixture.producer.clone();
        async move {
            let mut sent = Vec::new();
            for _ in 0..60 {
                let order = OrderId::new();
                support::send_created_with(&producer, &topic, order).await?;
                sent.push(order);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            anyhow::Ok(sent)
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Down for longer than the pool's acquire timeout, so the outage reaches the runtime.
    assert!(
        infra("stop").await?.success(),
        "scripts/infra stop postgres failed"
    );
    until(30, "the consumer pauses", async || {
        Ok(running.health.is_paused())
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        infra("start").await?.success(),
        "scripts/infra start postgres failed"
    );
    let sent = producer.await??;

    until(120, "every order applied after the outage", async || {
        let applied: i64 = sqlx::query_scalar("SELECT count(DISTINCT order_id) FROM test_effects")
            .fetch_one(&fixture.pool)
            .await
            .unwrap_or(0);
        Ok(applied == sent.len() as i64 + 1)
    })
    .await?;
    for order in &sent {
        assert_eq!(
            fixture.effects(*order).await?,
            1,
            "order {order} lost or applied twice"
        );
    }
    assert!(!running.health.is_paused(), "consumption resumed by itself");
    assert_eq!(
        members(&fixture.group)?,
        before,
        "the outage caused a rebalance"
    );
    let depth = DlqAdmin::new(test_support::kafka(), &fixture.group)
        .depth()
        .await?;
    assert_eq!(depth, 0, "an outage was dead-lettered");
    running.stop().await?;
    fixture.finish().await
}
