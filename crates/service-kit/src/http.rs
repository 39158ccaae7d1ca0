//! HTTP pieces every service's API shares: the JSON error shape and the OpenAPI route.

use axum::Json;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

/// Largest request body a service accepts (413 beyond).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// `{"error": "...", "field": "items[0].quantity" | null}` with `status`.
pub fn json_error(status: StatusCode, field: Option<&str>, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"error": message.into(), "field": field})),
    )
        .into_response()
}

/// Any path no route serves: a JSON 404 like every other refusal.
pub async fn no_route() -> Response {
    json_error(StatusCode::NOT_FOUND, None, "no such route")
}

/// A path served, but not for this method: a JSON 405 (axum's own has an empty body).
pub async fn wrong_method() -> Response {
    json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        "method not allowed on this route",
    )
}

/// Logs a request that failed on the server's side. A WARN: it is transient (the
/// database or broker away, retried with backoff by the services themselves) and the
/// client is told to retry; ERROR is kept for what needs an operator.
pub fn log_unavailable(err: &dyn std::fmt::Display) {
    tracing::warn!(error = %err, "A request failed on the server's side; answered 503.");
}

/// A 503 for a failure on the server's side: logged, never leaked to the client.
pub fn unavailable(err: &dyn std::fmt::Display) -> Response {
    log_unavailable(err);
    json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        None,
        "temporarily unavailable; retry",
    )
}

/// `GET /openapi.json` serving `document`.
pub fn openapi(document: &'static str) -> Router {
    Router::new().route(
        "/openapi.json",
        get(move || async move { ([(header::CONTENT_TYPE, "application/json")], document) }),
    )
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
        saga.correlation_id = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    let parent = global::get_text_map_propagator(|p| p.extract(&RequestHeaders(request.headers())));
    let _ = span.set_parent(parent);
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    response
}
