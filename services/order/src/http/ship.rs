//! `POST /orders/{id}/ship`: a confirmed order leaves with a tracking number.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::Value;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::create::parse_json;
use super::get::order_json;
use super::{ApiError, parse_order_id};
use crate::app::{Cause, OrderService, join_saga};
use crate::domain::Command;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShipOrder {
    tracking_number: String,
}

pub async fn ship(
    State(service): State<OrderService>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let order_id = parse_order_id(&id)?;
    let request: ShipOrder = parse_json(&headers, &body)?;
    let span = join_saga(&service.pool, order_id, "order ship").await?;
    let cause = Cause {
        causation_id: None,
        trace: span.context(),
    };
    let command = Command::Ship {
        tracking_number: request.tracking_number,
    };
    let executed = service
        .run(order_id, command, &cause)
        .instrument(span)
        .await??;
    let order = executed.order.ok_or_else(ApiError::not_found)?;
    Ok(Json(order_json(&order, executed.correlation_id)))
}
