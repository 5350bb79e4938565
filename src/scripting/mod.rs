//! Sandboxed JavaScript edit scripts.
//!
//! A [`ScriptPool`] runs [`ScriptJob`]s on worker threads, each owning a QuickJS runtime, and
//! sends every [`ScriptDone`] back on a channel. Scripts reach the world only through the
//! [`ScriptHost`] trait, which the server implements on a scratch view of the world.
//!
//! Code map: [`host`] is the world seam, [`job`] the data in and out, [`pool`] the queue and
//! threads, [`worker`] one script run with its limits, [`api`] the JavaScript surface, [`path`]
//! resolves script files inside the configured directories. Two small modules call QuickJS
//! directly, each for a measured reason given in its docs: `native` (`goxel.addVoxel`) and
//! `bytecode` (loading recently run scripts instead of compiling them, kept in [`code_cache`]).

mod api;
mod bytecode;
pub mod code_cache;
pub mod host;
pub mod job;
mod lazy_globals;
pub mod library;
#[cfg(target_os = "linux")]
mod meter;
mod native;
pub mod path;
pub mod pool;
pub mod worker;

pub use host::{HostError, Rgba, ScriptHost};
pub use job::{
    LogLevel, LogLine, ScriptDone, ScriptError, ScriptFailure, ScriptJob, ScriptLimits,
    ScriptProfile, ScriptSuccess, StackFrame,
};
pub use path::{PathError, resolve_script_path};
pub use pool::{PoolConfig, PoolStats, ScriptPool, SubmitError};
pub use worker::ScriptRunner;
