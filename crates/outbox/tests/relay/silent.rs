//! A relay whose leader session silently stops answering (its packets dropped, no FIN,
//! no RST) gives it up after its client deadline, and takes the lock again on a new
//! session once the server, through its keepalives, has ended the old one.

use std::time::Duration;

use messaging::session::SessionLimits;
use outbox::RelayConfig;
use test_support::blackhole::{Blackhole, client_ports};

use crate::helpers::{Fixture, consume_all};

#[tokio::test]
async fn a_leader_session_that_goes_silent_is_given_up_and_publishing_goes_on() -> anyhow::Result<()>
{
    let fixture = Fixture::new("relay_silent").await?;
    let config = RelayConfig {
        session: SessionLimits {
            statement_timeout: Duration::from_secs(2),
            lock_timeout: Duration::from_secs(1),
            client_deadline: Duration::from_secs(3),
        },
        ..RelayConfig::default()
    };
    let relay = fixture.relay(config)?;
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(relay.run(async move {
        let _ = stopped.wait_for(|s| *s).await;
    }));
    fixture.enqueue_one("silent", 0).await?;
    fixture.until_published(30).await?;

    let ports = client_ports(&fixture.database.name, "outbox relay").await?;
    assert_eq!(ports.len(), 1, "one leader session: {ports:?}");
    let hole = Blackhole::ports(&ports)?;
    for seq in 1..=5 {
        fixture.enqueue_one("silent", seq).await?;
    }
    let recovered = fixture.until_published(60).await;
    drop(hole);
    recovered?;
    let by_key = consume_all(&fixture.topic, 6).await?;
    // At least once: a batch whose mark was lost with the session may come twice.
    let mut seen = by_key["silent"].clone();
    seen.dedup();
    assert_eq!(seen, (0..=5).collect::<Vec<u64>>());

    stop.send(true)?;
    tokio::time::timeout(Duration::from_secs(30), task).await??;
    fixture.finish().await
}
