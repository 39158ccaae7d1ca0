//! order-service: the saga's start and outcome: an event-sourced order aggregate behind
//! an HTTP API.
//!
//! - [`domain`]: the aggregate as a pure decider.
//! - [`store`]: event store, snapshots, read model, deadlines, idempotency keys.
//! - [`app`]: executing a command: decide, append, view, deadline, outbox, one transaction.
//! - [`http`]: the API of DESIGN.md §7.
//! - [`handlers`]: reactions to payment and inventory events, and the deadline timer.
//!
//! [`build`] is the factory the binary and the tests share.

pub mod app;
pub mod domain;
pub mod handlers;
pub mod http;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser};
use service_kit::config::Resolved;
use service_kit::{App, ServiceConfig, ServiceSpec, Shutdown};

use crate::app::OrderService;
use crate::handlers::{SagaHandler, run_deadlines};

/// Name, database, port and migrations of this service (DESIGN.md §4 and §7).
pub const SPEC: ServiceSpec = ServiceSpec {
    name: contracts::topics::ORDER_SERVICE,
    database: "orders",
    http_port: 8080,
    migrations: &[messaging::schema::migrator, migrator],
    api: http::api,
};

/// The order service's own tables (event store, snapshots, view, deadlines).
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator
}

/// Settings of the order service beyond the common ones.
#[derive(Debug, Clone, Args)]
pub struct OrderSettings {
    /// How long an order may stay pending before it is cancelled with reason
    /// `deadline` (e.g. `30s`, `500ms`, `2m`).
    #[arg(long, env = "SAGA_DEADLINE", default_value = "30s", value_parser = service_kit::config::parse_duration)]
    pub saga_deadline: Duration,

    /// A snapshot of an order every this many events.
    #[arg(long, env = "ORDER_SNAPSHOT_EVERY", default_value_t = 10)]
    pub snapshot_every: i64,

    /// How long an `Idempotency-Key` is remembered: a retry of `POST /orders` within it
    /// gets the same order.
    #[arg(long, env = "IDEMPOTENCY_KEY_RETENTION", default_value = "24h", value_parser = service_kit::config::parse_duration)]
    pub idempotency_key_retention: Duration,

    /// The system's clock; a test's own, to move time instead of waiting for it.
    #[arg(skip)]
    pub clock: app::Clock,
}

impl Default for OrderSettings {
    fn default() -> Self {
        Self {
            saga_deadline: Duration::from_secs(30),
            snapshot_every: 10,
            idempotency_key_retention: Duration::from_secs(24 * 3600),
            clock: app::Clock::system(),
        }
    }
}

/// Command line and environment of the binary.
#[derive(Debug, Parser)]
#[command(name = "order-service", version, about = "The saga's order service.")]
pub struct Cli {
    #[command(flatten)]
    pub service: ServiceConfig,
    #[command(flatten)]
    pub order: OrderSettings,
}

/// Connects, migrates and binds; the returned app serves the API, consumes the saga's
/// outcomes and expires deadlines once run.
pub async fn build(
    config: Resolved,
    settings: OrderSettings,
    shutdown: Shutdown,
) -> anyhow::Result<App> {
    let app = App::build(&SPEC, &config, shutdown).await?;
    let parts = app.parts().clone();
    let requests = OrderService {
        pool: parts.pool.clone(),
        wakeup: parts.wakeup.clone(),
        saga_deadline: settings.saga_deadline,
        snapshot_every: settings.snapshot_every,
        clock: settings.clock,
    };
    // The consumer and the deadlines work on the sagas' own pool: a flood of requests
    // cannot hold up the sagas, nor let their deadlines cancel them.
    let sagas = OrderService {
        pool: parts.saga_pool.clone(),
        ..requests.clone()
    };
    let mut app = app.with_routes(http::router(requests));
    app.consume(
        contracts::topics::consumed_by(contracts::topics::ORDER_SERVICE),
        Arc::new(SagaHandler {
            service: sagas.clone(),
        }),
    )?;
    app.spawn(run_deadlines(sagas, parts.shutdown.clone()));
    app.retain(store::idempotency::retention(
        settings.idempotency_key_retention,
    ));
    app.retain(store::saga_lock::retention());
    Ok(app)
}
