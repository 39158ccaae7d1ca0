//! `POST /orders/{id}/cancel`: the customer cancels; compensation follows.

use axum::Json;
use axum::extract::{Path, State};
use service_kit::auth::Principal;
use service_kit::http::{ApiError, ErrorBody};

use super::body::OrderBody;
use super::{act_on_order, authorize, parse_order_id};
use crate::app::OrderService;
use crate::domain::Command;

/// The customer cancels; refund and release follow.
#[utoipa::path(post, path = "/orders/{id}/cancel", operation_id = "cancelOrder",
    params(("id" = uuid::Uuid, Path, description = "The order's id")),
    responses(
        (status = OK, description = "The cancelled order", body = OrderBody),
        (status = BAD_REQUEST, description = "Malformed input", body = ErrorBody),
        (status = NOT_FOUND, description = "Unknown order", body = ErrorBody),
        (status = CONFLICT, description = "Illegal transition (already shipped, ...)", body = ErrorBody),
        (status = FORBIDDEN, description = "A customer's token, another customer's order", body = ErrorBody),
        (status = SERVICE_UNAVAILABLE, description = "Temporarily unavailable", body = ErrorBody),
    ))]
pub async fn cancel(
    State(service): State<OrderService>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<OrderBody>, ApiError> {
    let order_id = parse_order_id(&id)?;
    authorize(&service, &principal, order_id).await?;
    act_on_order(&service, order_id, Command::Cancel, "order cancel").await
}
