//! payment-service: charges and refunds customers' accounts in reaction to order events.
//!
//! - [`domain`]: the reactions as a pure decider.
//! - [`store`]: the per-order state row, accounts and the ledger.
//! - [`handlers`]: `order-events` through the consumer runtime.
//! - [`http`]: `GET /payments/{order_id}`, `GET /accounts/{customer_id}`.
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

use crate::handlers::PaymentHandler;

/// Name, database, port and migrations of this service (DESIGN.md §4 and §7).
pub const SPEC: ServiceSpec = ServiceSpec {
    name: contracts::topics::PAYMENT_SERVICE,
    database: "payments",
    http_port: 8081,
    migrations: &[messaging::schema::migrator, migrator],
    api: http::api,
};

/// payment's own tables (accounts, payments, ledger) and the seeded customers.
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator
}

/// Command line and environment of the binary.
#[derive(Debug, Parser)]
#[command(
    name = "payment-service",
    version,
    about = "The saga's payment service."
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
        "payments",
        &["cancelled_before_charge"],
        parts.state_row_retention,
    ));
    app.consume(
        contracts::topics::consumed_by(contracts::topics::PAYMENT_SERVICE),
        Arc::new(PaymentHandler {
            wakeup: parts.wakeup.clone(),
            service_name: parts.service_name.clone(),
        }),
    )?;
    Ok(app)
}
