//! `sagactl`, the operator's CLI (DESIGN.md §8). Each subcommand lives in its own
//! module under `cmd/`.

mod cmd;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "sagactl",
    version,
    about = "Operate the choreographed saga: topics, orders, dead letters, outbox, traces."
)]
struct Cli {
    /// Kafka bootstrap servers.
    #[arg(
        long,
        global = true,
        env = "KAFKA_BOOTSTRAP_SERVERS",
        default_value = "127.0.0.1:9092"
    )]
    kafka: String,

    /// Prepended to every topic name (the deployment's KAFKA_TOPIC_PREFIX).
    #[arg(long, global = true, env = "KAFKA_TOPIC_PREFIX", default_value = "")]
    topic_prefix: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create and list the saga's topics.
    #[command(subcommand)]
    Topics(cmd::topics::TopicsCommand),
    /// Create, show, cancel and ship orders through order-service's API.
    Order(cmd::order::OrderArgs),
    /// List, show, replay and discard dead-lettered messages.
    #[command(subcommand)]
    Dlq(cmd::dlq::DlqCommand),
    /// Show and re-queue outbox rows the relay parked.
    #[command(subcommand)]
    Outbox(cmd::outbox::OutboxCommand),
    /// Print one saga's trace from Jaeger as a timeline, beside the order's history.
    Trace(cmd::trace::TraceArgs),
    /// Check the saga's invariants across the three databases (read-only), after settling.
    Verify(cmd::verify::VerifyArgs),
    /// Drive the running stack with orders at a steady rate; report sagas/s and latency.
    Load(cmd::load::LoadArgs),
    /// Read one JSON resource of a service's API, or one field of it; optionally wait for a value.
    Get(cmd::get::GetArgs),
    /// Put one raw message on a topic, marked test-injected (scenarios, fault tests).
    Inject(cmd::inject::InjectArgs),
    /// Flood a service with hostile HTTP requests (never a valid order) and slow clients.
    Flood(cmd::flood::FloodArgs),
    /// Mint a bearer token for the services' API when auth is on (docs/security.md).
    Token(cmd::token::TokenArgs),
    /// Benchmarks (the outbox relay against its baselines).
    #[command(subcommand)]
    Bench(cmd::bench::BenchCommand),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // TLS and SASL come from KAFKA_CLIENT_PROPERTIES_FILE and LIBRDKAFKA_* (docs/security.md).
    let settings = messaging::ClientSettings::from_env()?;
    for downgrade in settings.tls_downgrades() {
        eprintln!("warning: {downgrade}: the broker's certificate is not checked");
    }
    let kafka = messaging::KafkaConfig::new(cli.kafka)
        .with_topic_prefix(cli.topic_prefix)
        .with_settings(settings);
    match cli.command {
        Command::Topics(command) => cmd::topics::run(&kafka, command).await,
        Command::Order(args) => cmd::order::run(args).await,
        Command::Dlq(command) => cmd::dlq::run(&kafka, command).await,
        Command::Outbox(command) => cmd::outbox::run(command).await,
        Command::Trace(args) => cmd::trace::run(args).await,
        Command::Verify(args) => cmd::verify::run(&kafka, args).await,
        Command::Load(args) => cmd::load::run(&kafka, args).await,
        Command::Bench(command) => cmd::bench::run(&kafka, command).await,
        Command::Inject(args) => cmd::inject::run(&kafka, args).await,
        Command::Get(args) => cmd::get::run(args).await,
        Command::Flood(args) => cmd::flood::run(args).await,
        Command::Token(args) => cmd::token::run(args),
    }
}
