//! `sagactl outbox parked|requeue`: rows the relay parked because the broker refused
//! them for good.

use clap::{Args, Subcommand};
use sqlx::postgres::PgPoolOptions;

use super::databases::DatabaseArgs;

#[derive(Debug, Subcommand)]
pub(crate) enum OutboxCommand {
    /// Parked rows with their failure, and each outbox's backlog.
    Parked {
        #[command(flatten)]
        target: Target,
    },
    /// Put parked rows back in the queue (after the cause was fixed).
    Requeue {
        #[command(flatten)]
        target: Target,
        /// Outbox ids; every parked row of the service when omitted.
        ids: Vec<i64>,
    },
}

#[derive(Debug, Args)]
pub(crate) struct Target {
    /// order | payment | inventory; every service when omitted.
    #[arg(long)]
    service: Option<String>,
    #[command(flatten)]
    databases: DatabaseArgs,
}

impl Target {
    fn urls(&self) -> anyhow::Result<Vec<(&'static str, &str)>> {
        let chosen: Vec<_> = self
            .databases
            .by_service()
            .into_iter()
            .filter(|(service, _)| self.service.as_deref().is_none_or(|s| s == *service))
            .collect();
        if chosen.is_empty() {
            anyhow::bail!("unknown service (order | payment | inventory)");
        }
        Ok(chosen)
    }
}

pub(crate) async fn run(command: OutboxCommand) -> anyhow::Result<()> {
    match command {
        OutboxCommand::Parked { target } => {
            for (service, url) in target.urls()? {
                let pool = PgPoolOptions::new().max_connections(1).connect(url).await?;
                let backlog = outbox::admin::backlog(&pool).await?;
                println!(
                    "{service}: {} unpublished (oldest {:.1}s), {} parked",
                    backlog.unpublished, backlog.oldest_age_seconds, backlog.parked
                );
                for row in outbox::admin::parked(&pool).await? {
                    println!(
                        "  id={} topic={} key={} type={} size={}B parked={} failure={}",
                        row.id,
                        row.topic,
                        row.key,
                        row.event_type,
                        row.size_bytes,
                        row.failed_at.to_rfc3339(),
                        row.failure.unwrap_or_default()
                    );
                }
            }
        }
        OutboxCommand::Requeue { target, ids } => {
            for (service, url) in target.urls()? {
                let pool = PgPoolOptions::new().max_connections(1).connect(url).await?;
                let requeued = outbox::admin::requeue(&pool, &ids).await?;
                println!("{service}: requeued {requeued} row(s)");
            }
        }
    }
    Ok(())
}
