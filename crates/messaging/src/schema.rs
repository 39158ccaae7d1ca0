//! The messaging core's tables (outbox and inbox), migrated into every service's
//! database next to the service's own migrations.

use sqlx::migrate::Migrator;

/// Migrations of the outbox and inbox tables. Versions are timestamps distinct from
/// every service's, and missing versions are ignored, so this migrator and a
/// service's own share one `_sqlx_migrations` table without stepping on each other.
pub fn migrator() -> Migrator {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator
}
