use clap::Parser;
use order_service::{Cli, SPEC, build};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = cli.order.clone();
    service_kit::main_loop::run(&SPEC, &cli.service, move |config, shutdown| {
        build(config, settings, shutdown)
    })
    .await
}
