//! A relay that does not hold the lock waits as a standby: it asks for the lock again
//! every second on the one session it keeps, rather than opening (and authenticating,
//! and forking a server process for) a new connection each time; and it takes over when
//! the leader goes.

use std::time::Duration;

use outbox::RelayConfig;

use crate::helpers::Fixture;

/// Sessions ever opened to the fixture's database (PostgreSQL counts them in
/// `pg_stat_database.sessions`; a closed session's count is flushed as it ends).
async fn sessions(fixture: &Fixture) -> anyhow::Result<i64> {
    let mut conn = fixture.pool.acquire().await?;
    sqlx::query("SELECT pg_stat_clear_snapshot()")
        .execute(&mut *conn)
        .await?;
    Ok(sqlx::query_scalar(
        "SELECT sessions FROM pg_stat_database WHERE datname = current_database()",
    )
    .fetch_one(&mut *conn)
    .await?)
}

#[tokio::test]
async fn a_standby_asks_on_one_session_and_takes_over_when_the_leader_stops() -> anyhow::Result<()>
{
    let fixture = Fixture::new("relay_standby").await?;
    let spawn = |relay: outbox::Relay| {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(relay.run(async move {
            let _ = stopped.wait_for(|s| *s).await;
        }));
        (stop, task)
    };
    let (stop_leader, leader) = spawn(fixture.relay(RelayConfig::default())?);
    fixture.enqueue_one("standby", 1).await?;
    fixture.until_published(30).await?; // the first relay leads

    // Warm the fixture's pool so that its own connections do not count below.
    let _ = sessions(&fixture).await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = sessions(&fixture).await?;
    let (stop_standby, standby) = spawn(fixture.relay(RelayConfig::default())?);
    tokio::time::sleep(Duration::from_millis(5500)).await; // five or six attempts
    let opened = sessions(&fixture).await? - before;
    assert!(
        opened <= 1,
        "the standby opened {opened} sessions in 5.5 s while the leader held the lock (one is enough)"
    );

    stop_leader.send(true)?;
    leader.await?;
    fixture.enqueue_one("standby", 2).await?;
    fixture.until_published(30).await?; // published by the standby, now the leader
    stop_standby.send(true)?;
    standby.await?;
    fixture.finish().await
}
