//! `/healthz`, `/readyz` and `/metrics`, the same on every service.

use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use messaging::consumer::{ConsumerHealth, ConsumerState};
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
    /// The service's consumers, registered as `App::consume` starts them.
    pub consumers: Consumers,
}

/// The health of every consumer a service runs.
#[derive(Clone, Debug, Default)]
pub struct Consumers(Arc<RwLock<Vec<ConsumerHealth>>>);

impl Consumers {
    pub fn register(&self, health: ConsumerHealth) {
        if let Ok(mut all) = self.0.write() {
            all.push(health);
        }
    }

    /// `ok`, or each consumer that is not running and why, for `/readyz`. A paused
    /// consumer waits out an outage by itself; a stuck or failed one needs a person
    /// (a failed one also makes the service exit, so its supervisor restarts it).
    fn check(&self) -> Result<(), String> {
        let all = self.0.read().map_err(|_| "unknown".to_owned())?;
        let problems: Vec<String> = all
            .iter()
            .filter_map(|consumer| {
                let problem = match consumer.state() {
                    ConsumerState::Running => return None,
                    ConsumerState::Paused => "paused by an outage".to_owned(),
                    ConsumerState::Stuck { lag, idle } => format!(
                        "stuck: {lag} messages waiting, none handled for {}s",
                        idle.as_secs()
                    ),
                    ConsumerState::Failed(_) => "failed; the service is stopping".to_owned(),
                };
                Some(format!("{}: {problem}", consumer.group()))
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
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

/// `ok`, or what is wrong, for each dependency and the consumers. The reasons a
/// dependency failed are logged, not shown: this route is open to anyone.
#[derive(Debug, Serialize, ToSchema)]
struct Checks {
    postgres: String,
    kafka: String,
    consumers: String,
}

/// Liveness: the process is up and serving.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "operations",
    responses((status = OK, description = "Alive", body = Liveness)))]
async fn healthz() -> Json<Liveness> {
    Json(Liveness { status: "ok" })
}

/// Readiness: Kafka and PostgreSQL answer now, and every consumer is running.
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "operations",
    responses(
        (status = OK, description = "Kafka and PostgreSQL answer, every consumer runs", body = Readiness),
        (status = SERVICE_UNAVAILABLE, description = "Not ready: the checks say why", body = Readiness),
    ))]
async fn readyz(State(state): State<HealthState>) -> (StatusCode, Json<Readiness>) {
    let (postgres, kafka) = tokio::join!(
        database::ping(&state.pool, CHECK_TIMEOUT),
        state.kafka.check(CHECK_TIMEOUT)
    );
    let consumers = state.consumers.check();
    let ready = postgres.is_ok() && kafka.is_ok() && consumers.is_ok();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let hide = |dependency: &str, check: Result<(), String>| match check {
        Ok(()) => "ok".to_owned(),
        Err(detail) => {
            tracing::warn!(dependency, error = %detail, "Not ready.");
            "unavailable".to_owned()
        }
    };
    let body = Readiness {
        status: if ready { "ready" } else { "not_ready" },
        checks: Checks {
            postgres: hide("postgres", postgres),
            kafka: hide("kafka", kafka),
            consumers: consumers.err().unwrap_or_else(|| "ok".to_owned()),
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
