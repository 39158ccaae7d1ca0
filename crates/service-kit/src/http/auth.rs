//! The HTTP edge of [`crate::auth`]: the layer that turns a bearer token into a
//! [`Principal`] for the handlers, and answers 401 before any handler runs.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::auth::{Denied, Principal, TokenError, Verifier};

/// Paths served to anyone, auth on or off: probes and metrics say nothing secret.
pub(super) const OPEN: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Whether requests need a token: `None` is auth off.
pub type Authenticator = Option<Arc<Verifier>>;

/// Gives each request its principal: [`Principal::Trusted`] with auth off; with auth on,
/// the token's, or a 401 for a request without a valid one.
pub async fn authenticate(
    State(verifier): State<Authenticator>,
    mut request: Request,
    next: Next,
) -> Response {
    let principal = match &verifier {
        None => Principal::Trusted,
        Some(_) if OPEN.contains(&request.uri().path()) => return next.run(request).await,
        Some(verifier) => match bearer(request.headers()).and_then(|t| verifier.verify(t)) {
            Ok(principal) => principal,
            Err(refusal) => return unauthorized(&refusal),
        },
    };
    request.extensions_mut().insert(principal);
    next.run(request).await
}

fn bearer(headers: &axum::http::HeaderMap) -> Result<&str, TokenError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(TokenError::Missing)?;
    let value = value.to_str().map_err(|_| TokenError::Missing)?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        _ => Err(TokenError::Missing),
    }
}

fn unauthorized(refusal: &TokenError) -> Response {
    metrics::counter!("http_requests_unauthorized_total").increment(1);
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, None, refusal.to_string()).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"saga\""),
    );
    response
}

/// A handler takes the request's principal as an argument. Without the
/// [`authenticate`] layer there is none, and the request fails closed (500).
impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<Principal>().cloned().ok_or_else(|| {
            tracing::error!(
                "A handler asked for the principal of a request the authentication layer never saw."
            );
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, None, "internal error")
        })
    }
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> Self {
        metrics::counter!("http_requests_forbidden_total").increment(1);
        ApiError::new(StatusCode::FORBIDDEN, None, denied.to_string())
    }
}
