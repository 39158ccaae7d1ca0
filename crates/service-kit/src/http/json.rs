//! Strict JSON request bodies, the same for every route that takes one.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use super::ApiError;

/// Largest request body a service accepts (413 beyond).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON body read by [`parse_json`]'s rules: the extractor for routes that take one.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let headers = request.headers().clone();
        let body = Bytes::from_request(request, state).await.map_err(|err| {
            ApiError::new(
                err.status(),
                None,
                format!("the body could not be read: {err}"),
            )
        })?;
        parse_json(&headers, &body).map(JsonBody)
    }
}

/// Reads a JSON body strictly: 413 over [`MAX_BODY_BYTES`], 415 when not JSON, 400 for
/// broken JSON, 422 naming the field (`items[0].quantity`) for anything that does not
/// fit the shape. For a route that also needs the raw bytes (an idempotency hash).
pub fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            format!("the body is over {MAX_BODY_BYTES} bytes"),
        ));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            "the body must be application/json",
        ));
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let field = (path != ".").then_some(path);
        let message = inner.to_string();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                None,
                format!("malformed JSON: {message}"),
            );
        }
        // A missing field is not in the path (its parent is): serde names it in the
        // message. An unknown one is the path's last segment already.
        let named = if message.starts_with("missing field") {
            backticked(&message).map(|name| match &field {
                Some(parent) => format!("{parent}.{name}"),
                None => name,
            })
        } else {
            field.or_else(|| backticked(&message))
        };
        ApiError::unprocessable(named.as_deref(), message)
    })
}

/// `missing field `customer_id`` → `customer_id`.
fn backticked(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    Some(message[start..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Order {
        customer_id: String,
        items: Vec<Line>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Line {
        quantity: i64,
    }

    fn refusal(content_type: &str, body: &[u8]) -> (StatusCode, Option<String>) {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        let err = parse_json::<Order>(&headers, &Bytes::copy_from_slice(body)).unwrap_err();
        (err.status, err.body.field)
    }

    #[test]
    fn each_kind_of_bad_body_has_its_status_and_names_its_field() {
        let json = "application/json";
        assert_eq!(
            refusal("text/plain", b"{}").0,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        let large = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(refusal(json, &large).0, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            refusal(json, b"{\"customer_id\":").0,
            StatusCode::BAD_REQUEST
        );
        let missing = refusal(json, br#"{"items":[]}"#);
        assert_eq!(
            missing,
            (StatusCode::UNPROCESSABLE_ENTITY, Some("customer_id".into()))
        );
        let nested = refusal(json, br#"{"customer_id":"c","items":[{"quantity":"x"}]}"#);
        assert_eq!(nested.1.as_deref(), Some("items[0].quantity"));
        let nested_missing = refusal(json, br#"{"customer_id":"c","items":[{}]}"#);
        assert_eq!(nested_missing.1.as_deref(), Some("items[0].quantity"));
        let unknown = refusal(json, br#"{"customer_id":"c","items":[],"extra":1}"#);
        assert_eq!(unknown.1.as_deref(), Some("extra"));
    }
}
