//! The per-order saga lock (DESIGN.md §1): a row in `order_saga_locks` that every
//! transaction changing an order takes first, whoever runs it: the consumer runtime
//! (as the handler's state table), the deadline timer, cancel and ship. So a customer's
//! cancel, a ship and the deadline's expiry of one order run one after the other.

use contracts::OrderId;
use sqlx::PgConnection;
use tracing::Instrument;

/// The lock rows' table (`order_id`, `status`), also the saga handler's state table.
pub const TABLE: &str = "order_saga_locks";

/// Creates the order's lock row if absent and locks it until the transaction ends.
/// Only for an order that exists: a row per unknown id would let requests grow the
/// table without bound.
pub async fn lock(tx: &mut PgConnection, order_id: OrderId) -> Result<(), sqlx::Error> {
    messaging::consumer::lock_state_row(tx, TABLE, order_id)
        .instrument(telemetry::db_span!("INSERT", "order_saga_locks"))
        .await
}

/// Lock rows of orders that do not exist (the consumer runtime creates one for any
/// event it admits, a hostile one for an unknown order too), pruned at every pass: an
/// order's events come after it exists, and a row pruned while unused is created again
/// when needed. The lock of an order that exists is never pruned.
pub fn retention() -> service_kit::retention::Retention {
    service_kit::retention::Retention {
        name: "lock rows of unknown orders",
        table: TABLE,
        // `$1`, the retention, is not needed: these rows have no age.
        expired: "status = 'new' AND $1 >= 0 AND NOT EXISTS \
                  (SELECT 1 FROM order_view v WHERE v.order_id = order_saga_locks.order_id)"
            .to_owned(),
        keep: std::time::Duration::ZERO,
    }
}
