//! `Idempotency-Key` of `POST /orders`: the first request with a key creates the
//! order; a retry with the same body gets the same order, one with another body is
//! refused.

use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use tracing::Instrument;
use uuid::Uuid;

/// What a key says about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    /// First use: the key now belongs to this order.
    New,
    /// The same request again: answer with this order.
    Replay(Uuid),
    /// The key was used for another request.
    Mismatch,
}

pub fn request_hash(body: &[u8]) -> [u8; 32] {
    Sha256::digest(body).into()
}

/// Claims `key` for `order_id` in the caller's transaction (which also creates the
/// order), or reports what it was used for. One database span for both statements.
pub async fn claim(
    tx: &mut PgConnection,
    key: &str,
    hash: &[u8; 32],
    order_id: Uuid,
) -> Result<KeyUse, sqlx::Error> {
    claim_key(tx, key, hash, order_id)
        .instrument(telemetry::db_span!("INSERT", "idempotency_keys"))
        .await
}

async fn claim_key(
    tx: &mut PgConnection,
    key: &str,
    hash: &[u8; 32],
    order_id: Uuid,
) -> Result<KeyUse, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (key, request_hash, order_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(key)
    .bind(&hash[..])
    .bind(order_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(KeyUse::New);
    }
    let (stored_hash, stored_order): (Vec<u8>, Uuid) =
        sqlx::query_as("SELECT request_hash, order_id FROM idempotency_keys WHERE key = $1")
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
    Ok(if stored_hash == hash[..] {
        KeyUse::Replay(stored_order)
    } else {
        KeyUse::Mismatch
    })
}

/// Keys older than `keep` are forgotten: a retry that late creates a new order.
pub fn retention(keep: std::time::Duration) -> service_kit::retention::Retention {
    service_kit::retention::Retention {
        name: "idempotency keys",
        table: "idempotency_keys",
        expired: "created_at < now() - make_interval(secs => $1)".to_owned(),
        keep,
    }
}
