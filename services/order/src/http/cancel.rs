//! `POST /orders/{id}/cancel`: the customer cancels; compensation follows.

use axum::Json;
use axum::extract::{Path, State};
use service_kit::http::{ApiError, ErrorBody};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::body::OrderBody;
use super::{no_such_order, parse_order_id};
use crate::app::{Cause, OrderService, join_saga};
use crate::domain::Command;

/// The customer cancels; refund and release follow.
#[utoipa::path(post, path = "/orders/{id}/cancel", operation_id = "cancelOrder",
    params(("id" = uuid::Uuid, Path, description = "The order's id")),
    responses(
        (status = OK, description = "The cancelled order", body = OrderBody),
        (status = BAD_REQUEST, description = "Malformed input", body = ErrorBody),
        (status = NOT_FOUND, description = "Unknown order", body = ErrorBody),
        (status = CONFLICT, description = "Illegal transition (already shipped, ...)", body = ErrorBody),
        (status = SERVICE_UNAVAILABLE, description = "Temporarily unavailable", body = ErrorBody),
    ))]
pub async fn cancel(
    State(service): State<OrderService>,
    Path(id): Path<String>,
) -> Result<Json<OrderBody>, ApiError> {
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
    let order = executed.order.ok_or_else(no_such_order)?;
    Ok(Json(OrderBody::new(order, executed.correlation_id)))
}
