//! Housekeeping methods (`ping`, `echo`, `version`, `status`, `list_methods`,
//! `goxel.get_status`) in the Goxel daemon's reply shapes, and the script method's checks.

use serde_json::{Value, json};

use super::{Ctx, JOURNAL_RECOVERY, JournalState, METHODS, Reply, ScriptRequest};
use crate::rpc::{Params, RpcError};

/// The daemon version voxeld answers as, so version checks written for the daemon pass.
pub const DAEMON_VERSION: &str = "0.19.0";

/// `ping` → `{pong: true, timestamp}` (Unix seconds).
pub fn ping() -> Result<Reply, RpcError> {
    Ok(Reply::Value(
        json!({ "pong": true, "timestamp": unix_seconds() }),
    ))
}

/// `list_methods` → `{count, methods: [{method, description}]}`, from the method table.
pub fn list_methods() -> Result<Reply, RpcError> {
    let methods: Vec<Value> = METHODS
        .iter()
        .map(|m| json!({ "method": m.name, "description": m.description }))
        .collect();
    Ok(Reply::Value(
        json!({ "count": methods.len(), "methods": methods }),
    ))
}

/// `status`: the daemon's process facts, plus voxeld's world figures.
pub fn daemon_status(ctx: &mut Ctx<'_>, _params: &Params<'_>) -> Result<Reply, RpcError> {
    let mut v = status_value(ctx);
    v["pid"] = json!(std::process::id());
    v["current_time"] = json!(chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string());
    if let Some(host) = hostname() {
        v["hostname"] = json!(host);
    }
    v["goxel_initialized"] = json!(true);
    v["methods_available"] = json!(METHODS.len());
    v["memory_allocated"] = json!(ctx.world.storage_bytes());
    v["uptime_seconds"] = json!(ctx.started.elapsed().as_secs());
    Ok(Reply::Value(v))
}

/// `goxel.get_status`: the daemon's `version`, `layer_count`, `read_only`, `width`, `height`,
/// `depth` (the extent of the visible voxels), plus voxeld's hash, seq and counts.
pub fn status(ctx: &mut Ctx<'_>, _params: &Params<'_>) -> Result<Reply, RpcError> {
    Ok(Reply::Value(status_value(ctx)))
}

fn status_value(ctx: &Ctx<'_>) -> Value {
    let s = ctx.world.snapshot();
    let size = s
        .bounding_box()
        .map_or([0; 3], |b| (b.max - b.min + glam::IVec3::ONE).to_array());
    let mut v = json!({
        "status": "running",
        "version": DAEMON_VERSION,
        "server": "voxeld",
        "server_version": env!("CARGO_PKG_VERSION"),
        "layer_count": s.layers().count(),
        "read_only": ctx.journal.refusal().is_some(),
        "width": size[0], "height": size[1], "depth": size[2],
        "world_hash": s.hash_hex(),
        "seq": s.seq,
        "tick": ctx.world.tick(),
        "voxel_count": s.voxel_count(),
        "chunk_count": s.chunk_count(),
        "active_layer": s.active_layer.0,
        "uptime_ms": ctx.started.elapsed().as_millis() as u64,
        "connections": ctx.facts.connections,
        "requests": ctx.facts.requests,
        "scripts": ctx.facts.scripts.map_or(Value::Null, |p| serde_json::to_value(p.stats()).unwrap_or(Value::Null)),
        "journal": journal_state(ctx.journal.state()),
    });
    // Replicating: the seq this reply describes (what a read replica has applied) and the
    // node's part. A single server's status is as it always was.
    if let Some(r) = ctx.facts.replication
        && let Some(object) = v.as_object_mut()
    {
        object.insert("as_of_seq".into(), json!(s.seq));
        object.insert("replication".into(), r.status(ctx.world));
    }
    v
}

/// `journal` in `goxel.get_status`: `{state: "off"}`, `{state: "ok", fsync}`,
/// `{state: "write_error", fsync, error, retry}` while the last write failed (a full disk; the
/// next edit retries), or
/// `{state: "failed", fsync, error, recovery}` once a sync failed (edits are then refused).
fn journal_state(state: JournalState<'_>) -> Value {
    match state {
        JournalState::Off => json!({ "state": "off" }),
        JournalState::Ok { fsync } => json!({ "state": "ok", "fsync": fsync }),
        JournalState::WriteError { fsync, error } => json!({
            "state": "write_error", "fsync": fsync, "error": error,
            "retry": super::JOURNAL_WRITE_RETRY,
        }),
        JournalState::Failed { fsync, error } => json!({
            "state": "failed", "fsync": fsync, "error": error, "recovery": JOURNAL_RECOVERY,
        }),
    }
}

/// `version`: the daemon's `{version, type, protocol}`, plus which server this is.
pub fn version() -> Result<Reply, RpcError> {
    Ok(Reply::Value(json!({
        "version": DAEMON_VERSION, "type": "daemon", "protocol": "JSON-RPC 2.0",
        "name": "voxeld", "server_version": env!("CARGO_PKG_VERSION"),
    })))
}

/// `echo`: the params, back (`{}` when there are none, as in the daemon).
pub fn echo(params: &Params<'_>) -> Result<Reply, RpcError> {
    Ok(Reply::Value(match params.to_value() {
        Value::Null => json!({}),
        v => v,
    }))
}

/// `goxel.execute_script`: checks the parameters; the caller runs the script. As in the daemon,
/// `script` wins when both `script` and `path` are given.
pub fn execute_script(params: &Params<'_>) -> Result<Reply, RpcError> {
    let script = params.string("script", 0)?.map(|s| s.into_owned());
    let path = params.string("path", usize::MAX)?.map(|s| s.into_owned());
    if script.is_none() && path.is_none() {
        return Err(RpcError::invalid_params(
            "script",
            "required: script (source text) or path",
        ));
    }
    let path = if script.is_some() { None } else { path };
    let name = params.string("name", usize::MAX)?.map(|s| s.into_owned());
    let timeout_ms = params.integer::<i64>("timeout_ms", usize::MAX)?;
    let priority = params.integer::<i32>("priority", usize::MAX)?.unwrap_or(0);
    let seed = params.integer::<u64>("seed", usize::MAX)?;
    Ok(Reply::Script(ScriptRequest {
        script,
        path,
        name,
        timeout_ms,
        priority,
        seed,
        args: None,
        cache_key: None,
    }))
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn hostname() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}
