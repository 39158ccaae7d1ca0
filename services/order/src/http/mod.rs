//! The order service's HTTP API (DESIGN.md §7). One file per route; errors are JSON
//! `{"error", "field"}` with a 4xx status and never leak internals. The OpenAPI
//! document is generated from the handlers' annotations as the routes are registered.

mod body;
mod cancel;
mod create;
mod error;
mod events;
mod get;
mod ship;

use service_kit::http::ApiError;
use utoipa::OpenApi as _;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::OrderService;

#[derive(utoipa::OpenApi)]
#[openapi(info(
    title = "order-service",
    description = "Starts sagas and reports their outcome. The order is event-sourced: every state is a fold of its events, readable at any past moment."
))]
struct Api;

/// The routes, with their OpenAPI paths.
fn routes() -> OpenApiRouter<OrderService> {
    OpenApiRouter::with_openapi(Api::openapi())
        .routes(routes!(create::create))
        .routes(routes!(get::get))
        .routes(routes!(events::events))
        .routes(routes!(cancel::cancel))
        .routes(routes!(ship::ship))
}

pub fn router(service: OrderService) -> axum::Router {
    routes().with_state(service).into()
}

/// The OpenAPI document of these routes (`ServiceSpec::api`).
pub fn api() -> OpenApi {
    routes().into_openapi()
}

/// Parses an order id from the path, naming the field when it is not one.
fn parse_order_id(raw: &str) -> Result<contracts::OrderId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::bad_request("order_id", "not an order id (a UUID)"))
}

/// 404 for an order id nobody placed.
fn no_such_order() -> ApiError {
    ApiError::not_found("no such order")
}

#[cfg(test)]
mod tests;
