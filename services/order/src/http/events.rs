//! `GET /orders/{id}/events`: the order's history.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use service_kit::auth::Principal;
use service_kit::http::{ApiError, ErrorBody};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{authorize, no_such_order, parse_order_id};
use crate::app::OrderService;
use crate::store::event_store;

/// One event of the order's stream.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoredEvent {
    version: i64,
    /// The event's type (`OrderCreated`, ...).
    #[serde(rename = "type")]
    event_type: &'static str,
    recorded_at: DateTime<Utc>,
    /// The event's payload.
    data: serde_json::Value,
    event_id: Uuid,
    /// The `ce_id` of the message that caused it.
    causation_id: Uuid,
}

/// The order's history.
#[utoipa::path(get, path = "/orders/{id}/events", operation_id = "getOrderEvents",
    params(("id" = Uuid, Path, description = "The order's id")),
    responses(
        (status = OK, description = "Every event, oldest first", body = Vec<StoredEvent>),
        (status = BAD_REQUEST, description = "Malformed input", body = ErrorBody),
        (status = NOT_FOUND, description = "Unknown order", body = ErrorBody),
        (status = FORBIDDEN, description = "A customer's token, another customer's order", body = ErrorBody),
        (status = SERVICE_UNAVAILABLE, description = "Temporarily unavailable", body = ErrorBody),
    ))]
pub async fn events(
    State(service): State<OrderService>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Vec<StoredEvent>>, ApiError> {
    let order_id = parse_order_id(&id)?;
    authorize(&service, &principal, order_id).await?;
    let mut conn = service.pool.acquire().await?;
    let history = event_store::history(&mut conn, order_id).await?;
    if history.is_empty() {
        return Err(no_such_order());
    }
    Ok(Json(
        history
            .into_iter()
            .map(|e| StoredEvent {
                version: e.version,
                event_type: e.event.event_type(),
                recorded_at: e.recorded_at,
                data: e.event.payload(),
                event_id: e.metadata.event_id,
                causation_id: e.metadata.causation_id,
            })
            .collect(),
    ))
}
