//! The deadline loop takes each due order on its own: a version conflict is retried at
//! once, an order whose expiry keeps failing is pushed back with a growing backoff (and
//! counted), and neither holds back the deadlines behind it. A saga deadline the clock
//! cannot represent stops the service instead of becoming 30 s.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use order_service::OrderSettings;
use order_service::app::Clock;
use sqlx::PgPool;
use test_support::TestDatabase;
use uuid::Uuid;

use crate::support::{TestApp, settings, start};

const DEADLINE: Duration = Duration::from_secs(3600);

async fn status(app: &TestApp, id: &str) -> anyhow::Result<String> {
    let (_, state) = app.get(&format!("/orders/{id}")).await?;
    Ok(state["status"].as_str().unwrap_or_default().to_owned())
}

/// Polls until `id` is cancelled, for up to 20 s.
async fn cancelled(app: &TestApp, id: &str) -> anyhow::Result<bool> {
    for _ in 0..80 {
        if status(app, id).await? == "cancelled" {
            return Ok(true);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(false)
}

async fn due_at(pool: &PgPool, id: &str) -> anyhow::Result<Option<DateTime<Utc>>> {
    Ok(
        sqlx::query_scalar("SELECT due_at FROM saga_deadlines WHERE order_id = $1")
            .bind(id.parse::<Uuid>()?)
            .fetch_optional(pool)
            .await?,
    )
}

/// Every append of `id`'s events fails as a lost race for the version, `times` times
/// (a sequence counts the attempts: it is not rolled back with them).
async fn conflict_on_append(pool: &PgPool, id: &str, times: i64) -> anyhow::Result<()> {
    sqlx::query("CREATE SEQUENCE append_attempts")
        .execute(pool)
        .await?;
    sqlx::query(&format!(
        "CREATE FUNCTION lose_the_race() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF NEW.order_id = '{id}' THEN
                 IF nextval('append_attempts') <= {times} THEN
                     RAISE unique_violation USING MESSAGE = 'injected: version taken';
                 END IF;
             END IF;
             RETURN NEW;
         END $$"
    ))
    .execute(pool)
    .await?;
    sqlx::query(
        "CREATE TRIGGER lose_the_race BEFORE INSERT ON order_events
         FOR EACH ROW EXECUTE FUNCTION lose_the_race()",
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// An event no build of the service knows, appended to `id`: loading it fails, so
/// every expiry of the order fails until an operator repairs it.
async fn corrupt(pool: &PgPool, id: &str) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO order_events (order_id, version, event_type, schema_version, payload, metadata, recorded_at)
         SELECT order_id, 2, 'order.bogus', 1, '{}', metadata, recorded_at + interval '1 microsecond'
         FROM order_events WHERE order_id = $1 AND version = 1",
    )
    .bind(id.parse::<Uuid>()?)
    .execute(pool)
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_failing_expiry_is_retried_with_backoff_and_holds_back_no_other_deadline()
-> anyhow::Result<()> {
    let database = TestDatabase::create("order_deadline_failures").await?;
    let clock = Clock::manual(Utc::now());
    let app = start(
        &database,
        OrderSettings {
            clock: clock.clone(),
            ..settings(DEADLINE)
        },
    )
    .await?;
    // Due in this order: one that conflicts three times, one that always fails, one
    // that is fine.
    let racing = app.create_order().await?;
    clock.advance(TimeDelta::seconds(1));
    let broken = app.create_order().await?;
    clock.advance(TimeDelta::seconds(1));
    let fine = app.create_order().await?;
    conflict_on_append(&app.pool, &racing, 3).await?;
    corrupt(&app.pool, &broken).await?;

    clock.advance(TimeDelta::from_std(DEADLINE)? + TimeDelta::seconds(5));
    assert!(
        cancelled(&app, &fine).await?,
        "the order behind a failing one expired"
    );
    assert!(
        cancelled(&app, &racing).await?,
        "a lost race is decided again"
    );
    let attempts: i64 = sqlx::query_scalar("SELECT last_value FROM append_attempts")
        .fetch_one(&app.pool)
        .await?;
    assert_eq!(attempts, 4, "three lost races, then the append, at once");

    // The broken one waits out a backoff that grows with each failure.
    let first = due_at(&app.pool, &broken).await?.expect("still due");
    let wait = first - clock.now();
    assert!(wait > TimeDelta::zero(), "pushed back: {wait}");
    clock.advance(wait + TimeDelta::milliseconds(1));
    let mut second = first;
    for _ in 0..80 {
        second = due_at(&app.pool, &broken).await?.expect("still due");
        if second != first {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        second - clock.now() > wait,
        "the backoff grows: {wait} then {}",
        second - clock.now()
    );
    let (code, _) = app.get(&format!("/orders/{broken}")).await?;
    assert_eq!(code, 503, "still unreadable, never guessed at");
    let (_, metrics) = app.get_text("/metrics").await?;
    assert!(metrics.contains("saga_deadline_failures_total"), "counted");
    app.stop().await?;
    database.drop_database().await
}

#[tokio::test]
async fn a_saga_deadline_the_clock_cannot_hold_stops_the_service_instead_of_becoming_30s()
-> anyhow::Result<()> {
    let database = TestDatabase::create("order_deadline_invalid").await?;
    let app = start(&database, settings(Duration::MAX)).await?;
    let ended = tokio::time::timeout(Duration::from_secs(20), app.task).await;
    let error = match ended {
        Ok(Ok(Err(err))) => format!("{err:#}"),
        other => anyhow::bail!("the service kept running or ended cleanly: {other:?}"),
    };
    assert!(error.contains("saga deadline"), "{error}");
    database.drop_database().await
}
