//! order-service: the saga's start and outcome: an event-sourced order aggregate behind an HTTP API.
//!
//! [`build`] is the factory the binary and the tests share: it connects, migrates and
//! binds, and returns the service ready to run.

pub mod app;
pub mod domain;
pub mod store;

use clap::Parser;
use service_kit::config::Resolved;
use service_kit::{App, ServiceConfig, ServiceSpec, Shutdown};

/// Name, database, port and migrations of this service (DESIGN.md §4 and §7).
pub const SPEC: ServiceSpec = ServiceSpec {
    name: contracts::topics::ORDER_SERVICE,
    database: "orders",
    http_port: 8080,
    migrations: &[messaging::schema::migrator, migrator],
};

/// The order service's own tables (event store, snapshots, view, deadlines).
fn migrator() -> sqlx::migrate::Migrator {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator
}

/// Command line and environment of the binary.
#[derive(Debug, Parser)]
#[command(name = "order-service", version, about = "The saga's order service.")]
pub struct Cli {
    #[command(flatten)]
    pub service: ServiceConfig,
}

/// Connects, migrates and binds; the returned app serves once run.
pub async fn build(config: Resolved, shutdown: Shutdown) -> anyhow::Result<App> {
    App::build(&SPEC, &config, shutdown).await
}
