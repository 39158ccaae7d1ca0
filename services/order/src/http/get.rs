//! `GET /orders/{id}[?at=RFC3339]`: the order now, or as it was at a moment.

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{ApiError, parse_order_id};
use crate::app::OrderService;
use crate::domain::Order;
use crate::store::event_store;

#[derive(Debug, Deserialize)]
pub struct AtQuery {
    at: Option<String>,
}

/// The JSON shape of DESIGN.md §7.
pub fn order_json(order: &Order, correlation_id: Option<Uuid>) -> Value {
    json!({
        "order_id": order.order_id,
        "status": order.status,
        "cancel_reason": order.cancel_reason,
        "compensation": order.compensation,
        "total_cents": order.total_cents,
        "currency": order.currency,
        "items": order.items,
        "tracking_number": order.tracking_number,
        "version": order.version,
        "correlation_id": correlation_id,
    })
}

pub async fn get(
    State(service): State<OrderService>,
    Path(id): Path<String>,
    Query(query): Query<AtQuery>,
) -> Result<Json<Value>, ApiError> {
    let order_id = parse_order_id(&id)?;
    let at = query
        .at
        .map(|raw| {
            // An unencoded `+` in a query string arrives as a space.
            DateTime::parse_from_rfc3339(&raw.replace(' ', "+"))
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| ApiError::bad_request("at", "not an RFC 3339 time"))
        })
        .transpose()?;
    let mut conn = service.pool.acquire().await?;
    let order = match at {
        Some(at) => event_store::load_at(&mut conn, order_id, at).await?,
        None => event_store::load(&mut conn, order_id)
            .await?
            .map(|l| l.order),
    };
    let order = order.ok_or_else(ApiError::not_found)?;
    let first = event_store::first_metadata(&mut conn, order_id).await?;
    let trace_id = first.as_ref().and_then(|m| trace_id(&m.trace));
    let mut body = order_json(&order, first.map(|m| m.correlation_id));
    body["trace_id"] = trace_id.map_or(Value::Null, Value::from);
    Ok(Json(body))
}

/// The saga's trace id, from the root context kept with the order's first event.
fn trace_id(trace: &std::collections::BTreeMap<String, String>) -> Option<String> {
    let traceparent = trace.get(contracts::headers::TRACEPARENT)?;
    let id = traceparent.split('-').nth(1)?;
    (id.len() == 32 && id != "00000000000000000000000000000000").then(|| id.to_owned())
}
