//! The per-order saga lock (DESIGN.md §1): a row in `order_saga_locks` that every
//! transaction changing an order takes first, whoever runs it: the consumer runtime
//! (as the handler's state table), the deadline timer, cancel and ship. So a customer's
//! cancel, a ship and the deadline's expiry of one order run one after the other.

use contracts::OrderId;
use sqlx::PgConnection;

/// The lock rows' table (`order_id`, `status`), also the saga handler's state table.
pub const TABLE: &str = "order_saga_locks";

/// Creates the order's lock row if absent and locks it until the transaction ends.
/// Only for an order that exists: a row per unknown id would let requests grow the
/// table without bound.
#[tracing::instrument(level = "debug", skip_all, fields(order.id = %order_id))]
pub async fn lock(tx: &mut PgConnection, order_id: OrderId) -> Result<(), sqlx::Error> {
    messaging::consumer::lock_state_row(tx, TABLE, order_id).await
}
