//! The `voxeld` binary: parses the command line and hands over to the library.

use clap::Parser;
use voxeld::cli::{Cli, Command};

fn main() -> anyhow::Result<()> {
    match Cli::parse().into_command() {
        Command::Serve(serve) => {
            let config = serve.config()?;
            anyhow::bail!(
                "serve is not implemented yet (would listen on {})",
                config.socket.path.display()
            )
        }
        Command::Batch(batch) => {
            batch.config()?;
            anyhow::bail!("batch is not implemented yet")
        }
        Command::Replay(_) => anyhow::bail!("replay is not implemented yet"),
        Command::Journal { .. } => anyhow::bail!("journal tools are not implemented yet"),
    }
}
