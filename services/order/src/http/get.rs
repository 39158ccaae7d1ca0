//! `GET /orders/{id}[?at=RFC3339]`: the order now, or as it was at a moment.

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use service_kit::auth::Principal;
use service_kit::http::{ApiError, ErrorBody};
use utoipa::IntoParams;

use super::body::OrderBody;
use super::{authorize, no_such_order, parse_order_id};
use crate::app::OrderService;
use crate::store::event_store;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtQuery {
    /// An RFC 3339 time: the order as it was then (a point-in-time read of its events).
    at: Option<String>,
}

/// The order now, or at a past moment.
#[utoipa::path(get, path = "/orders/{id}", operation_id = "getOrder",
    params(("id" = uuid::Uuid, Path, description = "The order's id"), AtQuery),
    responses(
        (status = OK, description = "The order", body = OrderBody),
        (status = BAD_REQUEST, description = "Malformed input", body = ErrorBody),
        (status = NOT_FOUND, description = "Unknown order (or not yet placed at `at`)", body = ErrorBody),
        (status = FORBIDDEN, description = "A customer's token, another customer's order", body = ErrorBody),
        (status = SERVICE_UNAVAILABLE, description = "Temporarily unavailable", body = ErrorBody),
    ))]
pub async fn get(
    State(service): State<OrderService>,
    principal: Principal,
    Path(id): Path<String>,
    Query(query): Query<AtQuery>,
) -> Result<Json<OrderBody>, ApiError> {
    let order_id = parse_order_id(&id)?;
    authorize(&service, &principal, order_id).await?;
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
    let order = order.ok_or_else(no_such_order)?;
    let first = event_store::first_metadata(&mut conn, order_id).await?;
    let trace_id = first.as_ref().and_then(|m| trace_id(&m.trace));
    Ok(Json(
        OrderBody::new(order, first.map(|m| m.correlation_id)).with_trace_id(trace_id),
    ))
}

/// The saga's trace id, from the root context kept with the order's first event.
fn trace_id(trace: &std::collections::BTreeMap<String, String>) -> Option<String> {
    let traceparent = trace.get(contracts::headers::TRACEPARENT)?;
    let id = traceparent.split('-').nth(1)?;
    (id.len() == 32 && id != "00000000000000000000000000000000").then(|| id.to_owned())
}
