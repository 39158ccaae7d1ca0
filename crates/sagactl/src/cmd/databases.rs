//! The three services' databases, as every command that reads them takes them: a flag
//! or an environment variable each, defaulting to the local infrastructure.

use clap::Args;

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
