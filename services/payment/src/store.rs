//! payment's tables: the per-order state row, accounts and the ledger.
//!
//! A row that breaks the service's invariants (a status nobody writes, a capture
//! without its customer, an account that is gone) is never guessed at: it is a
//! [`StoreError::Corrupt`], counted and logged, and the message goes to the DLQ.

use contracts::OrderId;
use sqlx::PgConnection;
use tracing::Instrument;

use crate::domain::{Account, Decision, PaymentState, PaymentStatus};

pub use messaging::error::StateError as StoreError;

/// Counts and logs a corrupt row of `table`; an operator must repair it.
fn corrupt(table: &'static str, order_id: OrderId, problem: String) -> StoreError {
    StoreError::corrupt(table, order_id, problem)
}

/// The per-order state rows, which the consumer runtime creates and locks first in
/// every handler's transaction (DESIGN.md §1).
pub const STATE_TABLE: &str = "payments";

/// The order's payment state (its row locked by the runtime).
pub async fn payment_state(
    tx: &mut PgConnection,
    order_id: OrderId,
) -> Result<PaymentState, StoreError> {
    let (status, payment_id, customer_id, amount_cents): (
        String,
        Option<uuid::Uuid>,
        Option<String>,
        i64,
    ) = sqlx::query_as(
        "SELECT status, payment_id, customer_id, amount_cents FROM payments WHERE order_id = $1",
    )
    .bind(order_id.0)
    .fetch_one(&mut *tx)
    .instrument(telemetry::db_span!("SELECT", "payments"))
    .await?;
    let Some(status) = PaymentStatus::parse(&status) else {
        let problem = format!("unknown payments.status {status:?}");
        return Err(corrupt(STATE_TABLE, order_id, problem));
    };
    let state = PaymentState {
        status,
        payment_id,
        customer_id,
        amount_cents,
    };
    match state.inconsistency() {
        Some(problem) => Err(corrupt(STATE_TABLE, order_id, problem.to_owned())),
        None => Ok(state),
    }
}

/// The customer's account, locked for the charge.
pub async fn lock_account(
    tx: &mut PgConnection,
    customer_id: &str,
) -> Result<Option<Account>, sqlx::Error> {
    let row: Option<(i64, bool)> = sqlx::query_as(
        "SELECT balance_cents, declines FROM accounts WHERE customer_id = $1 FOR UPDATE",
    )
    .bind(customer_id)
    .fetch_optional(&mut *tx)
    .instrument(telemetry::db_span!("SELECT", "accounts"))
    .await?;
    Ok(row.map(|(balance_cents, declines)| Account {
        balance_cents,
        declines,
    }))
}

/// Carries out a decision: balances, ledger, state row, a database span for each.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn apply(
    tx: &mut PgConnection,
    order_id: OrderId,
    decision: &Decision,
) -> Result<(), StoreError> {
    match decision {
        Decision::Nothing => {}
        Decision::Charge {
            payment_id,
            customer_id,
            amount_cents,
            ..
        } => {
            move_money(
                tx,
                order_id,
                customer_id,
                *payment_id,
                "charge",
                -amount_cents,
            )
            .await?;
            sqlx::query(
                "UPDATE payments SET status = $5, payment_id = $2, customer_id = $3, amount_cents = $4,
                        updated_at = now() WHERE order_id = $1",
            )
            .bind(order_id.0)
            .bind(payment_id)
            .bind(customer_id)
            .bind(amount_cents)
            .bind(PaymentStatus::Captured.as_str())
            .execute(&mut *tx)
            .instrument(telemetry::db_span!("UPDATE", "payments"))
            .await?;
        }
        Decision::Decline { reason, .. } => {
            let reason = contracts::codec::json_name(reason);
            set_status(tx, order_id, PaymentStatus::Declined, reason.as_deref()).await?;
        }
        Decision::Refund {
            payment_id,
            customer_id,
            amount_cents,
            ..
        } => {
            move_money(
                tx,
                order_id,
                customer_id,
                *payment_id,
                "refund",
                *amount_cents,
            )
            .await?;
            set_status(tx, order_id, PaymentStatus::Refunded, None).await?;
        }
        Decision::RememberCancellation { .. } => {
            set_status(tx, order_id, PaymentStatus::CancelledBeforeCharge, None).await?;
        }
    }
    Ok(())
}

async fn set_status(
    tx: &mut PgConnection,
    order_id: OrderId,
    status: PaymentStatus,
    reason: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE payments SET status = $2, reason = coalesce($3, reason), updated_at = now() WHERE order_id = $1")
        .bind(order_id.0)
        .bind(status.as_str())
        .bind(reason)
        .execute(&mut *tx)
        .instrument(telemetry::db_span!("UPDATE", "payments"))
        .await?;
    Ok(())
}

/// Adds `delta` (negative for a charge) to the balance and writes the ledger line, in
/// one database span; an account that is not there moves no money, so it writes no
/// line either.
async fn move_money(
    tx: &mut PgConnection,
    order_id: OrderId,
    customer_id: &str,
    payment_id: uuid::Uuid,
    kind: &str,
    delta: i64,
) -> Result<(), StoreError> {
    async {
        let moved = sqlx::query(
            "UPDATE accounts SET balance_cents = balance_cents + $2 WHERE customer_id = $1",
        )
        .bind(customer_id)
        .bind(delta)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            let problem = format!("no account {customer_id:?} for the {kind}");
            return Err(corrupt("accounts", order_id, problem));
        }
        sqlx::query("INSERT INTO ledger (order_id, customer_id, payment_id, kind, amount_cents) VALUES ($1, $2, $3, $4, $5)")
            .bind(order_id.0)
            .bind(customer_id)
            .bind(payment_id)
            .bind(kind)
            .bind(delta.abs())
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
    .instrument(telemetry::db_span!(
        "UPDATE",
        "accounts",
        summary = "UPDATE accounts INSERT ledger"
    ))
    .await
}
