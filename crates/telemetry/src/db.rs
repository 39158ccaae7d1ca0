//! Database spans after OpenTelemetry's database conventions. sqlx emits none, so the
//! work of a saga step wraps each of its statement groups (the inbox insert, the event
//! store's load and append, the outbox insert, a state row's update, the commit) in a
//! [`db_span!`]: a client span named `{db.operation.name} {db.collection.name}` (or the
//! statement's query summary, when it touches several tables), with
//! `db.system.name = "postgresql"`, `db.namespace` (the database), `db.collection.name`
//! and `db.operation.name`. They never carry a statement's parameters, and there are a
//! handful per step, not one per row: a loop of statements is one span.
//!
//! A database span is a child of the current span. Wrap only statements that run inside
//! a request, a message or a saga step: without a current span it would be the root of
//! a trace of its own. Their target is `telemetry::db` (the [`DB_TARGET`] of any span
//! written by hand), so `RUST_LOG=info,telemetry::db=off` turns them all off, at the
//! cost of a disabled callsite.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// The target of every database span.
pub const DB_TARGET: &str = "telemetry::db";

static NAMESPACE: OnceLock<String> = OnceLock::new();
static AMBIGUOUS: AtomicBool = AtomicBool::new(false);

/// Names the database this process works in (`db.namespace` of its database spans).
/// A service has one; a process that is given two different names (tests that run
/// several services in one process) records none rather than a wrong one.
pub fn set_db_namespace(name: &str) {
    if NAMESPACE.get_or_init(|| name.to_owned()) != name {
        AMBIGUOUS.store(true, Ordering::Relaxed);
    }
}

/// The database named by [`set_db_namespace`], if exactly one was.
pub fn db_namespace() -> Option<&'static str> {
    if AMBIGUOUS.load(Ordering::Relaxed) {
        return None;
    }
    NAMESPACE.get().map(String::as_str)
}

/// A database span, at INFO, a child of the current span. The names are literals, so
/// the span costs no formatting:
///
/// - `db_span!("COMMIT")`: an operation on no table;
/// - `db_span!("INSERT", "outbox")`: named `INSERT outbox`;
/// - `db_span!("UPDATE", "accounts", summary = "UPDATE accounts INSERT ledger")`: a
///   group of statements on several tables, named by its summary (also
///   `db.query.summary`), its first operation and table as the operation and collection.
#[macro_export]
macro_rules! db_span {
    ($operation:literal) => {
        $crate::__tracing::info_span!(
            target: "telemetry::db",
            $operation,
            otel.kind = "client",
            db.system.name = "postgresql",
            db.namespace = $crate::db_namespace(),
            db.operation.name = $operation,
        )
    };
    ($operation:literal, $collection:literal) => {
        $crate::__tracing::info_span!(
            target: "telemetry::db",
            concat!($operation, " ", $collection),
            otel.kind = "client",
            db.system.name = "postgresql",
            db.namespace = $crate::db_namespace(),
            db.operation.name = $operation,
            db.collection.name = $collection,
        )
    };
    ($operation:literal, $collection:literal, summary = $summary:literal) => {
        $crate::__tracing::info_span!(
            target: "telemetry::db",
            $summary,
            otel.kind = "client",
            db.system.name = "postgresql",
            db.namespace = $crate::db_namespace(),
            db.operation.name = $operation,
            db.collection.name = $collection,
            db.query.summary = $summary,
        )
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_second_database_name_makes_the_namespace_unknown_not_wrong() {
        super::set_db_namespace("orders");
        super::set_db_namespace("orders");
        assert_eq!(super::db_namespace(), Some("orders"));
        super::set_db_namespace("payments");
        assert_eq!(super::db_namespace(), None);
    }
}
