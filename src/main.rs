//! The `voxeld` binary: parses the command line and hands over to the library.

use clap::Parser;
use voxeld::cli::{Cli, Command};

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VOXELD_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().into_command() {
        Command::Serve(serve) => voxeld::server::run(serve.config()?),
        Command::Batch(batch) => {
            batch.config()?;
            anyhow::bail!("batch is not implemented yet")
        }
        Command::Replay(_) => anyhow::bail!("replay is not implemented yet"),
        Command::Journal { .. } => anyhow::bail!("journal tools are not implemented yet"),
    }
}
