//! Housekeeping methods: status, version, echo, method list, and the script method's checks.

use serde_json::{Value, json};

use super::{Ctx, Reply, ScriptRequest};
use crate::rpc::{Params, RpcError};

/// Every method the server answers, sorted.
pub const METHODS: &[&str] = &[
    "echo",
    "goxel.add_voxel",
    "goxel.batch_operations",
    "goxel.create_layer",
    "goxel.create_project",
    "goxel.delete_layer",
    "goxel.execute_script",
    "goxel.find_voxels_by_color",
    "goxel.flood_fill",
    "goxel.get_bounding_box",
    "goxel.get_color_histogram",
    "goxel.get_layer_voxels",
    "goxel.get_status",
    "goxel.get_unique_colors",
    "goxel.get_voxel",
    "goxel.get_voxels_region",
    "goxel.list_layers",
    "goxel.merge_layers",
    "goxel.paint_voxels",
    "goxel.procedural_shape",
    "goxel.redo",
    "goxel.remove_voxel",
    "goxel.set_active_layer",
    "goxel.set_layer_visibility",
    "goxel.undo",
    "list_methods",
    "ping",
    "status",
    "version",
];

/// `goxel.get_status` and `status`.
pub fn status(ctx: &mut Ctx<'_>, _params: &Params<'_>) -> Result<Reply, RpcError> {
    let s = ctx.world.snapshot();
    Ok(Reply::Value(json!({
        "status": "running",
        "version": env!("CARGO_PKG_VERSION"),
        "world_hash": s.hash_hex(),
        "seq": s.seq,
        "tick": ctx.world.tick(),
        "voxel_count": s.voxel_count(),
        "chunk_count": s.chunk_count(),
        "layer_count": s.layers().count(),
        "active_layer": s.active_layer.0,
        "uptime_ms": ctx.started.elapsed().as_millis() as u64,
        "connections": ctx.facts.connections,
        "requests": ctx.facts.requests,
        "scripts": ctx.facts.scripts.map_or(Value::Null, |p| serde_json::to_value(p.stats()).unwrap_or(Value::Null)),
    })))
}

/// `version`.
pub fn version() -> Result<Reply, RpcError> {
    Ok(Reply::Value(json!({
        "name": "voxeld", "version": env!("CARGO_PKG_VERSION"), "protocol": "goxel-daemon JSON-RPC 2.0",
    })))
}

/// `echo`: the params, back.
pub fn echo(params: &Params<'_>) -> Result<Reply, RpcError> {
    Ok(Reply::Value(params.to_value()))
}

/// `goxel.execute_script`: checks the parameters; the caller runs the script.
pub fn execute_script(params: &Params<'_>) -> Result<Reply, RpcError> {
    let script = params.string("script", 0)?.map(|s| s.into_owned());
    let path = params.string("path", usize::MAX)?.map(|s| s.into_owned());
    match (&script, &path) {
        (Some(_), Some(_)) => {
            return Err(RpcError::invalid_params(
                "script",
                "give either script or path, not both",
            ));
        }
        (None, None) => {
            return Err(RpcError::invalid_params(
                "script",
                "required: script (source text) or path",
            ));
        }
        _ => {}
    }
    let name = params.string("name", usize::MAX)?.map(|s| s.into_owned());
    let timeout_ms = params.integer::<u64>("timeout_ms", usize::MAX)?;
    let priority = params.integer::<i32>("priority", usize::MAX)?.unwrap_or(0);
    let seed = params.integer::<u64>("seed", usize::MAX)?;
    Ok(Reply::Script(ScriptRequest {
        script,
        path,
        name,
        timeout_ms,
        priority,
        seed,
    }))
}
