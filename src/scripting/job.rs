//! What goes into the worker pool and what comes out.
//!
//! A [`ScriptJob`] owns everything a worker needs (source, limits and the host view), so no
//! closure ever crosses a thread. A [`ScriptDone`] hands the host back together with either a
//! [`ScriptSuccess`] or a [`ScriptFailure`]; the server commits the host's edits only on success.

use std::time::Duration;

use serde::Serialize;
use thiserror::Error;

/// One script to run.
#[derive(Debug)]
pub struct ScriptJob<H> {
    /// Opaque id chosen by the submitter, echoed in [`ScriptDone`] to find the client again.
    pub ticket: u64,
    /// JavaScript source, evaluated as a global strict-mode script.
    pub source: String,
    /// File name shown in stack traces and error locations.
    pub name: String,
    /// Wall-clock budget for the evaluation, enforced by the interrupt handler.
    pub timeout: Duration,
    /// Higher runs first; equal priorities run in submission order.
    pub priority: i32,
    /// Seed for `Math.random`; `None` derives one from the script text, so runs are reproducible.
    pub seed: Option<u64>,
    /// JSON text of an object the script sees as the global `args` (library runs); `None`:
    /// no `args` global.
    pub args: Option<String>,
    /// The world view the script edits.
    pub host: H,
    /// Resource limits for this run.
    pub limits: ScriptLimits,
}

/// Resource limits of one script run; each violation is a distinct [`ScriptError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptLimits {
    /// QuickJS heap limit of the runtime, in bytes.
    pub memory_bytes: usize,
    /// Native stack the interpreter may use, in bytes (bounds recursion depth).
    pub stack_bytes: usize,
    /// Maximum number of voxel edits.
    pub max_edits: u64,
    /// Maximum source size, in bytes.
    pub max_script_bytes: usize,
    /// Maximum total size of captured console output, in bytes.
    pub max_log_bytes: usize,
}

impl Default for ScriptLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 << 20,
            stack_bytes: 512 << 10,
            max_edits: 10_000_000,
            max_script_bytes: 1 << 20,
            max_log_bytes: 64 << 10,
        }
    }
}

/// Severity of a captured console line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// `console.log`
    Log,
    /// `console.info`
    Info,
    /// `console.warn`
    Warn,
    /// `console.error`
    Error,
}

/// One captured console call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// Which console method produced it.
    pub level: LogLevel,
    /// The arguments, formatted and joined by a space.
    pub message: String,
}

/// What one run cost, reported with every outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScriptProfile {
    /// CPU time of the worker thread during the run.
    pub cpu_time: Duration,
    /// Calls of `goxel.*` functions.
    pub api_calls: u64,
    /// Highest heap use of the runtime during the run above its use at the start (the prepared
    /// context), in bytes (`None` where the runtime cannot say).
    pub peak_heap_bytes: Option<u64>,
}

/// A script that ran to completion.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptSuccess {
    /// The completion value as JSON (`undefined`, functions and symbols become `null`).
    pub result: serde_json::Value,
    /// Captured console output.
    pub logs: Vec<LogLine>,
    /// Edits the host recorded.
    pub edit_count: u64,
    /// Evaluation time (not counting time in the queue).
    pub duration: Duration,
    /// What the run cost.
    pub profile: ScriptProfile,
    /// Whether the run looked at anything besides its source, `args`, seed and world view:
    /// a clock (`Date`, `performance`) or the collector (`WeakRef`, `FinalizationRegistry`).
    /// Only a run that did not may be answered from a cache.
    pub read_outside: bool,
}

/// A script that did not complete; its edits must be dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptFailure {
    /// What went wrong.
    pub error: ScriptError,
    /// Console output captured before the failure.
    pub logs: Vec<LogLine>,
    /// Edits the host recorded before the failure.
    pub edit_count: u64,
    /// Evaluation time until the failure.
    pub duration: Duration,
    /// What the run cost until the failure.
    pub profile: ScriptProfile,
}

/// Why a script failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScriptError {
    /// The deadline passed; the interrupt handler stopped the script.
    #[error("Script execution timeout")]
    Timeout {
        /// The budget that was exceeded.
        timeout_ms: u64,
    },
    /// The runtime's heap limit was hit.
    #[error("script memory limit exceeded")]
    MemoryLimit,
    /// The script recursed too deeply.
    #[error("script stack overflow")]
    StackOverflow,
    /// The script made too many edits.
    #[error("script edit limit of {limit} exceeded")]
    EditLimit {
        /// The configured maximum.
        limit: u64,
    },
    /// The source is larger than allowed.
    #[error("script is {size} bytes, limit is {limit}")]
    ScriptTooLarge {
        /// Source size in bytes.
        size: usize,
        /// The configured maximum.
        limit: usize,
    },
    /// The script logged more than allowed.
    #[error("script log limit of {limit} bytes exceeded")]
    LogLimit {
        /// The configured maximum.
        limit: usize,
    },
    /// An uncaught JavaScript exception (including `SyntaxError`).
    #[error("{name}: {message}")]
    Exception {
        /// The error's `name`, e.g. `TypeError`; `Error` for thrown non-errors.
        name: String,
        /// The error's `message`, or the thrown value as text.
        message: String,
        /// 1-based line in the script, if known.
        line: Option<u32>,
        /// 1-based column in the script, if known.
        column: Option<u32>,
        /// The JavaScript stack trace, if any.
        stack: Option<String>,
        /// The stack's frames in the script, innermost first, each with its source line.
        frames: Vec<StackFrame>,
    },
    /// The pool shut down before or while the script ran.
    #[error("script worker pool shut down")]
    ShutDown,
    /// The engine itself failed (e.g. a runtime could not be created).
    #[error("script engine error: {0}")]
    Engine(String),
}

/// One frame of an uncaught error's stack that lies in the script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackFrame {
    /// The function (`<eval>` for the script's top level).
    pub function: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// The text of that line of the script.
    pub source: String,
}

/// A finished job, sent on the pool's completion channel.
#[derive(Debug)]
pub struct ScriptDone<H> {
    /// The submitter's ticket from [`ScriptJob::ticket`].
    pub ticket: u64,
    /// The job's [`ScriptJob::name`].
    pub name: String,
    /// The host, with the script's edits (commit them only on `Ok`).
    pub host: H,
    /// The outcome.
    pub outcome: Result<ScriptSuccess, ScriptFailure>,
}
