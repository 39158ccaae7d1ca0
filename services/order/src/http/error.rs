//! How the order service's failures become `service_kit::http::ApiError`s.

use service_kit::http::ApiError;

use crate::app::ServiceError;
use crate::domain::DomainError;

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::NotFound => super::no_such_order(),
            DomainError::InvalidTrackingNumber => {
                ApiError::unprocessable(Some("tracking_number"), err.to_string())
            }
            DomainError::AlreadyExists
            | DomainError::AlreadyCancelled
            | DomainError::AlreadyShipped
            | DomainError::NotConfirmed
            | DomainError::Cancelled => ApiError::conflict(err.to_string()),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        ApiError::unavailable(&err)
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(err: crate::store::StoreError) -> Self {
        ApiError::unavailable(&err)
    }
}
