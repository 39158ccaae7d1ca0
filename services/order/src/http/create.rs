//! `POST /orders`: answers 202 at once; the saga runs on.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use contracts::OrderId;
use serde::{Deserialize, Serialize};
use service_kit::auth::Principal;
use service_kit::http::{ApiError, ErrorBody, parse_json};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use utoipa::ToSchema;
use uuid::Uuid;

use super::no_such_order;
use crate::app::{Cause, OrderService};
use crate::domain::draft::RawLine;
use crate::domain::{Command, OrderDraft, OrderStatus};
use crate::store::idempotency::{self, KeyUse};

// The bounds are `domain::draft`'s; `http::tests` holds them equal.
/// A new order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrder {
    #[schema(min_length = 1, max_length = 100)]
    customer_id: String,
    /// No SKU twice.
    #[schema(min_items = 1, max_items = 100)]
    items: Vec<Line>,
    #[schema(examples("EUR"))]
    currency: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Line {
    #[schema(min_length = 1, max_length = 100)]
    sku: String,
    #[schema(minimum = 1, maximum = 10_000)]
    quantity: i64,
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    unit_price_cents: i64,
}

/// The order was placed; its saga runs on.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    order_id: Uuid,
    #[schema(required = true)]
    correlation_id: Option<Uuid>,
    status: OrderStatus,
}

/// Places an order; answers 202 at once, the saga runs on.
#[utoipa::path(post, path = "/orders", operation_id = "createOrder",
    params(("Idempotency-Key" = Option<String>, Header,
        description = "1 to 200 characters: the same key and body answer the first order again")),
    request_body = CreateOrder,
    responses(
        (status = ACCEPTED, description = "Accepted: the saga runs on", body = Accepted),
        (status = BAD_REQUEST, description = "Malformed input", body = ErrorBody),
        (status = PAYLOAD_TOO_LARGE, description = "Body over 64 KiB", body = ErrorBody),
        (status = UNSUPPORTED_MEDIA_TYPE, description = "Not JSON", body = ErrorBody),
        (status = UNPROCESSABLE_ENTITY, description = "Invalid field, or a key used for another request", body = ErrorBody),
        (status = FORBIDDEN, description = "A customer's token for another customer", body = ErrorBody),
        (status = SERVICE_UNAVAILABLE, description = "Temporarily unavailable", body = ErrorBody),
    ))]
pub async fn create(
    State(service): State<OrderService>,
    principal: Principal,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    // The raw body is kept: an idempotency key is bound to its hash.
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
    // The customer charged, as the draft reads it (trimmed): a customer's token orders for
    // that customer alone.
    principal.may_act_for(&draft.customer_id)?;
    let key = headers
        .get("idempotency-key")
        .map(|v| v.to_str().map(str::to_owned))
        .transpose()
        .map_err(|_| ApiError::bad_request("Idempotency-Key", "not visible ASCII"))?;
    // One principal's key can neither replay nor block another's order.
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
        let key = principal.scope_key(key);
        let hash = idempotency::request_hash(&body);
        match idempotency::claim(&mut tx, &key, &hash, order_id.0).await? {
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
        )
        .await?
        .map_err(ApiError::from)?;
    tx.commit()
        .instrument(telemetry::db_span!("COMMIT"))
        .await?;
    service.wakeup.notify();
    let request = tracing::Span::current();
    request.record("order.id", tracing::field::display(order_id));
    if let Some(correlation_id) = executed.correlation_id {
        request.record("saga.correlation_id", correlation_id.to_string());
    }
    metrics::counter!("orders_created_total").increment(1);
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            order_id: order_id.0,
            correlation_id: executed.correlation_id,
            status: OrderStatus::Pending,
        }),
    ))
}

async fn existing_order(
    service: &OrderService,
    order_id: OrderId,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let mut conn = service.pool.acquire().await?;
    let loaded = crate::store::event_store::load(&mut conn, order_id)
        .await?
        .ok_or_else(no_such_order)?;
    let first = crate::store::event_store::first_metadata(&mut conn, order_id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            order_id: order_id.0,
            correlation_id: first.map(|m| m.correlation_id),
            status: loaded.order.status,
        }),
    ))
}
