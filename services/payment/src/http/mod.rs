//! payment's read API: `GET /payments/{order_id}`, `GET /accounts/{customer_id}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use service_kit::http::{json_error, unavailable};
use sqlx::PgPool;

pub fn router(pool: PgPool) -> Router {
    Router::new()
        .route("/payments/{order_id}", get(payment))
        .route("/accounts/{customer_id}", get(account))
        .with_state(pool)
        .merge(service_kit::http::openapi(OPENAPI))
}

/// The API's OpenAPI 3.1 document.
pub const OPENAPI: &str = include_str!("../../openapi.json");

async fn payment(State(pool): State<PgPool>, Path(order_id): Path<String>) -> Response {
    let Ok(order_id) = order_id.parse::<uuid::Uuid>() else {
        return json_error(
            StatusCode::BAD_REQUEST,
            Some("order_id"),
            "not an order id (a UUID)",
        );
    };
    let row: Result<Option<(String, i64)>, _> = sqlx::query_as(
        "SELECT status, amount_cents FROM payments WHERE order_id = $1 AND status <> 'new'",
    )
    .bind(order_id)
    .fetch_optional(&pool)
    .await;
    match row {
        Ok(Some((status, amount_cents))) => {
            Json(json!({"order_id": order_id, "status": status, "amount_cents": amount_cents}))
                .into_response()
        }
        Ok(None) => json_error(StatusCode::NOT_FOUND, None, "no payment for this order"),
        Err(err) => unavailable(&err),
    }
}

async fn account(State(pool): State<PgPool>, Path(customer_id): Path<String>) -> Response {
    if !contracts::ids::is_valid_id(&customer_id) {
        return json_error(
            StatusCode::BAD_REQUEST,
            Some("customer_id"),
            contracts::ids::ID_RULE,
        );
    }
    let row: Result<Option<i64>, _> =
        sqlx::query_scalar("SELECT balance_cents FROM accounts WHERE customer_id = $1")
            .bind(&customer_id)
            .fetch_optional(&pool)
            .await;
    match row {
        Ok(Some(balance_cents)) => {
            Json(json!({"customer_id": customer_id, "balance_cents": balance_cents}))
                .into_response()
        }
        Ok(None) => json_error(StatusCode::NOT_FOUND, None, "no such customer"),
        Err(err) => unavailable(&err),
    }
}
