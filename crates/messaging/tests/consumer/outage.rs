//! The database goes away under a running consumer: it pauses, keeps polling so it
//! stays in its group, dead-letters nothing, and resumes by itself.

use std::time::Duration;

use contracts::OrderId;
use messaging::dlq_admin::DlqAdmin;
use rdkafka::consumer::{BaseConsumer, Consumer};
use sqlx::postgres::PgPoolOptions;
use test_support::proxy::TcpProxy;

use crate::support::{Fixture, TestHandler, until};

/// Member ids of `group` and its state, as the group coordinator reports them.
fn group_members(group: &str) -> anyhow::Result<(String, Vec<String>)> {
    let client: BaseConsumer = test_support::kafka().client().create()?;
    let list = client.fetch_group_list(Some(group), Duration::from_secs(10))?;
    let found = list.groups().iter().find(|g| g.name() == group);
    Ok(found
        .map(|g| {
            (
                g.state().to_owned(),
                g.members().iter().map(|m| m.id().to_owned()).collect(),
            )
        })
        .unwrap_or_default())
}

#[tokio::test]
async fn a_consumer_paused_longer_than_max_poll_interval_stays_in_its_group_and_resumes()
-> anyhow::Result<()> {
    let fixture = Fixture::new("outage_pause", 2).await?;
    let proxy = TcpProxy::start(test_support::postgres_addr()).await?;
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(2))
        .connect(&fixture.database.url_via(proxy.addr()))
        .await?;
    let (handler, _) = TestHandler::new();
    let mut config = fixture.config();
    config.infrastructure_backoff = Duration::from_millis(500);
    config.max_backoff = Duration::from_secs(2);
    config.client_overrides = vec![
        ("session.timeout.ms".into(), "6000".into()),
        ("heartbeat.interval.ms".into(), "1000".into()),
        ("max.poll.interval.ms".into(), "7000".into()),
    ];
    let running = fixture.start_with_pool(config, handler, pool)?;

    let before = OrderId::new();
    fixture.send_created(before).await?;
    until(30, "the first order applied", async || {
        Ok(fixture.effects(before).await? == 1)
    })
    .await?;
    let (state, members) = group_members(&fixture.group)?;
    assert_eq!((state.as_str(), members.len()), ("Stable", 1));

    proxy.cut();
    let during: Vec<OrderId> = (0..5).map(|_| OrderId::new()).collect();
    for order in &during {
        fixture.send_created(*order).await?;
    }
    until(30, "the consumer pauses", async || {
        Ok(running.health.is_paused())
    })
    .await?;
    // Twice max.poll.interval.ms with every partition paused.
    tokio::time::sleep(Duration::from_secs(14)).await;
    let (state, members_during) = group_members(&fixture.group)?;
    assert_eq!(state, "Stable", "the group rebalanced during the outage");
    assert_eq!(
        members_during, members,
        "the member left or was replaced during the outage"
    );
    for order in &during {
        assert_eq!(fixture.effects(*order).await?, 0);
    }

    proxy.restore();
    until(60, "every order of the outage applied", async || {
        let mut all = true;
        for order in &during {
            all &= fixture.effects(*order).await? == 1;
        }
        Ok(all)
    })
    .await?;
    assert!(!running.health.is_paused());
    assert_eq!(
        group_members(&fixture.group)?.1,
        members,
        "same member after the outage"
    );
    assert_eq!(
        DlqAdmin::new(test_support::kafka(), &fixture.group)
            .depth()
            .await?,
        0,
        "an outage is never dead-lettered"
    );
    running.stop().await?;
    fixture.finish().await
}
