//! HTTP pieces every service's API shares: the JSON error shape, the strict JSON body,
//! the OpenAPI document built from the routes, and the request span.

mod auth;
mod error;
mod json;
pub mod openapi;
mod runtime;
mod serve;
pub mod tls;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub use auth::{Authenticator, authenticate};
pub use error::{ApiError, ErrorBody, log_unavailable};
pub use json::{JsonBody, MAX_BODY_BYTES, parse_json};
pub use runtime::{ApiThreads, api_runtime};
pub use serve::{HttpLimits, limited, serve};

/// Any path no route serves: a JSON 404 like every other refusal.
pub async fn no_route() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, None, "no such route").into_response()
}

/// A path served, but not for this method: a JSON 405 (axum's own has an empty body).
pub async fn wrong_method() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        "method not allowed on this route",
    )
    .into_response()
}

/// Reads W3C trace context from request headers.
struct RequestHeaders<'a>(&'a axum::http::HeaderMap);

impl opentelemetry::propagation::Extractor for RequestHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// Paths too frequent and too dull to trace.
const UNTRACED: [&str; 4] = ["/healthz", "/readyz", "/metrics", "/openapi.json"];

/// A server span per request (OpenTelemetry HTTP conventions), the child of the
/// caller's `traceparent` when it sends one: where a saga's trace begins.
pub async fn trace_requests(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use opentelemetry::global;
    use tracing::Instrument;
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    let path = request.uri().path().to_owned();
    if UNTRACED.contains(&path.as_str()) {
        return next.run(request).await;
    }
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| path.clone());
    let method = request.method().clone();
    let span = tracing::info_span!(
        "request",
        otel.name = format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        url.path = %path,
        http.response.status_code = tracing::field::Empty,
        order.id = tracing::field::Empty,
        saga.correlation_id = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    let parent = global::get_text_map_propagator(|p| p.extract(&RequestHeaders(request.headers())));
    let _ = span.set_parent(parent);
    telemetry::record_trace_id(&span);
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    // An integer attribute: tracing-opentelemetry records unsigned values as text.
    span.record("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    response
}
