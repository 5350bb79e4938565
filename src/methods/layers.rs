//! Layer and project methods, and undo/redo.

use serde_json::json;
use systems::{CommandBuffer, Edit, EditError, LayerId, Source};

use super::{ApplyError, Ctx, Reply, apply_error};
use crate::rpc::{Params, RpcError, codes};

fn whole_world(edits: Vec<Edit>) -> CommandBuffer {
    CommandBuffer {
        edits,
        ..CommandBuffer::new(Source::Rpc)
    }
}

/// A layer id parameter the daemon requires (> 0), looked up under `names` (the first also at
/// `position`); an id ≤ 0 or none is `-32602`, an unknown one `code`.
fn required_layer(
    ctx: &Ctx<'_>,
    params: &Params<'_>,
    names: &[&str],
    position: usize,
    code: i32,
) -> Result<LayerId, RpcError> {
    let mut found = None;
    for (i, name) in names.iter().enumerate() {
        if let Some(id) = params.integer::<i64>(name, if i == 0 { position } else { usize::MAX })? {
            found = Some(id);
            break;
        }
    }
    let id = found
        .filter(|&id| id > 0)
        .ok_or_else(|| RpcError::invalid_params(names[0], "required: a layer id > 0"))?;
    ctx.existing(id)
        .ok_or_else(|| RpcError::method(code, format!("no layer with id {id}")))
}

/// `goxel.create_project`: `name` (`[0]`, default "New Project"), `width`, `height`, `depth`
/// (`[1..3]`, default 64; echoed, they do not bound the world). Replaces the world by one empty
/// active layer, id 1, in one buffer (one undo step brings the old world back).
pub fn create_project(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let name = params
        .string("name", 0)?
        .map(|s| s.into_owned())
        .unwrap_or_else(|| "New Project".into());
    let mut size = [64i64; 3];
    for (i, axis) in ["width", "height", "depth"].into_iter().enumerate() {
        if let Some(v) = params.integer::<i64>(axis, 1 + i)?.filter(|&v| v > 0) {
            size[i] = v;
        }
    }
    let snapshot = ctx.world.snapshot();
    // Every layer goes first, so the new project's layer is layer 1, as in Goxel.
    let mut edits: Vec<Edit> = snapshot.layers().map(|l| Edit::DeleteLayer(l.id)).collect();
    edits.push(Edit::CreateLayer {
        name: "Layer 1".into(),
    });
    edits.push(Edit::SetActiveLayer(LayerId(1)));
    let outcome = ctx.edit(whole_world(edits), "name")?;
    let layer = outcome.created_layers[0];
    Ok(Reply::Value(json!({
        "success": true, "name": name, "width": size[0], "height": size[1], "depth": size[2],
        "layer_id": layer.0, "seq": outcome.seq,
    })))
}

/// `goxel.list_layers` → `{count, layers: [{id, name, visible, active, order, voxel_count}]}`,
/// bottom first, with the real layer ids (the daemon reports positions).
pub fn list_layers(ctx: &mut Ctx<'_>, _params: &Params<'_>) -> Result<Reply, RpcError> {
    let s = ctx.world.snapshot();
    let mut ordered: Vec<_> = s.layers().collect();
    ordered.sort_by_key(|l| (l.order, std::cmp::Reverse(l.id)));
    let layers: Vec<_> = ordered
        .iter()
        .enumerate()
        .map(|(i, l)| {
            json!({
                "id": l.id.0, "name": l.name, "visible": l.visible, "active": l.id == s.active_layer,
                "index": i, "order": l.order, "voxel_count": l.voxel_count(),
            })
        })
        .collect();
    Ok(Reply::Value(
        json!({ "layers": layers, "count": layers.len(), "active_layer": s.active_layer.0 }),
    ))
}

/// `goxel.create_layer`: `name` (`[0]`, default "New Layer"), colour `r, g, b` (`[1..3]`;
/// echoed; all ≤ 0 means white, else any value outside 0..255 is `-32602`), `visible` (`[4]`,
/// default true), and voxeld's `activate` (default true: the new layer becomes the active one,
/// as in Goxel).
pub fn create_layer(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let name = params
        .string("name", 0)?
        .map(|s| s.into_owned())
        .unwrap_or_else(|| "New Layer".into());
    let mut color = [0i64; 3];
    for (i, channel) in ["r", "g", "b"].into_iter().enumerate() {
        color[i] = params.integer::<i64>(channel, 1 + i)?.unwrap_or(0);
    }
    // As in the daemon: all ≤ 0 (or absent) is white; otherwise each must be in 0..255.
    if color.iter().all(|&c| c <= 0) {
        color = [255; 3];
    }
    for (v, channel) in color.iter().zip(["r", "g", "b"]) {
        if !(0..=255).contains(v) {
            return Err(RpcError::invalid_params(
                channel,
                format!("{v} is outside 0..255"),
            ));
        }
    }
    let visible: bool = params.or("visible", 4, true)?;
    let activate: bool = params.or("activate", usize::MAX, true)?;
    let next = ctx
        .world
        .world
        .resource::<systems::layer::LayerIndex>()
        .lowest_free_id();
    let mut edits = vec![Edit::CreateLayer {
        name: name.clone().into(),
    }];
    if !visible {
        edits.push(Edit::SetLayerVisible {
            layer: next,
            visible: false,
        });
    }
    if activate {
        edits.push(Edit::SetActiveLayer(next));
    }
    let outcome = ctx.edit(whole_world(edits), "name")?;
    let id = outcome.created_layers[0];
    Ok(Reply::Value(json!({
        "success": true, "layer_id": id.0, "name": name, "visible": visible, "color": color,
        "active": activate,
    })))
}

/// `goxel.delete_layer`: `layer_id` (`[0]`), or `layer_name` (`[1]`) when there is no positive
/// id. Deleting the last layer leaves a new empty layer in its place, as in the daemon.
pub fn delete_layer(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let snapshot = ctx.world.snapshot();
    let id = match params.integer::<i64>("layer_id", 0)?.filter(|&id| id > 0) {
        Some(id) => ctx.existing(id).ok_or_else(|| {
            RpcError::method(codes::DELETE_LAYER, format!("no layer with id {id}"))
        })?,
        None => {
            let name = params.string("layer_name", 1)?.ok_or_else(|| {
                RpcError::invalid_params("layer_id", "required: a layer id > 0, or layer_name")
            })?;
            snapshot
                .layers()
                .find(|l| l.name == *name)
                .map(|l| l.id)
                .ok_or_else(|| {
                    RpcError::method(codes::DELETE_LAYER, format!("no layer named '{name}'"))
                })?
        }
    };
    let mut edits = vec![Edit::DeleteLayer(id)];
    if snapshot.layers().count() == 1 {
        edits.push(Edit::CreateLayer {
            name: "Layer 1".into(),
        });
    }
    ctx.edit(whole_world(edits), "layer_id")?;
    Ok(Reply::Value(
        json!({ "success": true, "layer_id": id.0, "active_layer": ctx.world.snapshot().active_layer.0 }),
    ))
}

/// `goxel.merge_layers`: `source_layer_id` (`[0]`) blended over `target_layer_id` (`[1]`;
/// voxeld also takes `source_id`/`target_id`, and the active layer when no target is given);
/// the source layer is removed. Semi-transparent source voxels blend by alpha.
pub fn merge_layers(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let source = required_layer(
        ctx,
        params,
        &["source_layer_id", "source_id", "source"],
        0,
        codes::MERGE_LAYERS,
    )?;
    let target_given = ["target_layer_id", "target_id", "target"]
        .iter()
        .any(|n| params.named(n).is_some())
        || params.positional(1).is_some();
    let target = if target_given {
        required_layer(
            ctx,
            params,
            &["target_layer_id", "target_id", "target"],
            1,
            codes::MERGE_LAYERS,
        )?
    } else {
        ctx.active_layer()
    };
    if source == target {
        return Err(RpcError::method(
            codes::MERGE_LAYERS,
            format!("cannot merge layer {} into itself", source.0),
        ));
    }
    let outcome = ctx.edit(
        whole_world(vec![Edit::MergeLayers { source, target }]),
        "source_layer_id",
    )?;
    Ok(Reply::Value(json!({
        "success": true, "source_id": source.0, "target_id": target.0,
        "changed_count": outcome.changed_count,
    })))
}

/// `goxel.set_layer_visibility`: `layer_id` (`[0]`, > 0), `visible` (`[1]`, default true).
pub fn set_layer_visibility(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let id = required_layer(
        ctx,
        params,
        &["layer_id", "id"],
        0,
        codes::SET_LAYER_VISIBILITY,
    )?;
    let visible: bool = params.or("visible", 1, true)?;
    ctx.edit(
        whole_world(vec![Edit::SetLayerVisible { layer: id, visible }]),
        "layer_id",
    )?;
    Ok(Reply::Value(
        json!({ "success": true, "layer_id": id.0, "visible": visible }),
    ))
}

/// `goxel.set_active_layer`: `layer_id`.
pub fn set_active_layer(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let id = required_layer(ctx, params, &["layer_id", "id"], 0, codes::INVALID_PARAMS)?;
    ctx.edit(whole_world(vec![Edit::SetActiveLayer(id)]), "layer_id")?;
    Ok(Reply::Value(json!({ "success": true, "layer_id": id.0 })))
}

/// `goxel.undo` / `goxel.redo`: one command buffer back or forward.
pub fn undo(ctx: &mut Ctx<'_>, _params: &Params<'_>, undo: bool) -> Result<Reply, RpcError> {
    let buffer = if undo {
        CommandBuffer::undo()
    } else {
        CommandBuffer::redo()
    };
    let outcome = match ctx.apply_recorded(buffer) {
        Ok(outcome) => outcome,
        Err(ApplyError::Edit(e @ (EditError::NothingToUndo | EditError::NothingToRedo))) => {
            return Err(empty_history(ctx, e));
        }
        Err(e) => return Err(apply_error(e, "")),
    };
    Ok(Reply::Value(
        json!({ "success": true, "changed_count": outcome.changed_count, "seq": outcome.seq }),
    ))
}

/// "Nothing to undo" (or redo), saying why: the history is in memory, holds at most
/// `world.undo_depth` steps, and only those made since the server started; a restart (clean or
/// `kill -9`) starts it empty, although the world itself is recovered.
fn empty_history(ctx: &Ctx<'_>, e: EditError) -> RpcError {
    let depth = ctx.world.world.resource::<systems::UndoHistory>().depth;
    let started = ctx.facts.started_seq;
    RpcError::server(
        codes::EDIT_REFUSED,
        format!(
            "{e}: the undo history holds the last {depth} steps made since this server started (at seq {started}); it is kept in memory only, so a restart empties it (the world itself is recovered from the journal)"
        ),
        Some(json!({ "undo_depth": depth, "started_seq": started, "seq": ctx.world.seq() })),
    )
}
