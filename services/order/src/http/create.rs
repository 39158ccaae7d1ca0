//! `POST /orders`: answers 202 at once; the saga runs on.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use contracts::OrderId;
use serde::Deserialize;
use serde_json::{Value, json};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::{ApiError, MAX_BODY_BYTES};
use crate::app::{Cause, OrderService};
use crate::domain::draft::RawLine;
use crate::domain::{Command, OrderDraft};
use crate::store::idempotency::{self, KeyUse};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateOrder {
    customer_id: String,
    items: Vec<Line>,
    currency: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    sku: String,
    quantity: i64,
    unit_price_cents: i64,
}

/// Reads a JSON body strictly: 413 over the limit, 415 when not JSON, 400 for broken
/// JSON, 422 naming the field for anything that does not fit the shape.
pub fn parse_json<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            format!("the body is over {MAX_BODY_BYTES} bytes"),
        ));
    }
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
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
            ApiError::new(
                StatusCode::BAD_REQUEST,
                None,
                format!("malformed JSON: {message}"),
            )
        } else {
            // serde names a missing or unknown field in its message, not in the path.
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
        }
    })
}

/// `missing field `customer_id`` → `customer_id`.
fn backticked(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    Some(message[start..end].to_owned())
}

pub async fn create(
    State(service): State<OrderService>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let request: CreateOrder = parse_json(&headers, &body)?;
    let lines: Vec<RawLine> = request
        .items
        .into_iter()
        .map(|l| RawLine {
            sku: l.sku,
            quantity: l.quantity,
            unit_price_cents: l.unit_price_cents,
        })
        .collect();
    let draft = OrderDraft::parse(&request.customer_id, &lines, &request.currency)
        .map_err(|err| ApiError::unprocessable(Some(&err.field), err.message))?;
    let key = headers
        .get("idempotency-key")
        .map(|v| v.to_str().map(str::to_owned))
        .transpose()
        .map_err(|_| ApiError::bad_request("Idempotency-Key", "not visible ASCII"))?;
    if key.as_ref().is_some_and(|k| k.is_empty() || k.len() > 200) {
        return Err(ApiError::bad_request(
            "Idempotency-Key",
            "must be 1 to 200 characters",
        ));
    }

    let order_id = OrderId::new();
    let cause = Cause {
        causation_id: None,
        trace: tracing::Span::current().context(),
    };
    let mut tx = service.pool.begin().await?;
    if let Some(key) = &key {
        match idempotency::claim(&mut tx, key, &idempotency::request_hash(&body), order_id.0)
            .await?
        {
            KeyUse::New => {}
            KeyUse::Replay(existing) => {
                drop(tx);
                return existing_order(&service, OrderId(existing)).await;
            }
            KeyUse::Mismatch => {
                return Err(ApiError::unprocessable(
                    Some("Idempotency-Key"),
                    "this key was used for another request",
                ));
            }
        }
    }
    let executed = service
        .execute(
            &mut tx,
            order_id,
            Command::Create { order_id, draft },
            &cause,
            chrono::Utc::now(),
        )
        .await?
        .map_err(ApiError::from)?;
    tx.commit().await?;
    service.wakeup.notify();
    if let Some(correlation_id) = executed.correlation_id {
        tracing::Span::current().record("saga.correlation_id", correlation_id.to_string());
    }
    metrics::counter!("orders_created_total").increment(1);
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "order_id": order_id,
            "correlation_id": executed.correlation_id,
            "status": "pending",
        })),
    ))
}

async fn existing_order(
    service: &OrderService,
    order_id: OrderId,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut conn = service.pool.acquire().await?;
    let loaded = crate::store::event_store::load(&mut conn, order_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let first = crate::store::event_store::first_metadata(&mut conn, order_id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "order_id": order_id,
            "correlation_id": first.map(|m| m.correlation_id),
            "status": loaded.order.status,
        })),
    ))
}
