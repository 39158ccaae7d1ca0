//! API errors: a status, a message, and the field to blame.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::app::ServiceError;
use crate::domain::DomainError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: String,
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, field: Option<&str>, error: impl Into<String>) -> Self {
        Self {
            status,
            error: error.into(),
            field: field.map(str::to_owned),
        }
    }

    pub fn bad_request(field: &str, error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(field), error)
    }

    pub fn unprocessable(field: Option<&str>, error: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, field, error)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, None, "no such order")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        service_kit::http::json_error(self.status, self.field.as_deref(), self.error)
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::NotFound => ApiError::not_found(),
            DomainError::InvalidTrackingNumber => {
                ApiError::unprocessable(Some("tracking_number"), err.to_string())
            }
            DomainError::AlreadyExists
            | DomainError::AlreadyCancelled
            | DomainError::AlreadyShipped
            | DomainError::NotConfirmed
            | DomainError::Cancelled => ApiError::new(StatusCode::CONFLICT, None, err.to_string()),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        service_kit::http::log_unavailable(&err);
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            "temporarily unavailable; retry",
        )
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(err: crate::store::StoreError) -> Self {
        ServiceError::from(err).into()
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        ServiceError::from(err).into()
    }
}
