//! `POST /orders/{id}/ship`: a confirmed order leaves with a tracking number.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use service_kit::auth::Principal;
use service_kit::http::{ApiError, ErrorBody, JsonBody};
use utoipa::ToSchema;

use super::body::OrderBody;
use super::{act_on_order, parse_order_id};
use crate::app::OrderService;
use crate::domain::Command;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipOrder {
    #[schema(min_length = 1, max_length = 100)]
    tracking_number: String,
}

/// A confirmed order leaves the warehouse.
#[utoipa::path(post, path = "/orders/{id}/ship", operation_id = "shipOrder",
    params(("id" = uuid::Uuid, Path, description = "The order's id")),
    request_body = ShipOrder,
    responses(
        (status = OK, description = "The shipped order", body = OrderBody),
        (status = BAD_REQUEST, description = "Malformed input", body = ErrorBody),
        (status = NOT_FOUND, description = "Unknown order", body = ErrorBody),
        (status = CONFLICT, description = "Illegal transition (not confirmed, ...)", body = ErrorBody),
        (status = PAYLOAD_TOO_LARGE, description = "Body over 64 KiB", body = ErrorBody),
        (status = UNSUPPORTED_MEDIA_TYPE, description = "Not JSON", body = ErrorBody),
        (status = UNPROCESSABLE_ENTITY, description = "Invalid field", body = ErrorBody),
        (status = FORBIDDEN, description = "Not an operator's token", body = ErrorBody),
        (status = SERVICE_UNAVAILABLE, description = "Temporarily unavailable", body = ErrorBody),
    ))]
pub async fn ship(
    State(service): State<OrderService>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<ShipOrder>,
) -> Result<Json<OrderBody>, ApiError> {
    principal.require_operator()?;
    let order_id = parse_order_id(&id)?;
    let command = Command::Ship {
        tracking_number: request.tracking_number,
    };
    act_on_order(&service, order_id, command, "order ship").await
}
