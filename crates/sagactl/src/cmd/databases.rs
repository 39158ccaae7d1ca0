//! The three services' databases, as every command that reads them takes them: a flag
//! or an environment variable each, defaulting to the local infrastructure.

use anyhow::Context as _;
use clap::Args;
use sqlx::postgres::PgConnectOptions;

/// A file holding the database password, for URLs without one (the secure mode's
/// read-only role, `.dev/secure/postgres/sagactl_verify.password`).
pub(crate) const PASSWORD_FILE_VAR: &str = "DATABASE_PASSWORD_FILE";

/// The connect options of `url`, with the password of `DATABASE_PASSWORD_FILE` when set.
pub(crate) fn options(url: &str) -> anyhow::Result<PgConnectOptions> {
    let options: PgConnectOptions = url.parse().context("not a PostgreSQL URL")?;
    let Some(path) = std::env::var_os(PASSWORD_FILE_VAR).filter(|p| !p.is_empty()) else {
        return Ok(options);
    };
    let password = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {PASSWORD_FILE_VAR} ({})", path.to_string_lossy()))?;
    Ok(options.password(password.trim_end_matches(['\r', '\n'])))
}

/// Where `options` connect, for a message: the URL without its password.
pub(crate) fn shown(options: &PgConnectOptions) -> String {
    format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    )
}

#[derive(Debug, Args)]
pub(crate) struct DatabaseArgs {
    /// order-service's database.
    #[arg(
        long,
        env = "ORDERS_DATABASE_URL",
        hide_env_values = true,
        default_value = "postgres://postgres@127.0.0.1:5432/orders"
    )]
    pub(crate) orders_db: String,
    /// payment-service's database.
    #[arg(
        long,
        env = "PAYMENTS_DATABASE_URL",
        hide_env_values = true,
        default_value = "postgres://postgres@127.0.0.1:5432/payments"
    )]
    pub(crate) payments_db: String,
    /// inventory-service's database.
    #[arg(
        long,
        env = "INVENTORY_DATABASE_URL",
        hide_env_values = true,
        default_value = "postgres://postgres@127.0.0.1:5432/inventory"
    )]
    pub(crate) inventory_db: String,
}

impl DatabaseArgs {
    /// `(service, url)` for every service, in saga order.
    pub(crate) fn by_service(&self) -> [(&'static str, &str); 3] {
        [
            ("order", self.orders_db.as_str()),
            ("payment", self.payments_db.as_str()),
            ("inventory", self.inventory_db.as_str()),
        ]
    }
}
