//! `/healthz`, `/readyz` and `/metrics`, the same on every service.

use std::sync::OnceLock;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use messaging::probe::KafkaProbe;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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

/// The operational routes every service serves, with their OpenAPI paths.
pub fn routes() -> OpenApiRouter<HealthState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics_text))
}

#[derive(Debug, Serialize, ToSchema)]
struct Liveness {
    /// Always `ok`.
    status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
struct Readiness {
    /// `ready` or `not_ready`.
    status: &'static str,
    checks: Checks,
}

/// `ok`, or what went wrong, for each dependency.
#[derive(Debug, Serialize, ToSchema)]
struct Checks {
    postgres: String,
    kafka: String,
}

/// Liveness: the process is up and serving.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "operations",
    responses((status = OK, description = "Alive", body = Liveness)))]
async fn healthz() -> Json<Liveness> {
    Json(Liveness { status: "ok" })
}

/// Readiness: both Kafka and PostgreSQL answer now.
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "operations",
    responses(
        (status = OK, description = "Kafka and PostgreSQL answer", body = Readiness),
        (status = SERVICE_UNAVAILABLE, description = "Not ready: the checks say why", body = Readiness),
    ))]
async fn readyz(State(state): State<HealthState>) -> (StatusCode, Json<Readiness>) {
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
    let describe = |check: Result<(), String>| check.err().unwrap_or_else(|| "ok".to_owned());
    let body = Readiness {
        status: if ready { "ready" } else { "not_ready" },
        checks: Checks {
            postgres: describe(postgres),
            kafka: describe(kafka),
        },
    };
    (status, Json(body))
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "operations",
    responses((status = OK, description = "Prometheus text format", body = String, content_type = "text/plain")))]
async fn metrics_text(State(state): State<HealthState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
