//! `voxeld mcp`: a Model Context Protocol server on standard input and output, so an AI agent
//! can build in a voxel world and look at what it built.
//!
//! It is a client of the voxeld socket, not a second way into the world: every tool is one
//! JSON-RPC request ([`bridge`]) to a running server (`--socket`), or, with `--embedded`, to a
//! production server this process starts on a private socket and data directory
//! ([`crate::server::spawn`]). So the tools answer exactly as the socket methods do, journal and
//! undo included.
//!
//! - [`tools`]: one typed parameter struct per method, giving both the tool's JSON Schema and
//!   the request's params;
//! - [`handler`]: the MCP handler (`rmcp`): tools, library scripts as `script_<name>` tools,
//!   the status and layers resources, errors as tool errors;
//! - [`bridge`]: the socket client.
//!
//! tokio lives here only (the MCP SDK is async); the rest of voxeld does not use it, and the
//! runtime is a current-thread one started by `voxeld mcp`.

pub mod bridge;
pub mod handler;
pub mod tools;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rmcp::ServiceExt;

use crate::cli::{McpArgs, ServeArgs};
use crate::server::RunningServer;
use bridge::Bridge;
use handler::VoxeldMcp;

/// Serves MCP on stdin/stdout until the client closes stdin.
pub fn run(args: &McpArgs) -> anyhow::Result<()> {
    let embedded = if args.embedded {
        Some(Embedded::start(args)?)
    } else {
        None
    };
    let socket = embedded
        .as_ref()
        .map_or_else(|| args.socket.clone(), |e| e.server.socket.clone());
    tracing::info!(socket = %socket.display(), embedded = args.embedded, "voxeld mcp on stdio");
    let bridge = Arc::new(Bridge::new(socket, Duration::from_secs(args.timeout)));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .context("starting the MCP runtime")?;
    let served = runtime.block_on(async {
        let service = VoxeldMcp::new(bridge)
            .serve(rmcp::transport::stdio())
            .await
            .context("MCP initialisation")?;
        service.waiting().await.context("MCP service")?;
        anyhow::Ok(())
    });
    // Standard input is read on a blocking thread that may still sit in a read.
    runtime.shutdown_timeout(Duration::from_millis(100));
    if let Some(embedded) = embedded {
        embedded.stop()?;
    }
    served
}

/// The world of `--embedded`: a production server on a private socket (and, without
/// `--data-dir`, a private data directory), removed when the MCP session ends.
struct Embedded {
    server: RunningServer,
    dir: PathBuf,
}

impl Embedded {
    fn start(args: &McpArgs) -> anyhow::Result<Embedded> {
        let dir = private_dir()?;
        let serve = ServeArgs {
            config: args.config.clone(),
            socket: Some(dir.join("voxeld.sock")),
            data_dir: Some(args.data_dir.clone().unwrap_or_else(|| dir.join("data"))),
            workers: args.workers,
            script_dirs: args.script_dirs.clone(),
        };
        let started = serve
            .config()
            .map_err(anyhow::Error::from)
            .and_then(crate::server::spawn);
        match started {
            Ok(server) => Ok(Embedded { server, dir }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(e.context("starting the embedded server"))
            }
        }
    }

    fn stop(self) -> anyhow::Result<()> {
        let stopped = self.server.stop();
        std::fs::remove_dir_all(&self.dir)
            .with_context(|| format!("removing {}", self.dir.display()))?;
        stopped
    }
}

/// A new directory only this user can enter, in the system temporary directory.
fn private_dir() -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::temp_dir();
    let pid = std::process::id();
    for attempt in 0..100u32 {
        let dir = base.join(format!("voxeld-mcp-{pid}-{attempt}"));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
    }
    anyhow::bail!("no free private directory under {}", base.display())
}
