//! `sagactl token`: mints a bearer token with the deployment's private key, so that a
//! person can call the API by hand when auth is on (docs/security.md):
//! `SAGA_TOKEN=$(sagactl token --customer alice) sagactl order get <id>`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use service_kit::auth::{Minter, Role};
use service_kit::config::parse_duration;

/// The longest a minted token lives.
const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("role").required(true))]
pub(crate) struct TokenArgs {
    /// A customer's token: it acts for this customer id alone.
    #[arg(long, group = "role")]
    customer: Option<String>,
    /// An operator's token, named `--operator NAME` in the services' logs.
    #[arg(long, group = "role", num_args = 0..=1, default_missing_value = "operator")]
    operator: Option<String>,
    /// The Ed25519 private key that signs (PEM, PKCS#8).
    #[arg(long, env = "AUTH_PRIVATE_KEY_FILE")]
    key: PathBuf,
    /// The audience the services check (their AUTH_AUDIENCE).
    #[arg(long, env = "AUTH_AUDIENCE", default_value = "saga")]
    audience: String,
    /// How long the token is valid (`15m`, `1h`, ...; at most a day: the only way to
    /// revoke a token is to retire its key).
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    ttl: Duration,
}

pub(crate) fn run(args: TokenArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.ttl <= MAX_TTL,
        "--ttl: at most 24h (a token cannot be revoked but by retiring its key)"
    );
    let minter = Minter::from_pem_file(&args.key, &args.audience).context("the signing key")?;
    let (role, subject) = match (&args.customer, &args.operator) {
        (Some(customer), _) => {
            anyhow::ensure!(
                contracts::ids::is_valid_id(customer),
                "--customer: {}",
                contracts::ids::ID_RULE
            );
            (Role::Customer, customer.as_str())
        }
        (None, Some(name)) => (Role::Operator, name.as_str()),
        (None, None) => unreachable!("clap requires one of the role group"),
    };
    println!("{}", minter.mint(role, subject, args.ttl));
    Ok(())
}
