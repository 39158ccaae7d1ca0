use clap::Parser;
use inventory_service::{Cli, SPEC, build};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    service_kit::main_loop::run(&SPEC, &cli.service, build).await
}
