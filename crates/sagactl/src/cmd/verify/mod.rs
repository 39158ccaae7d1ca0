//! `sagactl verify`: the invariants of DESIGN.md §1, read from the three databases
//! (read-only), after waiting for the saga to settle.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use contracts::topics::{INVENTORY_SERVICE, ORDER_SERVICE, PAYMENT_SERVICE};
use invariants::Violation;
use messaging::KafkaConfig;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

mod facts;
mod settle;

use facts::check;
use settle::unsettled;

use super::databases::DatabaseArgs;
use service_kit::config::parse_duration;

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    databases: DatabaseArgs,
    /// How long to wait for the saga to settle (no outbox backlog, no consumer lag, no
    /// pending order or compensation) before checking; what is unsettled then is a violation.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    settle: Duration,
    /// Consumer groups whose lag must be zero (the services' names, unless they run
    /// under other names).
    #[arg(long, default_value = ORDER_SERVICE)]
    order_group: String,
    #[arg(long, default_value = PAYMENT_SERVICE)]
    payment_group: String,
    #[arg(long, default_value = INVENTORY_SERVICE)]
    inventory_group: String,
}

async fn read_only(url: &str) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions =
        super::databases::options(url)?.options([("default_transaction_read_only", "on")]);
    let shown = super::databases::shown(&options);
    PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .with_context(|| format!("connecting to {shown}"))
}

pub(crate) async fn run(kafka: &KafkaConfig, args: VerifyArgs) -> anyhow::Result<()> {
    let orders = read_only(&args.databases.orders_db).await?;
    let payments = read_only(&args.databases.payments_db).await?;
    let inventory = read_only(&args.databases.inventory_db).await?;

    let started = Instant::now();
    let unsettled = loop {
        let groups = [
            args.order_group.clone(),
            args.payment_group.clone(),
            args.inventory_group.clone(),
        ];
        let unsettled = unsettled(kafka, &groups, &orders, &payments, &inventory).await?;
        if unsettled.is_empty() || started.elapsed() >= args.settle {
            break unsettled;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let mut violations: Vec<Violation> = unsettled
        .into_iter()
        .map(|what| Violation {
            order: None,
            what: format!("not settled after {:?}: {what}", args.settle),
        })
        .collect();
    violations.extend(check(&orders, &payments, &inventory).await?);

    for violation in &violations {
        println!("VIOLATION {violation}");
    }
    let checked: i64 = sqlx::query_scalar("SELECT count(*) FROM order_view")
        .fetch_one(&orders)
        .await?;
    println!("verify: {checked} orders, {} violations", violations.len());
    if violations.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{} invariant violations", violations.len())
    }
}
