//! PostgreSQL really restarted under a running consumer. It restarts the shared server,
//! so it is ignored in the parallel run; `scripts/test` runs it alone, last:
//! `cargo test -p messaging --test restart -- --ignored`.

#[path = "../consumer/support.rs"]
mod support;

use std::process::Command;
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

#[tokio::test]
#[ignore = "restarts the shared PostgreSQL server; run alone by scripts/test"]
async fn postgres_restarted_under_a_running_consumer_loses_nothing_and_dead_letters_nothing()
-> anyhow::Result<()> {
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

    // Orders keep arriving while the server restarts.
    let producer = tokio::spawn({
        let topic = fixture.topic.clone();
        async move {
            let mut sent = Vec::new();
            for _ in 0..60 {
                let order = OrderId::new();
                support::send_created_to(&topic, order).await?;
                sent.push(order);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            anyhow::Ok(sent)
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/infra");
    let status = Command::new(script)
        .args(["restart", "postgres"])
        .status()?;
    assert!(status.success(), "scripts/infra restart postgres failed");
    let sent = producer.await??;

    until(120, "every order applied after the restart", async || {
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
    assert_eq!(
        members(&fixture.group)?,
        before,
        "the restart caused a rebalance"
    );
    assert_eq!(
        DlqAdmin::new(test_support::kafka(), &fixture.group)
            .depth()
            .await?,
        0,
        "an outage was dead-lettered"
    );
    running.stop().await?;
    fixture.finish().await
}
