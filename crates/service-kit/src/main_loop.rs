//! The body of every service's `main`.

use std::future::Future;

use anyhow::Context as _;

use crate::config::Resolved;
use crate::{App, ServiceConfig, ServiceSpec, Shutdown};

/// Telemetry, signals, build, serve, flush: in that order, the same for every service.
/// With `--openapi`, prints the API's document instead.
pub async fn run<F, Fut>(spec: &ServiceSpec, config: &ServiceConfig, build: F) -> anyhow::Result<()>
where
    F: FnOnce(Resolved, Shutdown) -> Fut,
    Fut: Future<Output = anyhow::Result<App>>,
{
    if config.openapi {
        use crate::http::openapi;
        print!("{}", openapi::to_json(&openapi::document(spec)));
        return Ok(());
    }
    let config = config.load(spec)?;
    let telemetry = telemetry::init(&config.telemetry).context("initialising telemetry")?;
    let shutdown = Shutdown::new();
    shutdown.trigger_on_signals();

    let outcome = match build(config, shutdown).await {
        Ok(app) => app.run().await,
        Err(err) => Err(err),
    };
    if let Err(err) = &outcome {
        tracing::error!(
            error = format!("{err:#}"),
            "The service stopped on an error."
        );
    }
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .context("flushing telemetry")?;
    outcome
}
