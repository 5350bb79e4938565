//! `goxel.execute_script`, both halves: turning a validated request into a [`ScriptJob`] on a
//! scratch view of the world, and turning the finished job into a reply (committing its edits
//! as one buffer when, and only when, it succeeded).

use std::time::Duration;

use serde_json::{Value, json};
use systems::{ScratchWorld, VoxelWorld};

use super::{Ctx, ScriptRequest};
use crate::config::ScriptsConfig;
use crate::rpc::{RpcError, codes};
use crate::script_host::WorldHost;
use crate::scripting::{
    ScriptDone, ScriptError, ScriptFailure, ScriptJob, ScriptLimits, SubmitError,
    resolve_script_path,
};

/// A prepared `execute_script`: a job to run, or a failure to answer at once (as a
/// `success: false` result, the daemon's form for a script file that cannot be used).
pub enum Prepared {
    /// Run this.
    Job(Box<ScriptJob<WorldHost>>),
    /// Answer this result.
    Failed(Value),
}

/// The error for a job the pool would not take.
pub fn submit_error(e: SubmitError) -> RpcError {
    match e {
        SubmitError::Exhausted { capacity } => RpcError::server(
            codes::BUSY,
            "worker pool exhausted",
            Some(json!({ "queue_capacity": capacity })),
        ),
        SubmitError::ShutDown => {
            RpcError::server(codes::BUSY, "script worker pool shut down", None)
        }
    }
}

fn failed(code: i32, message: String, data: Value) -> Value {
    let mut v = json!({ "success": false, "code": code, "message": message });
    if let (Value::Object(v), Value::Object(data)) = (&mut v, data) {
        v.extend(data);
    }
    v
}

/// Builds the job for a validated request on a scratch view of `world`. `ticket` identifies
/// the job when it comes back.
pub fn prepare(
    world: &VoxelWorld,
    request: ScriptRequest,
    config: &ScriptsConfig,
    ticket: u64,
) -> Result<Prepared, RpcError> {
    // As in the daemon, a timeout of 0 or less is the default; one above the maximum is the
    // maximum (the daemon silently falls back to the default there).
    let timeout_ms = match request.timeout_ms {
        Some(t) if t > 0 => (t as u64).min(config.max_timeout_ms),
        _ => config.default_timeout_ms,
    };
    let (source, default_name) = match (request.script, request.path) {
        (Some(source), _) => (source, "<inline>".to_string()),
        (None, Some(path)) => {
            let file_failed = |message: String| {
                Ok(Prepared::Failed(failed(
                    codes::SCRIPT_FILE,
                    message,
                    json!({ "path": path }),
                )))
            };
            let file = match resolve_script_path(&path, &config.script_dirs) {
                Ok(file) => file,
                Err(e) => return file_failed(format!("script file {path}: {e}")),
            };
            let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            if size > config.max_script_bytes as u64 {
                return Err(RpcError::invalid_params(
                    "path",
                    format!(
                        "script is {size} bytes, over the limit of {}",
                        config.max_script_bytes
                    ),
                ));
            }
            let source = match std::fs::read_to_string(&file) {
                Ok(source) => source,
                Err(e) => return file_failed(format!("cannot read {}: {e}", file.display())),
            };
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.clone());
            (source, name)
        }
        (None, None) => {
            return Err(RpcError::invalid_params(
                "script",
                "required: script or path",
            ));
        }
    };
    if source.len() > config.max_script_bytes {
        return Err(RpcError::invalid_params(
            "script",
            format!(
                "script is {} bytes, over the limit of {}",
                source.len(),
                config.max_script_bytes
            ),
        ));
    }
    let limits = ScriptLimits {
        memory_bytes: config.memory_limit_bytes,
        stack_bytes: config.stack_limit_bytes,
        max_edits: config.max_edits,
        max_script_bytes: config.max_script_bytes,
        max_log_bytes: config.max_log_bytes,
    };
    let edit_limits = world.world.resource::<systems::apply::WorldLimits>().0;
    let host = WorldHost(ScratchWorld::new(
        world.snapshot(),
        edit_limits,
        config.max_edits,
    ));
    Ok(Prepared::Job(Box::new(ScriptJob {
        ticket,
        source,
        name: request.name.unwrap_or(default_name),
        timeout: Duration::from_millis(timeout_ms),
        priority: request.priority,
        seed: request.seed,
        host,
        limits,
    })))
}

/// Commits a finished script's edits (on success) and builds its reply.
pub fn complete(ctx: &mut Ctx<'_>, done: ScriptDone<WorldHost>) -> Result<Value, RpcError> {
    match done.outcome {
        Ok(success) => {
            let buffer = done.host.0.into_buffer();
            let seq = if buffer.is_empty() {
                None
            } else {
                let outcome = ctx.edit(buffer, "script").map_err(|mut e| {
                    let data = e.data.take().unwrap_or(Value::Null);
                    e.data = Some(json!({ "detail": data, "logs": success.logs, "edit_count": success.edit_count }));
                    e
                })?;
                Some(outcome.seq)
            };
            Ok(json!({
                "success": true,
                "code": 0,
                "message": "Script executed successfully",
                "result": success.result,
                "logs": success.logs,
                "edit_count": success.edit_count,
                "duration_ms": success.duration.as_secs_f64() * 1e3,
                "seq": seq,
            }))
        }
        Err(failure) => failure_reply(failure),
    }
}

/// The reply to a failed script: the daemon's result `{success: false, code, message}` with
/// voxeld's details (`error`, `logs`, `edit_count`, `duration_ms`, `limit`), except for the
/// timeout, which stays the seed's `-32603` error, and failures of the server itself.
pub fn failure_reply(f: ScriptFailure) -> Result<Value, RpcError> {
    let ScriptFailure {
        error,
        logs,
        edit_count,
        duration,
    } = f;
    let mut data = json!({ "logs": logs, "edit_count": edit_count, "duration_ms": duration.as_secs_f64() * 1e3 });
    let (code, message) = match &error {
        ScriptError::Timeout { timeout_ms } => {
            data["timeout_ms"] = json!(timeout_ms);
            return Err(RpcError {
                code: codes::INTERNAL_ERROR,
                message: "Script execution timeout".to_string(),
                data: Some(data),
            });
        }
        ScriptError::ScriptTooLarge { size, limit } => {
            return Err(RpcError::invalid_params(
                "script",
                format!("script is {size} bytes, over the limit of {limit}"),
            ));
        }
        ScriptError::ShutDown => {
            return Err(RpcError::server(codes::BUSY, error.to_string(), None));
        }
        ScriptError::Engine(_) => return Err(RpcError::internal(error.to_string())),
        ScriptError::MemoryLimit => (codes::SCRIPT_MEMORY, error.to_string()),
        ScriptError::StackOverflow => (codes::SCRIPT_STACK, error.to_string()),
        ScriptError::EditLimit { limit } => {
            data["limit"] = json!(limit);
            (codes::SCRIPT_EDITS, error.to_string())
        }
        ScriptError::LogLimit { limit } => {
            data["limit"] = json!(limit);
            (codes::SCRIPT_LOGS, error.to_string())
        }
        ScriptError::Exception {
            name,
            message,
            line,
            column,
            stack,
        } => {
            data["error"] = json!({
                "name": name, "message": message, "line": line, "column": column, "stack": stack,
            });
            (codes::SCRIPT_EXCEPTION, format!("Script error: {error}"))
        }
    };
    Ok(failed(code, format!("{message} (code {code})"), data))
}
