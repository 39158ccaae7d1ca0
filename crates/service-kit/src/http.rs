//! HTTP pieces every service's API shares: the JSON error shape and the OpenAPI route.

use axum::Json;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

/// `{"error": "...", "field": "items[0].quantity" | null}` with `status`.
pub fn json_error(status: StatusCode, field: Option<&str>, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"error": message.into(), "field": field})),
    )
        .into_response()
}

/// A 503 for a failure on the server's side: logged, never leaked to the client.
pub fn unavailable(err: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %err, "A request failed on the server's side.");
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
