//! Subcommands whose issue has not landed yet: they parse anything and say so.

use clap::Args;

/// Accepts any arguments, so the command line of a later issue already parses.
#[derive(Debug, Args)]
pub(crate) struct Pending {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    _args: Vec<String>,
}

pub(crate) fn not_yet(command: &str, issue: u32) -> anyhow::Result<()> {
    anyhow::bail!("`sagactl {command}` is not available yet: it arrives with issue #{issue}")
}
