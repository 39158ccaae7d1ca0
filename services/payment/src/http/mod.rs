//! payment's read API: `GET /payments/{order_id}`, `GET /accounts/{customer_id}`.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use service_kit::auth::Principal;
use service_kit::http::openapi::one_of_strings;
use service_kit::http::{ApiError, ErrorBody};
use sqlx::PgPool;
use utoipa::openapi::OpenApi;
use utoipa::{OpenApi as _, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::domain::PaymentStatus;

#[derive(utoipa::OpenApi)]
#[openapi(info(
    title = "payment-service",
    description = "Charges and refunds customers' accounts in reaction to order events."
))]
struct Api;

/// The routes, with their OpenAPI paths.
fn routes() -> OpenApiRouter<PgPool> {
    OpenApiRouter::with_openapi(Api::openapi())
        .routes(routes!(payment))
        .routes(routes!(account))
}

pub fn router(pool: PgPool) -> axum::Router {
    routes().with_state(pool).into()
}

/// The OpenAPI document of these routes (`ServiceSpec::api`).
pub fn api() -> OpenApi {
    routes().into_openapi()
}

/// An order's payment.
#[derive(Debug, Serialize, ToSchema)]
struct Payment {
    order_id: Uuid,
    /// Never `new`: an order nothing was done for yet has no payment (404).
    #[schema(schema_with = payment_statuses)]
    status: &'static str,
    amount_cents: i64,
}

fn payment_statuses() -> utoipa::openapi::schema::Object {
    one_of_strings(
        PaymentStatus::ALL
            .into_iter()
            .filter(|s| *s != PaymentStatus::New)
            .map(PaymentStatus::as_str),
    )
}

/// A customer's account.
#[derive(Debug, Serialize, ToSchema)]
struct Account {
    customer_id: String,
    balance_cents: i64,
}

/// The payment of an order.
#[utoipa::path(get, path = "/payments/{order_id}", operation_id = "getPayment",
    params(("order_id" = Uuid, Path, description = "The order's id")),
    responses(
        (status = OK, description = "The order's payment", body = Payment),
        (status = BAD_REQUEST, description = "Not an order id", body = ErrorBody),
        (status = NOT_FOUND, description = "No payment for this order", body = ErrorBody),
        (status = FORBIDDEN, description = "A customer's token, another customer's payment", body = ErrorBody),
        (status = SERVICE_UNAVAILABLE, description = "Temporarily unavailable", body = ErrorBody),
    ))]
async fn payment(
    State(pool): State<PgPool>,
    principal: Principal,
    Path(order_id): Path<String>,
) -> Result<Json<Payment>, ApiError> {
    let order_id: Uuid = order_id
        .parse()
        .map_err(|_| ApiError::bad_request("order_id", "not an order id (a UUID)"))?;
    let (status, amount_cents, customer_id): (String, i64, Option<String>) = sqlx::query_as(
        "SELECT status, amount_cents, customer_id FROM payments WHERE order_id = $1 AND status <> 'new'",
    )
    .bind(order_id)
    .fetch_optional(&pool)
    .await?
    .ok_or_else(|| ApiError::not_found("no payment for this order"))?;
    // A payment cancelled before its order reached payment names no customer: an
    // operator's to read.
    match customer_id {
        Some(customer_id) => principal.may_act_for(&customer_id)?,
        None => principal.require_operator()?,
    }
    let status = PaymentStatus::parse(&status)
        .ok_or_else(|| ApiError::unavailable(&format!("unknown payment status {status:?}")))?;
    Ok(Json(Payment {
        order_id,
        status: status.as_str(),
        amount_cents,
    }))
}

/// A customer's balance.
#[utoipa::path(get, path = "/accounts/{customer_id}", operation_id = "getAccount",
    params(("customer_id" = String, Path, description = "The customer's id")),
    responses(
        (status = OK, description = "The customer's account", body = Account),
        (status = BAD_REQUEST, description = "Not a customer id", body = ErrorBody),
        (status = NOT_FOUND, description = "No such customer", body = ErrorBody),
        (status = FORBIDDEN, description = "A customer's token, another customer's account", body = ErrorBody),
        (status = SERVICE_UNAVAILABLE, description = "Temporarily unavailable", body = ErrorBody),
    ))]
async fn account(
    State(pool): State<PgPool>,
    principal: Principal,
    Path(customer_id): Path<String>,
) -> Result<Json<Account>, ApiError> {
    if !contracts::ids::is_valid_id(&customer_id) {
        return Err(ApiError::bad_request(
            "customer_id",
            contracts::ids::ID_RULE,
        ));
    }
    principal.may_act_for(&customer_id)?;
    let balance_cents: i64 =
        sqlx::query_scalar("SELECT balance_cents FROM accounts WHERE customer_id = $1")
            .bind(&customer_id)
            .fetch_optional(&pool)
            .await?
            .ok_or_else(|| ApiError::not_found("no such customer"))?;
    Ok(Json(Account {
        customer_id,
        balance_cents,
    }))
}
