//! inventory's API: `GET /stock/{sku}`, `POST /stock/{sku}/restock`.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use service_kit::auth::Principal;
use service_kit::http::{ApiError, ErrorBody, JsonBody};
use sqlx::PgPool;
use utoipa::openapi::OpenApi;
use utoipa::{OpenApi as _, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const MAX_RESTOCK: i64 = 1_000_000_000;

#[derive(utoipa::OpenApi)]
#[openapi(info(
    title = "inventory-service",
    description = "Reserves, releases and ships stock in reaction to payment and order events."
))]
struct Api;

/// The routes, with their OpenAPI paths.
fn routes() -> OpenApiRouter<PgPool> {
    OpenApiRouter::with_openapi(Api::openapi())
        .routes(routes!(stock))
        .routes(routes!(restock))
}

pub fn router(pool: PgPool) -> axum::Router {
    routes().with_state(pool).into()
}

/// The OpenAPI document of these routes (`ServiceSpec::api`).
pub fn api() -> OpenApi {
    routes().into_openapi()
}

/// A SKU's stock: what can be reserved, what is reserved, what has left.
#[derive(Debug, Serialize, ToSchema)]
struct Stock {
    sku: String,
    available: i64,
    reserved: i64,
    shipped: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Restock {
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    quantity: i64,
}

/// Refuses a SKU that cannot be one.
fn valid_sku(sku: &str) -> Result<(), ApiError> {
    if contracts::ids::is_valid_id(sku) {
        Ok(())
    } else {
        Err(ApiError::bad_request("sku", contracts::ids::ID_RULE))
    }
}

/// A SKU's stock.
#[utoipa::path(get, path = "/stock/{sku}", operation_id = "getStock",
    params(("sku" = String, Path, description = "The SKU")),
    responses(
        (status = OK, description = "The SKU's stock", body = Stock),
        (status = BAD_REQUEST, description = "Not a SKU", body = ErrorBody),
        (status = NOT_FOUND, description = "No such SKU", body = ErrorBody),
        (status = SERVICE_UNAVAILABLE, description = "Temporarily unavailable", body = ErrorBody),
    ))]
async fn stock(
    State(pool): State<PgPool>,
    Path(sku): Path<String>,
) -> Result<Json<Stock>, ApiError> {
    valid_sku(&sku)?;
    let (available, reserved, shipped): (i64, i64, i64) =
        sqlx::query_as("SELECT available, reserved, shipped FROM stock WHERE sku = $1")
            .bind(&sku)
            .fetch_optional(&pool)
            .await?
            .ok_or_else(|| ApiError::not_found("no such SKU"))?;
    Ok(Json(Stock {
        sku,
        available,
        reserved,
        shipped,
    }))
}

/// Adds stock to a SKU (creating it when new); recorded as a stock movement.
#[utoipa::path(post, path = "/stock/{sku}/restock", operation_id = "restock",
    params(("sku" = String, Path, description = "The SKU")),
    request_body = Restock,
    responses(
        (status = OK, description = "The SKU's stock after the restock", body = Stock),
        (status = BAD_REQUEST, description = "Not a SKU, or malformed JSON", body = ErrorBody),
        (status = PAYLOAD_TOO_LARGE, description = "Body over 64 KiB", body = ErrorBody),
        (status = UNSUPPORTED_MEDIA_TYPE, description = "Not JSON", body = ErrorBody),
        (status = UNPROCESSABLE_ENTITY, description = "Invalid field", body = ErrorBody),
        (status = FORBIDDEN, description = "Not an operator's token", body = ErrorBody),
        (status = SERVICE_UNAVAILABLE, description = "Temporarily unavailable", body = ErrorBody),
    ))]
async fn restock(
    State(pool): State<PgPool>,
    principal: Principal,
    Path(sku): Path<String>,
    JsonBody(request): JsonBody<Restock>,
) -> Result<Json<Stock>, ApiError> {
    principal.require_operator()?;
    valid_sku(&sku)?;
    if !(1..=MAX_RESTOCK).contains(&request.quantity) {
        return Err(ApiError::unprocessable(
            Some("quantity"),
            format!("must be 1 to {MAX_RESTOCK}"),
        ));
    }
    let mut tx = pool.begin().await?;
    let (available, reserved, shipped): (i64, i64, i64) = sqlx::query_as(
        "INSERT INTO stock (sku, available) VALUES ($1, $2)
         ON CONFLICT (sku) DO UPDATE SET available = stock.available + EXCLUDED.available
         RETURNING available, reserved, shipped",
    )
    .bind(&sku)
    .bind(request.quantity)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO stock_movements (sku, kind, quantity) VALUES ($1, 'restock', $2)")
        .bind(&sku)
        .bind(request.quantity)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Json(Stock {
        sku,
        available,
        reserved,
        shipped,
    }))
}
