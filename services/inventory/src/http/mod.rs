//! inventory's API: `GET /stock/{sku}`, `POST /stock/{sku}/restock`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use service_kit::http::{MAX_BODY_BYTES, json_error, unavailable};
use sqlx::PgPool;

const MAX_RESTOCK: i64 = 1_000_000_000;

pub fn router(pool: PgPool) -> Router {
    Router::new()
        .route("/stock/{sku}", get(stock))
        .route("/stock/{sku}/restock", post(restock))
        .with_state(pool)
        .merge(service_kit::http::openapi(OPENAPI))
}

/// The API's OpenAPI 3.1 document.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// The answer to a SKU that cannot be one, if it cannot.
fn invalid_sku(sku: &str) -> Option<Response> {
    (!contracts::ids::is_valid_id(sku)).then(|| {
        json_error(
            StatusCode::BAD_REQUEST,
            Some("sku"),
            contracts::ids::ID_RULE,
        )
    })
}

async fn stock(State(pool): State<PgPool>, Path(sku): Path<String>) -> Response {
    if let Some(response) = invalid_sku(&sku) {
        return response;
    }
    let row: Result<Option<(i64, i64, i64)>, _> =
        sqlx::query_as("SELECT available, reserved, shipped FROM stock WHERE sku = $1")
            .bind(&sku)
            .fetch_optional(&pool)
            .await;
    match row {
        Ok(Some((available, reserved, shipped))) => Json(
            json!({"sku": sku, "available": available, "reserved": reserved, "shipped": shipped}),
        )
        .into_response(),
        Ok(None) => json_error(StatusCode::NOT_FOUND, None, "no such SKU"),
        Err(err) => unavailable(&err),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Restock {
    quantity: i64,
}

async fn restock(
    State(pool): State<PgPool>,
    Path(sku): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(response) = invalid_sku(&sku) {
        return response;
    }
    if body.len() > MAX_BODY_BYTES {
        return json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            "the body is over 64 KiB",
        );
    }
    let is_json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            "the body must be application/json",
        );
    }
    let request: Restock = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) if err.is_syntax() || err.is_eof() => {
            return json_error(
                StatusCode::BAD_REQUEST,
                None,
                format!("malformed JSON: {err}"),
            );
        }
        Err(err) => {
            return json_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("quantity"),
                err.to_string(),
            );
        }
    };
    if !(1..=MAX_RESTOCK).contains(&request.quantity) {
        return json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("quantity"),
            format!("must be 1 to {MAX_RESTOCK}"),
        );
    }
    let result = async {
        let mut tx = pool.begin().await?;
        let row: (i64, i64, i64) = sqlx::query_as(
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
        Ok::<_, sqlx::Error>(row)
    }
    .await;
    match result {
        Ok((available, reserved, shipped)) => Json(
            json!({"sku": sku, "available": available, "reserved": reserved, "shipped": shipped}),
        )
        .into_response(),
        Err(err) => unavailable(&err),
    }
}
