use std::time::Duration;

use outbox::{RelayConfig, RelayStep, enqueue};

use crate::helpers::{Fixture, consume_all};

const KEYS: usize = 100;
const EVENTS: usize = 10_000;

/// Enqueues `EVENTS` rows over `KEYS` keys, 100 per transaction, with a rolled-back
/// transaction of poison-marked rows between every committed one.
async fn enqueue_committed_and_rolled_back(fixture: &Fixture) -> anyhow::Result<()> {
    let mut seq = vec![0u64; KEYS];
    for batch in 0..EVENTS / 100 {
        let mut tx = fixture.pool.begin().await?;
        for i in 0..100 {
            let k = (batch * 7 + i) % KEYS;
            enqueue(&mut tx, &fixture.record(&format!("key-{k:03}"), seq[k], 0)).await?;
            seq[k] += 1;
        }
        tx.commit().await?;

        let mut doomed = fixture.pool.begin().await?;
        enqueue(&mut doomed, &fixture.record("rolled-back", batch as u64, 0)).await?;
        doomed.rollback().await?;
    }
    Ok(())
}

fn assert_every_event_once_in_order(by_key: &std::collections::HashMap<String, Vec<u64>>) {
    assert!(
        !by_key.contains_key("rolled-back"),
        "a rolled-back transaction published"
    );
    assert_eq!(by_key.len(), KEYS);
    let total: usize = by_key.values().map(Vec::len).sum();
    assert_eq!(total, EVENTS, "every committed event exactly once");
    for (key, seqs) in by_key {
        let expected: Vec<u64> = (0..seqs.len() as u64).collect();
        assert_eq!(seqs, &expected, "{key} out of order or duplicated");
    }
}

#[tokio::test]
async fn committed_events_publish_once_in_order_per_key_and_rolled_back_ones_never()
-> anyhow::Result<()> {
    let fixture = Fixture::new("outbox_once").await?;
    enqueue_committed_and_rolled_back(&fixture).await?;

    let mut relay = fixture.relay(RelayConfig::default())?;
    let mut published = 0;
    loop {
        match relay.relay_once().await? {
            RelayStep::Published { rows, parked } => {
                assert_eq!(parked, 0);
                published += rows;
            }
            RelayStep::Empty => break,
            RelayStep::NotLeader => anyhow::bail!("the only relay must lead"),
        }
    }
    assert_eq!(published, EVENTS);
    assert_eq!(fixture.unpublished().await?, 0);

    assert_every_event_once_in_order(&consume_all(&fixture.topic, EVENTS).await?);
    fixture.finish().await
}

#[tokio::test]
async fn two_relays_competing_for_the_lock_publish_every_event_once() -> anyhow::Result<()> {
    let fixture = Fixture::new("outbox_two").await?;
    let config = RelayConfig {
        batch_size: 250,
        ..RelayConfig::default()
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut relays = Vec::new();
    for _ in 0..2 {
        let relay = fixture.relay(config.clone())?;
        let mut stopped = stopped.clone();
        relays.push(tokio::spawn(relay.run(async move {
            let _ = stopped.wait_for(|s| *s).await;
        })));
    }
    // Rows arrive while both relays run.
    enqueue_committed_and_rolled_back(&fixture).await?;
    let by_key = consume_all(&fixture.topic, EVENTS).await?;
    assert_every_event_once_in_order(&by_key);

    let drained = test_support_eventually(|| async { Ok(fixture.unpublished().await? == 0) }).await;
    stop.send(true)?;
    for relay in relays {
        relay.await?;
    }
    drained?;
    fixture.finish().await
}

async fn test_support_eventually<F, Fut>(mut probe: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    for _ in 0..100 {
        if probe().await? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("not drained within 10s")
}
