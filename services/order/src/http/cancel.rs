//! `POST /orders/{id}/cancel`: the customer cancels; compensation follows.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::get::order_json;
use super::{ApiError, parse_order_id};
use crate::app::{Cause, OrderService, join_saga};
use crate::domain::Command;

pub async fn cancel(
    State(service): State<OrderService>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let order_id = parse_order_id(&id)?;
    let span = join_saga(&service.pool, order_id, "order cancel").await?;
    let cause = Cause {
        causation_id: None,
        trace: span.context(),
    };
    let executed = service
        .run(order_id, Command::Cancel, &cause)
        .instrument(span)
        .await??;
    let order = executed.order.ok_or_else(ApiError::not_found)?;
    Ok(Json(order_json(&order, executed.correlation_id)))
}
