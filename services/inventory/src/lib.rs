//! inventory-service: reserves, releases and ships stock in reaction to payment and
//! order events.
//!
//! - [`domain`]: the reactions as a pure decider.
//! - [`store`]: the per-order reservation row, stock (locked in SKU order), movements.
//! - [`handlers`]: `payment-events` and `order-events` through the consumer runtime.
//! - [`http`]: `GET /stock/{sku}`, `POST /stock/{sku}/restock`.
//!
//! [`build`] is the factory the binary and the tests share.

pub mod domain;
pub mod handlers;
pub mod http;
pub mod store;

use std::sync::Arc;

use clap::Parser;
use service_kit::config::Resolved;
use service_kit::retention::Retention;
use service_kit::{App, ServiceConfig, ServiceSpec, Shutdown};

use crate::handlers::InventoryHandler;

/// Name, database, port and migrations of this service (DESIGN.md §4 and §7).
pub const SPEC: ServiceSpec = ServiceSpec {
    name: contracts::topics::INVENTORY_SERVICE,
    database: "inventory",
    http_port: 8082,
    migrations: &[messaging::schema::migrator, migrator],
    api: http::api,
};

/// inventory's own tables (stock, reservations, movements) and the seeded SKUs.
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator
}

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

/// Connects, migrates and binds; the returned app serves and consumes once run.
pub async fn build(config: Resolved, shutdown: Shutdown) -> anyhow::Result<App> {
    let app = App::build(&SPEC, &config, shutdown).await?;
    let parts = app.parts().clone();
    let mut app = app.with_routes(http::router(parts.pool.clone()));
    app.retain(Retention::untouched_state_rows(
        "order_reservations",
        &["cancelled_before_reserve"],
        parts.state_row_retention,
    ));
    app.consume(
        contracts::topics::consumed_by(contracts::topics::INVENTORY_SERVICE),
        Arc::new(InventoryHandler {
            wakeup: parts.wakeup.clone(),
            service_name: parts.service_name.clone(),
        }),
    )?;
    Ok(app)
}
