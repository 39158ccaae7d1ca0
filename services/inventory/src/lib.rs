//! inventory-service: reserves, releases and ships stock in reaction to payment and order events.
//!
//! [`build`] is the factory the binary and the tests share: it connects, migrates and
//! binds, and returns the service ready to run.

use clap::Parser;
use service_kit::config::Resolved;
use service_kit::{App, ServiceConfig, ServiceSpec, Shutdown};

/// Name, database, port and migrations of this service (DESIGN.md §4 and §7).
pub const SPEC: ServiceSpec = ServiceSpec {
    name: contracts::topics::INVENTORY_SERVICE,
    database: "inventory",
    http_port: 8082,
    migrations: &[messaging::schema::migrator],
};

/// Command line and environment of the binary.
#[derive(Debug, Parser)]
#[command(
    name = "inventory-service",
    version,
    about = "The saga's inventory service."
)]
pub struct Cli {
    #[command(flatten)]
    pub service: ServiceConfig,
}

/// Connects, migrates and binds; the returned app serves once run.
pub async fn build(config: Resolved, shutdown: Shutdown) -> anyhow::Result<App> {
    App::build(&SPEC, &config, shutdown).await
}
