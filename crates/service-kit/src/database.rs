//! PostgreSQL at start-up: wait until it answers, then migrate.

use std::time::Duration;

use anyhow::Context as _;
use messaging::session::SessionLimits;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;

use crate::Shutdown;

const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How long a request or a consumer waits for a pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A pool on `url`, its sessions limited by `limits` and named `application` in
/// `pg_stat_activity`, retried with backoff until the database answers or shutdown
/// fires: a service started before its database waits instead of crashing. The
/// database's name is the `db.namespace` of the process's database spans.
pub async fn connect(
    url: &str,
    max_connections: u32,
    limits: &SessionLimits,
    application: &str,
    shutdown: &Shutdown,
) -> anyhow::Result<PgPool> {
    let options = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT);
    let connect = limits
        .connect_options(url, application)
        .context("reading DATABASE_URL")?;
    if let Some(database) = connect.get_database() {
        telemetry::set_db_namespace(database);
    }
    let mut backoff = Duration::from_millis(200);
    loop {
        match options.clone().connect_with(connect.clone()).await {
            Ok(pool) => return Ok(pool),
            Err(err) => {
                tracing::warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "PostgreSQL is not answering yet.");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = shutdown.wait() => anyhow::bail!("shut down while waiting for PostgreSQL"),
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Applies the service's migrations; they are append-only, so this is a no-op when
/// the schema is current.
pub async fn migrate(pool: &PgPool, migrator: &Migrator) -> anyhow::Result<()> {
    migrator
        .run(pool)
        .await
        .context("running database migrations")
}

/// Ok when a trivial query answers within `timeout`.
pub async fn ping(pool: &PgPool, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, sqlx::query("SELECT 1").execute(pool)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}
