//! The order service's HTTP API (DESIGN.md §7). One file per route; errors are JSON
//! `{"error", "field"}` with a 4xx status and never leak internals.

mod cancel;
mod create;
mod error;
mod events;
mod get;
mod ship;

use axum::Router;
use axum::routing::{get, post};

pub use error::ApiError;

use crate::app::OrderService;

pub use service_kit::http::MAX_BODY_BYTES;

pub fn router(service: OrderService) -> Router {
    Router::new()
        .route("/orders", post(create::create))
        .route("/orders/{id}", get(get::get))
        .route("/orders/{id}/events", get(events::events))
        .route("/orders/{id}/cancel", post(cancel::cancel))
        .route("/orders/{id}/ship", post(ship::ship))
        .with_state(service)
        .merge(service_kit::http::openapi(OPENAPI))
}

/// The API's OpenAPI 3.1 document (`services/order/openapi.json`).
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// Parses an order id from the path, naming the field when it is not one.
fn parse_order_id(raw: &str) -> Result<contracts::OrderId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::bad_request("order_id", "not an order id (a UUID)"))
}
