//! Live clients: `goxel.subscribe` / `goxel.unsubscribe` / `goxel.authenticate`, whose state
//! belongs to a connection (the server keeps it; batch mode has none), and `goxel.get_chunks`,
//! which reads chunks in the compact encoding of [`crate::chunk_encoding`].
//!
//! The first three only check their parameters here and hand a [`Session`] request to the
//! caller, as `execute_script` hands over a script.

use base64::Engine;
use glam::IVec3;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use systems::{LayerId, VoxelBox};

use super::{Ctx, Reply};
use crate::rpc::{Params, RpcError, parse_integer, parse_position};

/// Most chunks one `goxel.get_chunks` call returns.
pub const MAX_CHUNKS_PER_CALL: usize = 4096;

/// A request about the connection's own session, answered by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Session {
    /// Start notifications.
    Subscribe(Subscribe),
    /// Stop subscription `id`.
    Unsubscribe(u64),
    /// Present a token (network transports).
    Authenticate(String),
}

/// What a subscription asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    /// `goxel.world_changed` notifications.
    pub world_changed: bool,
    /// `goxel.script_finished` notifications.
    pub script_finished: bool,
    /// `goxel.tick` notifications.
    pub tick: bool,
    /// Only chunks overlapping this box (voxel coordinates, inclusive).
    pub region: Option<VoxelBox>,
    /// Only chunks of this layer.
    pub layer: Option<LayerId>,
}

/// `goxel.subscribe {events, region?, layer?}`.
pub fn subscribe(_: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let mut s = Subscribe {
        world_changed: false,
        script_finished: false,
        tick: false,
        region: region(params, "region", 1)?,
        layer: params
            .integer::<u32>("layer", 2)?
            .or(params.integer::<u32>("layer_id", usize::MAX)?)
            .map(LayerId),
    };
    let events: Vec<String> = params
        .optional("events", 0)?
        .unwrap_or_else(|| vec!["world_changed".to_string()]);
    if events.is_empty() {
        return Err(RpcError::invalid_params(
            "events",
            "give at least one of \"world_changed\", \"script_finished\", \"tick\"",
        ));
    }
    for (i, e) in events.iter().enumerate() {
        match e.as_str() {
            "world_changed" => s.world_changed = true,
            "script_finished" => s.script_finished = true,
            "tick" => s.tick = true,
            other => {
                return Err(RpcError::invalid_params(
                    &format!("events[{i}]"),
                    format!("unknown event {other:?}; known: world_changed, script_finished, tick"),
                ));
            }
        }
    }
    Ok(Reply::Session(Session::Subscribe(s)))
}

/// `goxel.unsubscribe {subscription}`.
pub fn unsubscribe(_: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let id = params.integer::<u64>("subscription", 0)?.ok_or_else(|| {
        RpcError::invalid_params("subscription", "required: the id subscribe returned")
    })?;
    Ok(Reply::Session(Session::Unsubscribe(id)))
}

/// `goxel.authenticate {token}`.
pub fn authenticate(_: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let token = params
        .string("token", 0)?
        .ok_or_else(|| RpcError::invalid_params("token", "required: a string"))?;
    Ok(Reply::Session(Session::Authenticate(token.into_owned())))
}

/// `goxel.get_chunks {chunks: [[layer, cx, cy, cz], ...]}` or `{region, layer?}` →
/// `{seq, tick, encoding: "rle1", chunks: [{layer, chunk: [cx, cy, cz], data}]}` with `data`
/// the base64 of [`crate::chunk_encoding`]. Listed chunks are all returned (an absent one
/// encodes as empty); a region returns the existing chunks overlapping it.
pub fn get_chunks(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let snapshot = ctx.world.snapshot();
    let mut wanted: Vec<(LayerId, IVec3)> = Vec::new();
    if let Some(raw) = params.raw("chunks", 0) {
        let list: Vec<&RawValue> = serde_json::from_str(raw.get()).map_err(|_| {
            RpcError::invalid_params("chunks", "must be an array of [layer, cx, cy, cz]")
        })?;
        if list.len() > MAX_CHUNKS_PER_CALL {
            return Err(RpcError::invalid_params(
                "chunks",
                format!(
                    "{} chunks asked for, at most {MAX_CHUNKS_PER_CALL} per call",
                    list.len()
                ),
            ));
        }
        for (i, item) in list.iter().enumerate() {
            let field = format!("chunks[{i}]");
            let parts: Vec<&RawValue> = serde_json::from_str(item.get())
                .map_err(|_| RpcError::invalid_params(&field, "must be [layer, cx, cy, cz]"))?;
            if parts.len() != 4 {
                return Err(RpcError::invalid_params(
                    &field,
                    "must be [layer, cx, cy, cz]",
                ));
            }
            let layer: u32 = parse_integer(parts[0], &format!("{field}[0]"))?;
            let mut p = [0i32; 3];
            for (k, v) in p.iter_mut().enumerate() {
                *v = parse_integer(parts[k + 1], &format!("{field}[{}]", k + 1))?;
            }
            wanted.push((LayerId(layer), IVec3::from_array(p)));
        }
    } else if let Some(region) = region(params, "region", usize::MAX)? {
        let layer = params.integer::<u32>("layer", usize::MAX)?.map(LayerId);
        for l in snapshot.layers() {
            if layer.is_some_and(|id| id != l.id) {
                continue;
            }
            for (pos, _) in l.chunks_in(&region) {
                wanted.push((l.id, pos));
                if wanted.len() > MAX_CHUNKS_PER_CALL {
                    return Err(RpcError::invalid_params(
                        "region",
                        format!(
                            "holds more than {MAX_CHUNKS_PER_CALL} chunks; ask for a smaller region"
                        ),
                    ));
                }
            }
        }
    } else {
        return Err(RpcError::invalid_params(
            "chunks",
            "required: chunks ([[layer, cx, cy, cz], ...]) or region ({min, max})",
        ));
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let empty = systems::ChunkData::empty();
    let chunks: Vec<Value> = wanted
        .iter()
        .map(|&(layer, pos)| {
            let data = snapshot
                .layer(layer)
                .and_then(|l| l.chunk(pos))
                .map(|c| crate::chunk_encoding::encode(c))
                .unwrap_or_else(|| crate::chunk_encoding::encode(&empty));
            json!({ "layer": layer.0, "chunk": pos.to_array(), "data": b64.encode(data) })
        })
        .collect();
    Ok(Reply::Value(json!({
        "seq": snapshot.seq,
        "tick": snapshot.tick,
        "encoding": "rle1",
        "chunks": chunks,
    })))
}

/// An optional `{min: [x,y,z], max: [x,y,z]}` box parameter.
fn region(params: &Params<'_>, name: &str, position: usize) -> Result<Option<VoxelBox>, RpcError> {
    let Some(raw) = params.raw(name, position) else {
        return Ok(None);
    };
    if raw.get() == "null" {
        return Ok(None);
    }
    #[derive(serde::Deserialize)]
    struct Corners<'a> {
        #[serde(borrow)]
        min: &'a RawValue,
        #[serde(borrow)]
        max: &'a RawValue,
    }
    let c: Corners<'_> = serde_json::from_str(raw.get())
        .map_err(|_| RpcError::invalid_params(name, "must be {min: [x,y,z], max: [x,y,z]}"))?;
    Ok(Some(VoxelBox::from_corners(
        IVec3::from_array(parse_position(c.min, &format!("{name}.min"))?),
        IVec3::from_array(parse_position(c.max, &format!("{name}.max"))?),
    )))
}
