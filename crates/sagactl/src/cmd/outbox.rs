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
    /// The one database to read, as a service is configured (its `DATABASE_URL`): the
    /// database of --service, if given; the per-service URLs are then not read.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    #[command(flatten)]
    databases: DatabaseArgs,
}

impl Target {
    /// `(label, url)` of each database to read.
    fn urls(&self) -> anyhow::Result<Vec<(&str, &str)>> {
        let known = |s: &str| ["order", "payment", "inventory"].contains(&s);
        if let Some(url) = &self.database_url {
            let label = self.service.as_deref().unwrap_or("database");
            anyhow::ensure!(
                self.service.is_none() || known(label),
                "unknown service (order | payment | inventory)"
            );
            return Ok(vec![(label, url.as_str())]);
        }
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

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, Parser};

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        target: super::Target,
    }

    fn urls(args: &[&str]) -> Vec<(String, String)> {
        let cli = Cli::try_parse_from(args).unwrap();
        let urls = cli.target.urls().unwrap();
        urls.iter()
            .map(|(s, u)| (s.to_string(), u.to_string()))
            .collect()
    }

    #[test]
    fn database_url_is_the_one_database_read() {
        let url = "postgres://app@db:5432/payments";
        assert_eq!(
            urls(&["outbox", "--service", "payment", "--database-url", url]),
            [("payment".to_owned(), url.to_owned())]
        );
        assert_eq!(
            urls(&["outbox", "--database-url", url]),
            [("database".to_owned(), url.to_owned())]
        );
        if std::env::var_os("DATABASE_URL").is_none() {
            assert_eq!(urls(&["outbox"]).len(), 3, "without it, every service's");
        }
        let command = Cli::command();
        let arg = command
            .get_arguments()
            .find(|a| a.get_long() == Some("database-url"))
            .unwrap();
        assert_eq!(arg.get_env(), Some(std::ffi::OsStr::new("DATABASE_URL")));
        assert!(arg.is_hide_env_values_set(), "--help must not show the URL");
    }
}
