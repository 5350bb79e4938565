//! `goxel.execute_script`, both halves: turning a validated request into a [`ScriptJob`] on a
//! scratch view of the world, and turning the finished job into a reply (committing its edits
//! as one buffer when, and only when, it succeeded).

use std::time::Duration;

use serde_json::{Value, json};
use systems::{ScratchWorld, VoxelWorld};

use super::{Ctx, ScriptRequest, codes};
use crate::config::ScriptsConfig;
use crate::rpc::RpcError;
use crate::script_host::WorldHost;
use crate::scripting::{
    ScriptDone, ScriptError, ScriptFailure, ScriptJob, ScriptLimits, resolve_script_path,
};

/// Error codes of script failures (the timeout keeps the seed's `-32603`).
pub mod script_codes {
    /// The script threw (or failed to compile).
    pub const EXCEPTION: i32 = -32020;
    /// The script used more memory than allowed.
    pub const MEMORY: i32 = -32021;
    /// The script recursed too deep.
    pub const STACK: i32 = -32022;
    /// The script made more edits than allowed.
    pub const EDITS: i32 = -32023;
    /// The script logged more than allowed.
    pub const LOGS: i32 = -32024;
}

/// Builds the job for a validated request on a scratch view of `world`. `ticket` identifies
/// the job when it comes back.
pub fn prepare(
    world: &VoxelWorld,
    request: ScriptRequest,
    config: &ScriptsConfig,
    ticket: u64,
) -> Result<ScriptJob<WorldHost>, RpcError> {
    let timeout_ms = request.timeout_ms.unwrap_or(config.default_timeout_ms);
    if timeout_ms == 0 || timeout_ms > config.max_timeout_ms {
        return Err(RpcError::invalid_params(
            "timeout_ms",
            format!(
                "{timeout_ms} is outside 1..={} milliseconds",
                config.max_timeout_ms
            ),
        ));
    }
    let (source, default_name) = match (request.script, request.path) {
        (Some(source), _) => (source, "<inline>".to_string()),
        (None, Some(path)) => {
            let file = resolve_script_path(&path, &config.script_dirs)
                .map_err(|e| RpcError::invalid_params("path", e.to_string()))?;
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
            let source = std::fs::read_to_string(&file).map_err(|e| {
                RpcError::invalid_params("path", format!("cannot read {}: {e}", file.display()))
            })?;
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
    Ok(ScriptJob {
        ticket,
        source,
        name: request.name.unwrap_or(default_name),
        timeout: Duration::from_millis(timeout_ms),
        priority: request.priority,
        seed: request.seed,
        host,
        limits,
    })
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
        Err(failure) => Err(failure_error(failure)),
    }
}

/// The JSON-RPC error for a failed script.
pub fn failure_error(f: ScriptFailure) -> RpcError {
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
            (
                RpcError::INTERNAL_ERROR,
                "Script execution timeout".to_string(),
            )
        }
        ScriptError::MemoryLimit => (script_codes::MEMORY, error.to_string()),
        ScriptError::StackOverflow => (script_codes::STACK, error.to_string()),
        ScriptError::EditLimit { limit } => {
            data["limit"] = json!(limit);
            (script_codes::EDITS, error.to_string())
        }
        ScriptError::LogLimit { limit } => {
            data["limit"] = json!(limit);
            (script_codes::LOGS, error.to_string())
        }
        ScriptError::ScriptTooLarge { size, limit } => {
            return RpcError::invalid_params(
                "script",
                format!("script is {size} bytes, over the limit of {limit}"),
            );
        }
        ScriptError::Exception {
            name,
            message,
            line,
            column,
            stack,
        } => {
            data["name"] = json!(name);
            data["message"] = json!(message);
            data["line"] = json!(line);
            data["column"] = json!(column);
            data["stack"] = json!(stack);
            (script_codes::EXCEPTION, format!("Script error: {error}"))
        }
        ScriptError::ShutDown => (codes::BUSY, error.to_string()),
        ScriptError::Engine(_) => (RpcError::INTERNAL_ERROR, error.to_string()),
    };
    RpcError {
        code,
        message,
        data: Some(data),
    }
}
