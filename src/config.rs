//! Server configuration: one RON file (documented default: `assets/server.ron`), every field
//! optional, unknown fields rejected with file, line, column and field named.
//!
//! ```
//! use voxeld::config::Config;
//! let config = Config::parse("(scripts: (workers: 2))", "inline.ron".as_ref()).unwrap();
//! assert_eq!(config.scripts.workers, 2);
//! assert_eq!(config.socket.path, Config::default().socket.path);
//!
//! let err = Config::parse("(\n  scripts: (wrkers: 2),\n)", "bad.ron".as_ref()).unwrap_err();
//! assert!(err.to_string().starts_with("bad.ron:2:"), "{err}");
//! assert!(err.to_string().contains("unknown field 'wrkers' in scripts"), "{err}");
//! ```

mod replication;
mod simulation;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use replication::{ReplicationAck, ReplicationConfig};
pub use simulation::{
    ColorMatch, ColorValue, NeighbourhoodConfig, RegionConfig, RuleConfig, SimulationConfig,
    SimulationFile, rule_set, validate_rules,
};

/// The whole server configuration; `Config::default()` is what runs with no file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where and how clients connect.
    pub socket: SocketConfig,
    /// The JavaScript worker pool and its per-script limits.
    pub scripts: ScriptsConfig,
    /// Directory holding the journal and snapshots; relative paths below are resolved against it.
    /// Relative to the working directory when relative itself.
    pub data_dir: PathBuf,
    /// The append-only record of every accepted change.
    pub journal: JournalConfig,
    /// Limits on the voxel world, so one request cannot exhaust memory.
    pub world: WorldConfig,
    /// Simulation ticks per second while the simulation runs (0: only on `goxel.step`); edits
    /// do not wait for ticks, only simulation rules do.
    pub tick_rate_hz: u32,
    /// Rules that change the world on each tick.
    pub simulation: SimulationConfig,
    /// Which files clients may load, save and export.
    pub files: FilesConfig,
    /// Renders `goxel.render_scene` keeps in file-path mode.
    pub renders: RendersConfig,
    /// Change notifications (`goxel.subscribe`) and their bounds.
    pub subscriptions: SubscriptionsConfig,
    /// The raw TCP transport (newline-delimited JSON-RPC, as on the Unix socket).
    pub tcp: TcpConfig,
    /// The WebSocket transport (one JSON-RPC message per text frame) and its static pages.
    pub websocket: WebSocketConfig,
    /// Tokens for the network transports, with their permissions.
    pub auth: AuthConfig,
    /// Journal replication to read replicas and a standby over NATS JetStream (off by default).
    pub replication: ReplicationConfig,
}

/// Change notifications.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SubscriptionsConfig {
    /// Unsent output bytes past which a subscriber gets one `goxel.resync` notice and no more
    /// notifications until its output drains (a slow reader costs bounded memory).
    pub max_pending_bytes: usize,
    /// Changed chunks listed in one `goxel.world_changed`; beyond it the notification gives
    /// only the count and the bounding box.
    pub max_notified_chunks: usize,
}

impl Default for SubscriptionsConfig {
    fn default() -> Self {
        Self {
            max_pending_bytes: 1 << 20,
            max_notified_chunks: 4096,
        }
    }
}

/// The TCP listener.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TcpConfig {
    /// Whether to listen.
    pub enabled: bool,
    /// Address and port; loopback unless you mean to serve other machines.
    pub address: String,
}

impl Default for TcpConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            address: "127.0.0.1:7767".into(),
        }
    }
}

/// The WebSocket listener.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebSocketConfig {
    /// Whether to listen.
    pub enabled: bool,
    /// Address and port; loopback unless you mean to serve other machines.
    pub address: String,
    /// `Origin` values allowed to open a WebSocket (e.g. `"https://viewer.example"`), besides
    /// clients that send no `Origin` and pages served by this port on a loopback host.
    pub allowed_origins: Vec<String>,
}

impl Default for WebSocketConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            address: "127.0.0.1:7768".into(),
            allowed_origins: Vec::new(),
        }
    }
}

/// Tokens for TCP and WebSocket clients. With none configured, those clients have every
/// permission (keep them on loopback then); with any, a client must present one first.
/// The Unix socket is guarded by its file mode and always has every permission.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Tokens written in the configuration.
    pub tokens: Vec<TokenConfig>,
    /// A file of tokens, one per line: `TOKEN PERMISSION,PERMISSION`; `#` starts a comment.
    /// It must not be readable or writable by group or others (mode 0600 or stricter).
    /// Relative to `data_dir` unless absolute.
    pub tokens_file: Option<PathBuf>,
}

/// One token and what it may do.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// The secret a client presents.
    pub token: String,
    /// What it may do.
    pub permissions: Vec<Permission>,
}

/// What a client may do; each method needs one (`docs/methods.md`, "Permissions").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub enum Permission {
    /// Read the world, status, subscribe.
    Read,
    /// Change voxels and layers, undo, redo, step the simulation.
    Edit,
    /// Run scripts.
    Script,
    /// Files (load, save, export), renders to files, simulation rules, everything else.
    Admin,
}

/// The managed renders directory and its bounds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RendersConfig {
    /// Directory of managed renders, relative to `data_dir` unless absolute.
    pub dir: PathBuf,
    /// Renders kept at most; the oldest go first.
    pub max_count: usize,
    /// Total bytes of renders kept at most; the oldest go first.
    pub max_total_bytes: u64,
    /// Seconds a render is kept.
    pub ttl_seconds: u64,
}

impl Default for RendersConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("renders"),
            max_count: 1000,
            max_total_bytes: 1 << 30,
            ttl_seconds: 3600,
        }
    }
}

/// File access for load, save, export and render.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FilesConfig {
    /// Directories absolute paths must lie under (relative entries: under `data_dir`). `None`:
    /// the data directory and the system temporary directory, where daemon clients write.
    pub roots: Option<Vec<PathBuf>>,
    /// Largest file a load reads, so a client cannot make the server read without end.
    pub max_file_bytes: u64,
}

impl Default for FilesConfig {
    fn default() -> Self {
        Self {
            roots: None,
            max_file_bytes: 1 << 30,
        }
    }
}

/// Socket settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SocketConfig {
    /// Unix socket path (Windows: pipe name); the Goxel daemon's default so its clients work as is.
    pub path: PathBuf,
    /// Permission bits of the socket file; 0o600 lets only the owner connect.
    pub mode: u32,
    /// Connections beyond this are refused, bounding file descriptors and buffers.
    pub max_connections: usize,
    /// Longest accepted line in bytes; longer lines get `-32700` and are skipped, not buffered.
    pub max_frame_bytes: usize,
    /// Pending reply bytes per connection before it is no longer read (backpressure).
    pub max_output_bytes: usize,
    /// A connection whose pending replies stay at or above `max_output_bytes` this long (ms) —
    /// a client that sends but does not read — is dropped with a log line; 0 never drops.
    pub slow_reader_timeout_ms: u64,
}

/// Script pool settings and per-script limits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScriptsConfig {
    /// Worker threads, each with its own QuickJS runtime; scripts beyond this wait in the queue.
    pub workers: usize,
    /// Scripts waiting for a worker; a full queue answers "worker pool exhausted" at once.
    pub queue_capacity: usize,
    /// Timeout when a request gives no `timeout_ms` (the Goxel daemon's 30 s).
    pub default_timeout_ms: u64,
    /// Largest `timeout_ms` a request may ask for (the Goxel daemon's 300 s).
    pub max_timeout_ms: u64,
    /// QuickJS heap limit per script, so a script cannot take the server's memory.
    pub memory_limit_bytes: usize,
    /// QuickJS stack limit, so deep recursion is an error, not a crash.
    pub stack_limit_bytes: usize,
    /// Most voxel edits one script may make; more aborts the script with nothing applied.
    pub max_edits: u64,
    /// Largest script source accepted (inline or from a file).
    pub max_script_bytes: usize,
    /// Captured `console` output per script beyond which output is dropped.
    pub max_log_bytes: usize,
    /// Directories `execute_script` may load `path` from, and the script library
    /// (`list_scripts`, `run_script`) registers; empty means inline scripts only.
    pub script_dirs: Vec<PathBuf>,
    /// Most replies of library runs kept for answering the same run on the same world again;
    /// 0 turns the cache off.
    pub result_cache_entries: usize,
    /// Most bytes of replies that cache keeps.
    pub result_cache_bytes: usize,
}

/// Journal settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JournalConfig {
    /// Without a journal, edits are lost on exit; useful only for throwaway servers and tests.
    pub enabled: bool,
    /// The single-file journal of earlier versions, relative to `data_dir` unless absolute:
    /// found at start-up, it is moved into `dir` as the first segment (a rename).
    pub path: PathBuf,
    /// Directory of the journal's segment files, relative to `data_dir` unless absolute.
    pub dir: PathBuf,
    /// A segment is closed and a new one started once it holds this many bytes (and at every
    /// snapshot), so covered history can be deleted a segment at a time.
    pub segment_bytes: u64,
    /// Snapshots kept, with the segments after each, in `archive_dir` for point-in-time replay
    /// (`voxeld replay`); 0 deletes covered segments instead. The archive is never read at
    /// start-up.
    pub retain: usize,
    /// Where retained snapshots and segments go, relative to `data_dir` unless absolute.
    pub archive_dir: PathBuf,
    /// When appended records are forced to disk.
    pub fsync: FsyncPolicy,
    /// Snapshots bound start-up time: start-up loads the newest one plus the journal tail.
    pub snapshot: SnapshotConfig,
}

/// When the journal calls fsync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum FsyncPolicy {
    /// Before each reply (with group commit): survives power loss, slowest.
    Always,
    /// About once a second: survives a crash of the server, may lose ~1 s on power loss.
    EverySec,
    /// Leave it to the OS: survives a crash of the server only.
    Never,
}

impl FsyncPolicy {
    /// The journal writer's mode for this policy. `Always` is a group sync: commits only
    /// write, and the world loop syncs once per iteration before it sends any of its replies.
    pub fn sync_mode(self) -> crate::journal::SyncMode {
        use crate::journal::SyncMode;
        match self {
            FsyncPolicy::Always => SyncMode::Group,
            FsyncPolicy::EverySec => SyncMode::Periodic,
            FsyncPolicy::Never => SyncMode::OsDecides,
        }
    }

    /// The policy's name in the configuration file.
    pub fn name(self) -> &'static str {
        match self {
            FsyncPolicy::Always => "Always",
            FsyncPolicy::EverySec => "EverySec",
            FsyncPolicy::Never => "Never",
        }
    }
}

/// Snapshot settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SnapshotConfig {
    /// Write a snapshot after this many journal records; 0 disables periodic snapshots.
    pub every_records: u64,
    /// Write a snapshot on clean shutdown so the next start-up replays nothing.
    pub on_shutdown: bool,
    /// Snapshot file, relative to `data_dir` unless absolute.
    pub path: PathBuf,
}

/// World limits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorldConfig {
    /// Smallest voxel coordinate accepted (inclusive); edits outside are `-32602`.
    pub bounds_min: (i32, i32, i32),
    /// Largest voxel coordinate accepted (inclusive).
    pub bounds_max: (i32, i32, i32),
    /// Most voxels one command buffer (one request or one script) may touch.
    pub max_edit_voxels: u64,
    /// Most voxels one flood fill may change; a larger region is an error, not a hang.
    pub flood_fill_limit: u64,
    /// Command buffers kept for undo; 0 disables undo.
    pub undo_depth: usize,
}

impl Default for SocketConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("/tmp/goxel.sock"),
            mode: 0o600,
            max_connections: 1024,
            max_frame_bytes: 16 * 1024 * 1024,
            max_output_bytes: 8 * 1024 * 1024,
            slow_reader_timeout_ms: 30_000,
        }
    }
}

impl Default for ScriptsConfig {
    fn default() -> Self {
        Self {
            workers: 4,
            queue_capacity: 100,
            default_timeout_ms: 30_000,
            max_timeout_ms: 300_000,
            memory_limit_bytes: 64 * 1024 * 1024,
            stack_limit_bytes: 1024 * 1024,
            max_edits: 10_000_000,
            max_script_bytes: 1024 * 1024,
            max_log_bytes: 1024 * 1024,
            script_dirs: Vec::new(),
            result_cache_entries: 256,
            result_cache_bytes: 16 * 1024 * 1024,
        }
    }
}

impl Default for JournalConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            path: PathBuf::from("journal.vxj"),
            dir: PathBuf::from("journal"),
            segment_bytes: 64 << 20,
            retain: 0,
            archive_dir: PathBuf::from("archive"),
            fsync: FsyncPolicy::EverySec,
            snapshot: SnapshotConfig::default(),
        }
    }
}

impl Default for SnapshotConfig {
    fn default() -> Self {
        Self {
            every_records: 100_000,
            on_shutdown: true,
            path: PathBuf::from("snapshot.vxs"),
        }
    }
}

impl Default for WorldConfig {
    fn default() -> Self {
        Self {
            bounds_min: (-1_048_576, -1_048_576, -1_048_576),
            bounds_max: (1_048_575, 1_048_575, 1_048_575),
            max_edit_voxels: 16_777_216,
            flood_fill_limit: 1_000_000,
            undo_depth: 256,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            socket: SocketConfig::default(),
            scripts: ScriptsConfig::default(),
            data_dir: PathBuf::from("voxeld-data"),
            journal: JournalConfig::default(),
            world: WorldConfig::default(),
            tick_rate_hz: 20,
            simulation: SimulationConfig::default(),
            files: FilesConfig::default(),
            renders: RendersConfig::default(),
            subscriptions: SubscriptionsConfig::default(),
            tcp: TcpConfig::default(),
            websocket: WebSocketConfig::default(),
            auth: AuthConfig::default(),
            replication: ReplicationConfig::default(),
        }
    }
}

/// Why a configuration could not be loaded; the message names the file and the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read config: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid RON for this schema (syntax, unknown field, wrong type).
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What is wrong, naming the field where known.
        message: String,
    },
    /// A value is out of its allowed range.
    #[error("{origin}{field} {reason}", origin = Origin(path))]
    Invalid {
        /// The file, when the config came from one.
        path: Option<PathBuf>,
        /// Dotted field path, e.g. `scripts.workers`.
        field: String,
        /// The rule broken, e.g. `must be ≥ 1`.
        reason: String,
    },
}

struct Origin<'a>(&'a Option<PathBuf>);

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(path) => write!(f, "{}: ", path.display()),
            None => Ok(()),
        }
    }
}

impl Config {
    /// Reads, parses and validates a RON file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates RON text; `path` is used in error messages, and its directory to
    /// find a `simulation.file`.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = parse_ron(text, path)?;
        let in_file = |e: ConfigError| match e {
            ConfigError::Invalid { field, reason, .. } => ConfigError::Invalid {
                path: Some(path.to_path_buf()),
                field,
                reason,
            },
            other => other,
        };
        if let Some(file) = &config.simulation.file {
            if !config.simulation.rules.is_empty() || config.simulation.seed != 0 {
                return Err(in_file(ConfigError::Invalid {
                    path: None,
                    field: "simulation.file".into(),
                    reason: "cannot be given with simulation.rules or simulation.seed".into(),
                }));
            }
            let file = path.parent().unwrap_or(Path::new("")).join(file);
            let text = std::fs::read_to_string(&file).map_err(|source| ConfigError::Read {
                path: file.clone(),
                source,
            })?;
            let rules: SimulationFile = parse_ron(&text, &file)?;
            validate_rules(&rules.rules, "rules").map_err(|e| match e {
                ConfigError::Invalid { field, reason, .. } => ConfigError::Invalid {
                    path: Some(file.clone()),
                    field,
                    reason,
                },
                other => other,
            })?;
            config.simulation.seed = rules.seed;
            config.simulation.rules = rules.rules;
        }
        config.validate().map_err(in_file)?;
        Ok(config)
    }

    /// Checks value ranges and cross-field rules (call again after applying CLI overrides).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let s = &self.socket;
        check(
            !s.path.as_os_str().is_empty(),
            "socket.path",
            "must not be empty",
        )?;
        check(s.mode <= 0o777, "socket.mode", "must be ≤ 0o777")?;
        check(
            s.max_connections >= 1,
            "socket.max_connections",
            "must be ≥ 1",
        )?;
        check(
            s.max_frame_bytes >= 1,
            "socket.max_frame_bytes",
            "must be ≥ 1",
        )?;
        check(
            s.max_output_bytes >= 1,
            "socket.max_output_bytes",
            "must be ≥ 1",
        )?;

        check(
            self.subscriptions.max_pending_bytes >= 1,
            "subscriptions.max_pending_bytes",
            "must be ≥ 1",
        )?;
        check(
            self.tcp.address.parse::<std::net::SocketAddr>().is_ok(),
            "tcp.address",
            "must be an IP address and port, e.g. \"127.0.0.1:7767\"",
        )?;
        check(
            self.websocket
                .address
                .parse::<std::net::SocketAddr>()
                .is_ok(),
            "websocket.address",
            "must be an IP address and port, e.g. \"127.0.0.1:7768\"",
        )?;
        for t in &self.auth.tokens {
            check(
                t.token.len() >= 16,
                "auth.tokens",
                "each token must be at least 16 characters",
            )?;
        }

        let sc = &self.scripts;
        check(sc.workers >= 1, "scripts.workers", "must be ≥ 1")?;
        check(
            sc.queue_capacity >= 1,
            "scripts.queue_capacity",
            "must be ≥ 1",
        )?;
        check(
            sc.default_timeout_ms >= 1,
            "scripts.default_timeout_ms",
            "must be ≥ 1",
        )?;
        check(
            sc.default_timeout_ms <= sc.max_timeout_ms,
            "scripts.default_timeout_ms",
            "must be ≤ scripts.max_timeout_ms",
        )?;
        check(
            sc.memory_limit_bytes >= 1,
            "scripts.memory_limit_bytes",
            "must be ≥ 1",
        )?;
        check(
            sc.stack_limit_bytes >= 1,
            "scripts.stack_limit_bytes",
            "must be ≥ 1",
        )?;
        check(sc.max_edits >= 1, "scripts.max_edits", "must be ≥ 1")?;
        check(
            sc.max_script_bytes >= 1,
            "scripts.max_script_bytes",
            "must be ≥ 1",
        )?;

        check(
            !self.data_dir.as_os_str().is_empty(),
            "data_dir",
            "must not be empty",
        )?;
        let j = &self.journal;
        check(
            !j.path.as_os_str().is_empty(),
            "journal.path",
            "must not be empty",
        )?;
        check(
            !j.dir.as_os_str().is_empty(),
            "journal.dir",
            "must not be empty",
        )?;
        check(
            !j.archive_dir.as_os_str().is_empty(),
            "journal.archive_dir",
            "must not be empty",
        )?;
        check(
            j.segment_bytes >= 4096,
            "journal.segment_bytes",
            "must be ≥ 4096",
        )?;
        check(
            !j.snapshot.path.as_os_str().is_empty(),
            "journal.snapshot.path",
            "must not be empty",
        )?;

        let w = &self.world;
        let (min, max) = (w.bounds_min, w.bounds_max);
        check(
            min.0 <= max.0 && min.1 <= max.1 && min.2 <= max.2,
            "world.bounds_min",
            "must be ≤ world.bounds_max on every axis",
        )?;
        check(
            w.max_edit_voxels >= 1,
            "world.max_edit_voxels",
            "must be ≥ 1",
        )?;
        check(
            w.flood_fill_limit >= 1,
            "world.flood_fill_limit",
            "must be ≥ 1",
        )?;
        check(
            self.tick_rate_hz <= 1000,
            "tick_rate_hz",
            "must be in 0..=1000",
        )?;
        validate_rules(&self.simulation.rules, "simulation.rules")?;
        self.replication.validate(self.journal.enabled)?;
        Ok(())
    }

    /// The simulation's rule set, walled in by the world bounds.
    pub fn rule_set(&self) -> systems::simulation::RuleSet {
        let w = &self.world;
        systems::simulation::RuleSet {
            bounds: systems::VoxelBox::from_corners(
                glam::IVec3::new(w.bounds_min.0, w.bounds_min.1, w.bounds_min.2),
                glam::IVec3::new(w.bounds_max.0, w.bounds_max.1, w.bounds_max.2),
            ),
            ..self.simulation.rule_set()
        }
    }

    /// The journal file: `journal.path` resolved against `data_dir`.
    pub fn journal_path(&self) -> PathBuf {
        self.data_dir.join(&self.journal.path)
    }

    /// The segment directory: `journal.dir` resolved against `data_dir`.
    pub fn journal_dir(&self) -> PathBuf {
        self.data_dir.join(&self.journal.dir)
    }

    /// The archive of retained snapshots and segments: `journal.archive_dir` resolved against
    /// `data_dir`.
    pub fn archive_dir(&self) -> PathBuf {
        self.data_dir.join(&self.journal.archive_dir)
    }

    /// The snapshot file: `journal.snapshot.path` resolved against `data_dir`.
    pub fn snapshot_path(&self) -> PathBuf {
        self.data_dir.join(&self.journal.snapshot.path)
    }
}

/// Parses RON text as `T`, errors naming `path`, line, column and field.
fn parse_ron<T: serde::de::DeserializeOwned>(text: &str, path: &Path) -> Result<T, ConfigError> {
    ron::Options::default()
        .from_str(text)
        .map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            line: e.span.start.line,
            column: e.span.start.col,
            message: describe(&e.code, text, e.span.start.line, e.span.start.col),
        })
}

fn check(ok: bool, field: &str, reason: &str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            path: None,
            field: field.to_string(),
            reason: reason.to_string(),
        })
    }
}

/// A RON error in our words: unknown fields name their section; other errors name the field
/// found left of the error position, when there is one.
fn describe(code: &ron::Error, text: &str, line: usize, column: usize) -> String {
    if let ron::Error::NoSuchStructField {
        expected,
        found,
        outer,
    } = code
    {
        let section = outer.as_deref().map(section_name).unwrap_or("config");
        let expected = expected
            .iter()
            .map(|f| format!("'{f}'"))
            .collect::<Vec<_>>()
            .join(", ");
        return format!("unknown field '{found}' in {section}, expected one of {expected}");
    }
    match field_before(text, line, column) {
        Some(field) => format!("field '{field}': {code}"),
        None => code.to_string(),
    }
}

/// The config section a RON struct name stands for.
fn section_name(type_name: &str) -> &str {
    match type_name {
        "Config" => "config",
        "SocketConfig" => "socket",
        "ScriptsConfig" => "scripts",
        "JournalConfig" => "journal",
        "SnapshotConfig" => "journal.snapshot",
        "WorldConfig" => "world",
        "SimulationConfig" => "simulation",
        "SimulationFile" => "simulation file",
        "RegionConfig" => "region",
        "SubscriptionsConfig" => "subscriptions",
        "TcpConfig" => "tcp",
        "WebSocketConfig" => "websocket",
        "AuthConfig" => "auth",
        "TokenConfig" => "auth.tokens",
        other => other,
    }
}

/// The `name` of the last `name:` on `line` before `column` (both 1-based), if any.
fn field_before(text: &str, line: usize, column: usize) -> Option<String> {
    let line_text = text.lines().nth(line.checked_sub(1)?)?;
    let prefix: String = line_text.chars().take(column.saturating_sub(1)).collect();
    let colon = prefix.rfind(':')?;
    let name: String = prefix[..colon]
        .trim_end()
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("test.ron"))
    }

    #[test]
    fn empty_file_is_the_default() {
        assert_eq!(parse("()").unwrap(), Config::default());
    }

    #[test]
    fn octal_mode_and_enum() {
        let c = parse("(socket: (mode: 0o660), journal: (fsync: Always))").unwrap();
        assert_eq!(c.socket.mode, 0o660);
        assert_eq!(c.journal.fsync, FsyncPolicy::Always);
    }

    /// Regression (#12): `Always` used to map to a writer mode called `Never`.
    #[test]
    fn each_fsync_policy_maps_to_the_writer_mode_that_does_what_it_says() {
        use crate::journal::SyncMode;
        assert_eq!(FsyncPolicy::Always.sync_mode(), SyncMode::Group);
        assert_eq!(FsyncPolicy::EverySec.sync_mode(), SyncMode::Periodic);
        assert_eq!(FsyncPolicy::Never.sync_mode(), SyncMode::OsDecides);
        for p in [
            FsyncPolicy::Always,
            FsyncPolicy::EverySec,
            FsyncPolicy::Never,
        ] {
            assert_eq!(format!("{p:?}"), p.name());
        }
    }

    #[test]
    fn unknown_field_names_file_line_and_field() {
        let err = parse("(\n  scripts: (\n    wrkers: 3,\n  ),\n)").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("test.ron:3:"), "{msg}");
        assert!(
            msg.contains("unknown field 'wrkers' in scripts, expected one of 'workers'"),
            "{msg}"
        );
    }

    #[test]
    fn unknown_top_level_field() {
        let msg = parse("(sockett: ())").unwrap_err().to_string();
        assert!(msg.contains("unknown field 'sockett' in config"), "{msg}");
    }

    #[test]
    fn wrong_type_names_the_field() {
        let msg = parse("(\n  scripts: (workers: \"four\"),\n)")
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("test.ron:2:"), "{msg}");
        assert!(msg.contains("field 'workers'"), "{msg}");
    }

    #[test]
    fn bad_values_name_the_field() {
        let cases = [
            (
                "(scripts: (workers: 0))",
                "test.ron: scripts.workers must be ≥ 1",
            ),
            (
                "(socket: (mode: 0o1777))",
                "test.ron: socket.mode must be ≤ 0o777",
            ),
            (
                "(world: (bounds_min: (0, 5, 0), bounds_max: (1, 1, 1)))",
                "test.ron: world.bounds_min must be ≤ world.bounds_max on every axis",
            ),
            (
                "(scripts: (default_timeout_ms: 10, max_timeout_ms: 5))",
                "test.ron: scripts.default_timeout_ms must be ≤ scripts.max_timeout_ms",
            ),
            (
                "(tick_rate_hz: 1001)",
                "test.ron: tick_rate_hz must be in 0..=1000",
            ),
            (
                "(simulation: (rules: [Flow(matches: [\"#ffffff\"], spread: 0)]))",
                "test.ron: simulation.rules[0].spread (Flow) must be in 1..=64",
            ),
            (
                "(simulation: (rules: [Decay(matches: [\"any\"], chance: Some(0.5), after: Some(3))]))",
                "test.ron: simulation.rules[0].chance (Decay) give exactly one of chance and after",
            ),
            (
                "(simulation: (rules: [Life(alive: [\"any\"], birth: [3], survive: [])]))",
                "test.ron: simulation.rules[0].color (Life) is required when alive names no colour",
            ),
            (
                "(simulation: (rules: [Life(alive: [[1, 2, 3]], birth: [0], survive: [])]))",
                "test.ron: simulation.rules[0].birth (Life) 0 is not in 1..=26 (the Moore neighbourhood)",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text).unwrap_err().to_string(), expected);
        }
    }

    #[test]
    fn paths_resolve_against_data_dir() {
        let c = parse("(data_dir: \"/var/lib/voxeld\")").unwrap();
        assert_eq!(c.journal_path(), Path::new("/var/lib/voxeld/journal.vxj"));
        assert_eq!(c.snapshot_path(), Path::new("/var/lib/voxeld/snapshot.vxs"));
    }
}
