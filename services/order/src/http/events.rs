//! `GET /orders/{id}/events`: the order's history.

use axum::Json;
use axum::extract::{Path, State};
use chrono::SecondsFormat;
use serde_json::{Value, json};

use super::{ApiError, parse_order_id};
use crate::app::OrderService;
use crate::store::event_store;

pub async fn events(
    State(service): State<OrderService>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let order_id = parse_order_id(&id)?;
    let mut conn = service.pool.acquire().await?;
    let history = event_store::history(&mut conn, order_id).await?;
    if history.is_empty() {
        return Err(ApiError::not_found());
    }
    Ok(Json(Value::Array(
        history
            .iter()
            .map(|e| {
                json!({
                    "version": e.version,
                    "type": e.event.event_type(),
                    "recorded_at": e.recorded_at.to_rfc3339_opts(SecondsFormat::Micros, true),
                    "data": e.event.payload(),
                    "event_id": e.metadata.event_id,
                    "causation_id": e.metadata.causation_id,
                })
            })
            .collect(),
    )))
}
