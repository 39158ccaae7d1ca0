//! The one error shape of every API: a status, a message, and the field to blame.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// A refused or failed request, answered as [`ErrorBody`] with its status.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

/// `{"error": "...", "field": "items[0].quantity" | null}`: what every 4xx and 5xx says.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// What is wrong, for a person.
    pub error: String,
    /// The input to blame: a body field's path, a path or query parameter, or a header.
    #[schema(required = true, examples("items[0].quantity"))]
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, field: Option<&str>, error: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                error: error.into(),
                field: field.map(str::to_owned),
            },
        }
    }

    /// 400: a path or query parameter, or a header, that cannot be what it names.
    pub fn bad_request(field: &str, error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(field), error)
    }

    /// 422: well-formed, but not a valid value.
    pub fn unprocessable(field: Option<&str>, error: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, field, error)
    }

    /// 404 saying what was not found.
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, what)
    }

    /// 409: the request does not fit the resource's state.
    pub fn conflict(error: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, None, error)
    }

    /// 503 for a failure on the server's side: logged, never leaked to the client.
    pub fn unavailable(err: &dyn std::fmt::Display) -> Self {
        log_unavailable(err);
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            "temporarily unavailable; retry",
        )
    }
}

/// Seconds a client is asked to wait before retrying a 503.
pub const RETRY_AFTER_SECONDS: u64 = 1;

impl IntoResponse for ApiError {
    /// A 503 says when to come back (`Retry-After`), so well-behaved clients back off
    /// instead of hammering a service that sheds load.
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}

/// The database away is transient: a 503 the client retries.
impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        Self::unavailable(&err)
    }
}

/// Logs a request that failed on the server's side. A WARN: it is transient (the
/// database or broker away, retried with backoff by the services themselves) and the
/// client is told to retry; ERROR is kept for what needs an operator.
pub fn log_unavailable(err: &dyn std::fmt::Display) {
    tracing::warn!(error = %err, "A request failed on the server's side; answered 503.");
}
