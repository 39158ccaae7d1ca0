//! `/healthz`, `/readyz` and `/metrics`, the same on every service.

use std::sync::OnceLock;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use messaging::probe::KafkaProbe;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use sqlx::PgPool;

use crate::database;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The process-wide Prometheus recorder, installed on first use. One recorder per
/// process: tests that build several apps in one process share it.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder was installed first; then ours stays
            // unused and /metrics shows nothing, which the health tests would catch.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// What the probes look at.
#[derive(Clone, Debug)]
pub struct HealthState {
    pub pool: PgPool,
    pub kafka: KafkaProbe,
    pub metrics: PrometheusHandle,
}

/// The operational routes every service serves.
pub fn router(state: HealthState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(state)
}

/// Liveness: the process is up and serving.
async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// Readiness: both Kafka and PostgreSQL answer now.
async fn readyz(State(state): State<HealthState>) -> impl IntoResponse {
    let (postgres, kafka) = tokio::join!(
        database::ping(&state.pool, CHECK_TIMEOUT),
        state.kafka.check(CHECK_TIMEOUT)
    );
    let ready = postgres.is_ok() && kafka.is_ok();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let describe = |check: &Result<(), String>| match check {
        Ok(()) => "ok".to_owned(),
        Err(err) => err.clone(),
    };
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": {"postgres": describe(&postgres), "kafka": describe(&kafka)},
    });
    (status, Json(body))
}

async fn metrics_text(State(state): State<HealthState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
