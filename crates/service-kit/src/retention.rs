//! One retention policy per table, in one place: what each service keeps, for how
//! long, and the one statement that prunes it. The monitor runs every rule once a
//! minute, 10,000 rows at a time, so a long backlog is pruned in steps that hold no
//! lock for long. The README's Configuration section lists them.

use std::time::Duration;

use sqlx::PgPool;

/// Rows of a table that may go once older than `keep`.
#[derive(Debug, Clone)]
pub struct Retention {
    /// What is pruned, for logs and the `rows_pruned_total` counter.
    pub name: &'static str,
    pub table: &'static str,
    /// The SQL condition of an expired row, with `$1` bound to `keep` in seconds.
    pub expired: String,
    pub keep: Duration,
}

/// Rows deleted per statement.
const STEP: i64 = 10_000;

impl Retention {
    /// Published outbox rows: only the relay reads them, and only until published.
    pub fn published_outbox(keep: Duration) -> Self {
        Self {
            name: "published outbox",
            table: "outbox",
            expired: "published_at < now() - make_interval(secs => $1)".to_owned(),
            keep,
        }
    }

    /// The inbox's dedup rows. Keep them at least as long as a DLQ keeps messages
    /// (7 days), so a replay of anything still there is recognised when it is a
    /// duplicate.
    pub fn inbox(keep: Duration) -> Self {
        Self {
            name: "inbox",
            table: "processed_messages",
            expired: "processed_at < now() - make_interval(secs => $1)".to_owned(),
            keep,
        }
    }

    /// State rows of orders this service never acted on, untouched for `keep`: the
    /// consumer runtime creates a row (`new`) for any event it admits, and a cancel
    /// that comes first leaves one (`untouched`, say `cancelled_before_charge`), so a
    /// stream of events for unknown orders would grow `table` without bound. Keep them
    /// as long as the inbox remembers events: an event older than that is new again.
    pub fn untouched_state_rows(
        table: &'static str,
        untouched: &[&'static str],
        keep: Duration,
    ) -> Self {
        let statuses: Vec<String> = ["new"]
            .iter()
            .chain(untouched)
            .map(|status| format!("'{status}'"))
            .collect();
        Self {
            name: "untouched state",
            table,
            expired: format!(
                "status IN ({}) AND updated_at < now() - make_interval(secs => $1)",
                statuses.join(", ")
            ),
            keep,
        }
    }

    /// Deletes up to [`STEP`] expired rows; returns how many.
    pub async fn prune(&self, pool: &PgPool) -> Result<u64, sqlx::Error> {
        let sql = format!(
            "DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM {table} WHERE {expired} LIMIT {STEP})",
            table = self.table,
            expired = self.expired,
        );
        let deleted = sqlx::query(&sql)
            .bind(self.keep.as_secs_f64())
            .execute(pool)
            .await?
            .rows_affected();
        metrics::counter!("rows_pruned_total", "table" => self.table).increment(deleted);
        Ok(deleted)
    }
}

/// One pass of every rule; a failure is logged and the next pass tries again.
pub async fn prune_all(pool: &PgPool, rules: &[Retention]) {
    for rule in rules {
        match rule.prune(pool).await {
            Ok(0) => {}
            Ok(deleted) => {
                tracing::debug!(deleted, table = rule.table, "Pruned {} rows.", rule.name)
            }
            Err(err) => {
                tracing::warn!(error = %err, table = rule.table, "Pruning {} rows failed.", rule.name)
            }
        }
    }
}
