//! The command line: `voxeld [serve]`, `replay`, `batch`, `convert`, `call`, `mcp` and
//! `journal check|repair|compact`, and how command-line overrides are merged into the RON
//! [`Config`].
//!
//! ```
//! use clap::Parser;
//! use voxeld::cli::{Cli, Command};
//! let cli = Cli::try_parse_from(["voxeld", "--socket", "/tmp/v.sock"]).unwrap();
//! let Command::Serve(serve) = cli.into_command() else { panic!() };
//! let config = serve.config().unwrap();
//! assert_eq!(config.socket.path.to_str(), Some("/tmp/v.sock"));
//! ```

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, ConfigError};

/// Headless voxel server speaking the Goxel daemon's JSON-RPC protocol.
///
/// With no subcommand, `voxeld` serves (the `serve` options apply).
#[derive(Debug, Parser)]
#[command(name = "voxeld", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do; absent means `serve`.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of the implicit `serve`.
    #[command(flatten)]
    pub serve: ServeArgs,
}

impl Cli {
    /// The command to run, with no subcommand meaning `serve`.
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Serve(self.serve))
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server on a Unix socket (the default when no subcommand is given).
    Serve(ServeArgs),
    /// Replay a journal (a file, a segment directory or a data directory), print the world hash
    /// and optionally write the world out.
    Replay(ReplayArgs),
    /// Run the JSON-RPC requests of an NDJSON file in order, print the replies and the final hash.
    Batch(BatchArgs),
    /// Convert a world between formats: IN is a .vxs, .gox or .vox file, a journal (.vxj) or a
    /// data directory; OUT is .vxs, .gox, .vox, .obj (+ .mtl) or .ply.
    Convert(ConvertArgs),
    /// Send one JSON-RPC request to a running server and print the result (exit 1 on an error).
    Call(CallArgs),
    /// Render a world to a PNG: IN is a .vxs, .gox or .vox file, a journal or a data directory.
    Render(RenderArgs),
    /// Serve the Model Context Protocol on stdin/stdout (for AI agents), bridging to a running
    /// server's socket, or with --embedded to a world of its own (docs/mcp.md).
    Mcp(McpArgs),
    /// Inspect, fix or compact a journal (a file, a segment directory or a data directory).
    Journal {
        /// The journal operation.
        #[command(subcommand)]
        action: JournalAction,
    },
}

/// Options of `voxeld serve`; each overrides the config file.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// RON config file (see assets/server.ron); built-in defaults without it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Socket path (overrides socket.path; default /tmp/goxel.sock).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Directory for the journal and snapshots (overrides data_dir).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Script worker threads (overrides scripts.workers).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Directory scripts may be loaded from by `path`; repeatable, added to scripts.script_dirs.
    #[arg(long = "script-dir", value_name = "DIR")]
    pub script_dirs: Vec<PathBuf>,
}

impl ServeArgs {
    /// Loads `--config` (or the defaults), applies the overrides and validates the result.
    pub fn config(&self) -> Result<Config, ConfigError> {
        let mut config = load_or_default(self.config.as_ref())?;
        self.apply(&mut config);
        config.validate()?;
        Ok(config)
    }

    /// Writes the given overrides into `config` (no validation).
    pub fn apply(&self, config: &mut Config) {
        if let Some(socket) = &self.socket {
            config.socket.path.clone_from(socket);
        }
        if let Some(dir) = &self.data_dir {
            config.data_dir.clone_from(dir);
        }
        if let Some(workers) = self.workers {
            config.scripts.workers = workers;
        }
        config
            .scripts
            .script_dirs
            .extend(self.script_dirs.iter().cloned());
    }
}

/// Options of `voxeld replay`.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// The journal to replay: a journal file, a directory of segments (the journal directory
    /// or an archive) or a data directory (its snapshot, or with `--until-seq` the newest
    /// snapshot at or before it, and the segments after it).
    #[arg(value_name = "JOURNAL")]
    pub journal: PathBuf,
    /// Start from this snapshot instead of an empty world.
    #[arg(long, value_name = "SNAPSHOT")]
    pub snapshot: Option<PathBuf>,
    /// Stop after the record with this sequence number.
    #[arg(long, value_name = "N")]
    pub until_seq: Option<u64>,
    /// Write the resulting world to this file (format from the extension).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Options of `voxeld convert`.
#[derive(Debug, Clone, Args)]
pub struct ConvertArgs {
    /// The world to read: a file, a journal or a data directory.
    #[arg(value_name = "IN")]
    pub input: PathBuf,
    /// The file to write.
    #[arg(value_name = "OUT")]
    pub output: PathBuf,
    /// Format of IN when its extension does not say (vxs, gox, vox).
    #[arg(long, value_name = "FORMAT")]
    pub from: Option<String>,
    /// Format of OUT when its extension does not say (vxs, gox, vox, obj, ply).
    #[arg(long, value_name = "FORMAT")]
    pub to: Option<String>,
}

/// Options of `voxeld render`.
#[derive(Debug, Clone, Args)]
pub struct RenderArgs {
    /// The world to draw: a file, a journal or a data directory.
    #[arg(value_name = "IN")]
    pub input: PathBuf,
    /// The PNG to write.
    #[arg(value_name = "OUT.png")]
    pub output: PathBuf,
    /// The view: front, back, left, right, top, bottom or isometric.
    #[arg(long, value_name = "PRESET", default_value = "isometric")]
    pub camera: String,
    /// Image size, WIDTHxHEIGHT (each 1..=8192).
    #[arg(long, value_name = "WxH", default_value = "512x512")]
    pub size: String,
    /// Background as r,g,b or r,g,b,a (alpha 0: transparent).
    #[arg(long, value_name = "RGBA", default_value = "240,240,240,255")]
    pub background: String,
    /// No outline on silhouettes and creases.
    #[arg(long)]
    pub no_outline: bool,
    /// Format of IN when its extension does not say (vxs, gox, vox).
    #[arg(long, value_name = "FORMAT")]
    pub from: Option<String>,
}

impl RenderArgs {
    /// The render request these options describe.
    pub fn request(&self) -> Result<crate::render::RenderRequest, String> {
        use crate::render::{Camera, Preset, RenderRequest};
        let (w, h) = self
            .size
            .split_once(['x', 'X'])
            .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
            .ok_or_else(|| format!("--size {}: expected WIDTHxHEIGHT, e.g. 512x512", self.size))?;
        let mut request = RenderRequest::new(w, h);
        let preset = Preset::from_name(&self.camera).ok_or_else(|| {
            format!(
                "--camera {}: expected front, back, left, right, top, bottom or isometric",
                self.camera
            )
        })?;
        request.camera = Camera::Preset(preset);
        let channels: Vec<u8> = self
            .background
            .split(',')
            .map(|c| c.trim().parse::<u8>())
            .collect::<Result<_, _>>()
            .map_err(|_| {
                format!(
                    "--background {}: expected r,g,b or r,g,b,a in 0..255",
                    self.background
                )
            })?;
        request.background = match channels[..] {
            [r, g, b] => [r, g, b, 255],
            [r, g, b, a] => [r, g, b, a],
            _ => {
                return Err(format!(
                    "--background {}: expected 3 or 4 channels",
                    self.background
                ));
            }
        };
        request.outline = !self.no_outline;
        Ok(request)
    }
}

/// Options of `voxeld call`.
#[derive(Debug, Clone, Args)]
pub struct CallArgs {
    /// The method, e.g. goxel.get_status.
    #[arg(value_name = "METHOD")]
    pub method: String,
    /// The params as JSON (an object or an array); none when absent.
    #[arg(value_name = "PARAMS_JSON")]
    pub params: Option<String>,
    /// The server's socket.
    #[arg(long, value_name = "PATH", default_value = "/tmp/goxel.sock")]
    pub socket: PathBuf,
    /// Seconds to wait for the reply.
    #[arg(long, value_name = "S", default_value_t = 330)]
    pub timeout: u64,
}

/// Options of `voxeld mcp`.
#[derive(Debug, Clone, Args)]
pub struct McpArgs {
    /// The running server's socket.
    #[arg(long, value_name = "PATH", default_value = "/tmp/goxel.sock")]
    pub socket: PathBuf,
    /// Start a server of its own (private socket; a private data directory unless --data-dir)
    /// instead of connecting to --socket.
    #[arg(long)]
    pub embedded: bool,
    /// RON config file of the embedded server.
    #[arg(long, value_name = "FILE", requires = "embedded")]
    pub config: Option<PathBuf>,
    /// Data directory of the embedded server, kept after the session (default: a private
    /// directory removed at the end).
    #[arg(long, value_name = "DIR", requires = "embedded")]
    pub data_dir: Option<PathBuf>,
    /// Script worker threads of the embedded server.
    #[arg(long, value_name = "N", requires = "embedded")]
    pub workers: Option<usize>,
    /// Script directory of the embedded server; repeatable.
    #[arg(long = "script-dir", value_name = "DIR", requires = "embedded")]
    pub script_dirs: Vec<PathBuf>,
    /// Seconds to wait for a reply from the server.
    #[arg(long, value_name = "S", default_value_t = 330)]
    pub timeout: u64,
}

/// Options of `voxeld batch`.
#[derive(Debug, Clone, Args)]
pub struct BatchArgs {
    /// NDJSON file: one JSON-RPC request (or batch) per line.
    #[arg(value_name = "FILE.ndjson")]
    pub file: PathBuf,
    /// RON config file (limits, script directories); built-in defaults without it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Write the final world to this file (format from the extension).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Script worker threads; the result does not depend on it (batch scripts run in order).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
}

impl BatchArgs {
    /// Loads `--config` (or the defaults), applies `--workers` and validates the result.
    pub fn config(&self) -> Result<Config, ConfigError> {
        let mut config = load_or_default(self.config.as_ref())?;
        if let Some(workers) = self.workers {
            config.scripts.workers = workers;
        }
        config.validate()?;
        Ok(config)
    }
}

/// `voxeld journal` operations.
#[derive(Debug, Clone, Subcommand)]
pub enum JournalAction {
    /// Verify every record's checksum and sequence; report a torn tail without changing anything.
    /// PATH is a journal file or a directory of segments (then the seqs must run on from one
    /// segment to the next).
    Check {
        /// The journal file or segment directory.
        #[arg(value_name = "PATH")]
        path: PathBuf,
    },
    /// Truncate a torn tail so the journal ends at its last good record (of a segment
    /// directory: its last segment).
    Repair {
        /// The journal file or segment directory.
        #[arg(value_name = "PATH")]
        path: PathBuf,
        /// Also cut at corruption in the middle, dropping every record from the damaged one on.
        #[arg(long)]
        truncate_corrupt: bool,
    },
    /// Snapshot a data directory that no server is using, and delete (or, with
    /// `journal.retain`, archive) the journal segments the snapshot covers.
    Compact(CompactArgs),
}

/// Options of `voxeld journal compact`.
#[derive(Debug, Clone, Args)]
pub struct CompactArgs {
    /// The data directory (as `serve --data-dir`).
    #[arg(value_name = "DATA_DIR")]
    pub data_dir: PathBuf,
    /// RON config file (journal and snapshot settings); built-in defaults without it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl CompactArgs {
    /// Loads `--config` (or the defaults) with `data_dir` set, and validates it.
    pub fn config(&self) -> Result<Config, ConfigError> {
        let mut config = load_or_default(self.config.as_ref())?;
        config.data_dir.clone_from(&self.data_dir);
        config.validate()?;
        Ok(config)
    }
}

fn load_or_default(path: Option<&PathBuf>) -> Result<Config, ConfigError> {
    match path {
        Some(path) => Config::load(path),
        None => Ok(Config::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use std::path::Path;

    fn parse(args: &[&str]) -> Command {
        Cli::try_parse_from(args).unwrap().into_command()
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_subcommand_serves_on_defaults() {
        let Command::Serve(serve) = parse(&["voxeld"]) else {
            panic!("expected serve")
        };
        assert_eq!(serve.config().unwrap(), Config::default());
    }

    #[test]
    fn serve_overrides_merge_into_config() {
        let Command::Serve(serve) = parse(&[
            "voxeld",
            "serve",
            "--socket",
            "/tmp/x.sock",
            "--data-dir",
            "/data",
            "--workers",
            "8",
            "--script-dir",
            "a",
            "--script-dir",
            "b",
        ]) else {
            panic!("expected serve")
        };
        let config = serve.config().unwrap();
        assert_eq!(config.socket.path, PathBuf::from("/tmp/x.sock"));
        assert_eq!(config.data_dir, PathBuf::from("/data"));
        assert_eq!(config.scripts.workers, 8);
        assert_eq!(
            config.scripts.script_dirs,
            [PathBuf::from("a"), PathBuf::from("b")]
        );
    }

    #[test]
    fn overrides_are_validated() {
        let Command::Serve(serve) = parse(&["voxeld", "--workers", "0"]) else {
            panic!("expected serve")
        };
        assert_eq!(
            serve.config().unwrap_err().to_string(),
            "scripts.workers must be ≥ 1"
        );
    }

    #[test]
    fn replay_batch_and_journal() {
        let Command::Replay(replay) = parse(&[
            "voxeld",
            "replay",
            "j.vxj",
            "--snapshot",
            "s.vxs",
            "--until-seq",
            "42",
            "--out",
            "w.gox",
        ]) else {
            panic!("expected replay")
        };
        assert_eq!(replay.journal, PathBuf::from("j.vxj"));
        assert_eq!(replay.snapshot, Some(PathBuf::from("s.vxs")));
        assert_eq!(replay.until_seq, Some(42));
        assert_eq!(replay.out, Some(PathBuf::from("w.gox")));

        let Command::Batch(batch) = parse(&["voxeld", "batch", "in.ndjson", "--workers", "2"])
        else {
            panic!("expected batch")
        };
        assert_eq!(batch.file, PathBuf::from("in.ndjson"));
        assert_eq!(batch.config().unwrap().scripts.workers, 2);

        assert!(matches!(
            parse(&["voxeld", "journal", "check", "j.vxj"]),
            Command::Journal { action: JournalAction::Check { path } } if path == Path::new("j.vxj")
        ));
        assert!(matches!(
            parse(&["voxeld", "journal", "compact", "data"]),
            Command::Journal { action: JournalAction::Compact(args) } if args.data_dir == Path::new("data")
        ));
        assert!(matches!(
            parse(&["voxeld", "journal", "repair", "j.vxj"]),
            Command::Journal {
                action: JournalAction::Repair { .. }
            }
        ));
    }

    #[test]
    fn mcp_bridges_or_embeds() {
        let Command::Mcp(mcp) = parse(&["voxeld", "mcp"]) else {
            panic!("expected mcp")
        };
        assert_eq!(mcp.socket, PathBuf::from("/tmp/goxel.sock"));
        assert!(!mcp.embedded);
        let Command::Mcp(mcp) = parse(&["voxeld", "mcp", "--embedded", "--script-dir", "lib"])
        else {
            panic!("expected mcp")
        };
        assert!(mcp.embedded);
        assert_eq!(mcp.script_dirs, [PathBuf::from("lib")]);
        // Options of the embedded server make no sense for a bridge.
        assert!(Cli::try_parse_from(["voxeld", "mcp", "--data-dir", "d"]).is_err());
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(Cli::try_parse_from(["voxeld", "--workers", "many"]).is_err());
        assert!(Cli::try_parse_from(["voxeld", "replay"]).is_err());
        assert!(Cli::try_parse_from(["voxeld", "journal", "fix", "j"]).is_err());
        assert!(Cli::try_parse_from(["voxeld", "--socket", "s", "replay", "j"]).is_err());
    }
}
