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

use service_kit::auth::Principal;
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

/// A user's command on an existing order (cancel, ship): in its own span joined to the
/// saga's trace, answered with the order as it is after.
async fn act_on_order(
    service: &OrderService,
    order_id: contracts::OrderId,
    command: crate::domain::Command,
    span_name: &'static str,
) -> Result<axum::Json<body::OrderBody>, ApiError> {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing::Instrument;
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    // The request is a trace of its own (its caller's); the work it causes is a step
    // of the saga's trace, which links the request (`join_saga`). The request links
    // back and carries the order's ids (`join_saga` records the correlation id), so a
    // search by either id finds both.
    let request = tracing::Span::current();
    request.record("order.id", tracing::field::display(order_id));
    let span = crate::app::join_saga(&service.pool, order_id, span_name).await?;
    request.add_link(span.context().span().span_context().clone());
    let cause = crate::app::Cause {
        causation_id: None,
        trace: span.context(),
    };
    let executed = service
        .run(order_id, command, &cause)
        .instrument(span)
        .await??;
    let order = executed.order.ok_or_else(no_such_order)?;
    Ok(axum::Json(body::OrderBody::new(
        order,
        executed.correlation_id,
    )))
}

/// 403 unless `principal` may see and act on order `order_id`: a customer its own orders
/// only. An unknown order is 404 for a customer here, so that the check never rests on
/// the handler finding nothing.
async fn authorize(
    service: &OrderService,
    principal: &Principal,
    order_id: contracts::OrderId,
) -> Result<(), ApiError> {
    if principal.own_customer().is_none() {
        return Ok(());
    }
    let mut conn = service.pool.acquire().await?;
    match crate::store::view::customer_of(&mut conn, order_id.0).await? {
        Some(customer) => Ok(principal.may_act_for(&customer)?),
        None => Err(no_such_order()),
    }
}

/// 404 for an order id nobody placed.
fn no_such_order() -> ApiError {
    ApiError::not_found("no such order")
}

#[cfg(test)]
mod tests;
