//! `goxel.execute_script` and the script library's `goxel.run_script`, both halves: turning a
//! validated request into a [`ScriptJob`] on a scratch view of the world, and turning the
//! finished job into a reply (committing its edits as one buffer when, and only when, it
//! succeeded). Also `goxel.list_scripts` and `goxel.get_script_stats`.

use std::time::Duration;

use serde_json::{Value, json};
use systems::{ScratchWorld, VoxelWorld};

use super::{Ctx, Reply, ScriptRequest};
use crate::config::ScriptsConfig;
use crate::rpc::{Params, RpcError, codes};
use crate::script_host::WorldHost;
use crate::script_library::{Plan, PlanError, RunFigures};
use crate::scripting::{
    ScriptDone, ScriptError, ScriptFailure, ScriptJob, ScriptLimits, ScriptProfile, SubmitError,
    resolve_script_path,
};

/// `goxel.list_scripts`: the library's scripts with their descriptions and parameters (as
/// JSON Schema objects), and the files that cannot be used, with why.
pub fn list_scripts(ctx: &mut Ctx<'_>, _params: &Params<'_>) -> Result<Reply, RpcError> {
    Ok(Reply::Value(ctx.files.scripts.listing()))
}

/// `goxel.get_script_stats`: per script name, runs, failures, cache hits and durations.
pub fn get_script_stats(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let name = params.string("name", 0)?;
    Ok(Reply::Value(ctx.files.scripts.stats(name.as_deref())))
}

/// `goxel.run_script`: a library script by name with checked `args`; answered from the result
/// cache when the same run on the same world was answered before, else run like
/// `execute_script`.
pub fn run_script(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let name = params.string("name", 0)?.ok_or_else(|| {
        RpcError::invalid_params("name", "required: a name from goxel.list_scripts")
    })?;
    let args: Option<Value> = params.optional("args", 1)?;
    let timeout_ms = params.integer::<i64>("timeout_ms", usize::MAX)?;
    let priority = params.integer::<i32>("priority", usize::MAX)?.unwrap_or(0);
    let seed = params.integer::<u64>("seed", usize::MAX)?;
    let snapshot = ctx.world.snapshot();
    let plan = ctx
        .files
        .scripts
        .plan(&name, args.as_ref(), seed, snapshot.seq, snapshot.tick);
    match plan {
        Ok(Plan::Cached(reply)) => Ok(Reply::Raw(reply)),
        Ok(Plan::Run { source, args, key }) => Ok(Reply::Script(ScriptRequest {
            script: Some(source.to_string()),
            path: None,
            name: Some(name.into_owned()),
            timeout_ms,
            priority,
            seed,
            args: Some(args),
            cache_key: Some(key),
        })),
        Err(PlanError::NotFound) => Err(RpcError::invalid_params(
            "name",
            format!("no script named {name:?} in the script library (see goxel.list_scripts)"),
        )),
        Err(PlanError::Unusable(why)) => Err(RpcError::server(
            codes::SCRIPT_FILE,
            format!("script {name:?} cannot be run: {why}"),
            Some(json!({ "name": name })),
        )),
        Err(PlanError::Args { field, message }) => Err(RpcError::invalid_params(&field, message)),
    }
}

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
    let host = WorldHost {
        scratch: ScratchWorld::new(world.snapshot(), edit_limits, config.max_edits),
        cache_key: request.cache_key,
    };
    Ok(Prepared::Job(Box::new(ScriptJob {
        ticket,
        source,
        name: request.name.unwrap_or(default_name),
        timeout: Duration::from_millis(timeout_ms),
        priority: request.priority,
        seed: request.seed,
        args: request.args,
        host,
        limits,
    })))
}

/// Commits a finished script's edits (on success) and builds its reply.
pub fn complete(ctx: &mut Ctx<'_>, done: ScriptDone<WorldHost>) -> Result<Value, RpcError> {
    let ScriptDone {
        name,
        host,
        outcome,
        ..
    } = done;
    let library = ctx.files.scripts.clone();
    let (duration, failed, profile, edit_count) = match &outcome {
        Ok(s) => (s.duration, false, s.profile, s.edit_count),
        Err(f) => (f.duration, true, f.profile, f.edit_count),
    };
    library.record_run(
        &name,
        duration,
        failed,
        RunFigures {
            cpu_time: profile.cpu_time,
            edit_count,
            api_calls: profile.api_calls,
        },
    );
    let cache_key = host.cache_key;
    let library_run = cache_key.is_some();
    match outcome {
        Ok(success) => {
            // The ids the script was given for its new layers must be the ids the world gives
            // them now (the layers may have changed while it ran): else nothing is committed.
            let created = host.scratch.created_layers();
            if !created.is_empty() {
                let now = ctx.world.next_layer_ids(created.len());
                if now != created {
                    return Err(layers_changed(&created, &now, &success));
                }
            }
            let buffer = host.scratch.into_buffer();
            // Any change at all, voxels or layers, makes the run uncacheable.
            let changed = !buffer.is_empty();
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
            let mut reply = json!({
                "success": true,
                "code": 0,
                "message": "Script executed successfully",
                "result": success.result,
                "logs": success.logs,
                "edit_count": success.edit_count,
                "duration_ms": success.duration.as_secs_f64() * 1e3,
                "seq": seq,
            });
            add_profile(&mut reply, &success.profile);
            if library_run {
                reply["name"] = json!(name);
                reply["cached"] = json!(false);
            }
            // Only a run whose result cannot differ is kept (see `script_library`): one that
            // changed nothing (no voxel, and no layer created, selected or shown/hidden) and read
            // nothing from outside.
            if let Some(key) = cache_key
                && !changed
                && !success.read_outside
            {
                library.remember(key, &reply);
            }
            Ok(reply)
        }
        Err(failure) => failure_reply(failure, &name),
    }
}

/// The refusal of a script whose new layers would get other ids than it was given, because the
/// world's layers changed while it ran.
fn layers_changed(
    created: &[systems::LayerId],
    now: &[systems::LayerId],
    success: &crate::scripting::ScriptSuccess,
) -> RpcError {
    let ids = |l: &[systems::LayerId]| l.iter().map(|l| l.0).collect::<Vec<_>>();
    RpcError::server(
        codes::EDIT_REFUSED,
        format!(
            "the script created layers {:?}, but the world's layers changed while it ran (new layers would now get {:?}); nothing was committed: run the script again",
            ids(created),
            ids(now)
        ),
        Some(json!({
            "created_layers": ids(created), "next_layer_ids": ids(now),
            "logs": success.logs, "edit_count": success.edit_count,
        })),
    )
}

/// The cost figures every script reply carries.
fn add_profile(v: &mut Value, p: &ScriptProfile) {
    v["cpu_time_ms"] = json!(p.cpu_time.as_secs_f64() * 1e3);
    v["api_calls"] = json!(p.api_calls);
    v["peak_heap_bytes"] = json!(p.peak_heap_bytes);
}

/// The reply to a failed script: the daemon's result `{success: false, code, message}` with
/// voxeld's details (`error`, `logs`, `edit_count`, `duration_ms`, `limit`), except for the
/// timeout, which stays the seed's `-32603` error, and failures of the server itself.
pub fn failure_reply(f: ScriptFailure, script: &str) -> Result<Value, RpcError> {
    let ScriptFailure {
        error,
        logs,
        edit_count,
        duration,
        profile,
    } = f;
    let mut data = json!({ "logs": logs, "edit_count": edit_count, "duration_ms": duration.as_secs_f64() * 1e3 });
    add_profile(&mut data, &profile);
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
            frames,
        } => {
            data["error"] = json!({
                "name": name, "message": message, "line": line, "column": column, "stack": stack,
                "script": script, "frames": frames,
            });
            (codes::SCRIPT_EXCEPTION, format!("Script error: {error}"))
        }
    };
    Ok(failed(code, format!("{message} (code {code})"), data))
}
