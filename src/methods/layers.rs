//! Layer and project methods, and undo/redo.

use serde_json::json;
use systems::{CommandBuffer, Edit, LayerId, Source};

use super::{Ctx, Reply};
use crate::rpc::{Params, RpcError};

fn whole_world(edits: Vec<Edit>) -> CommandBuffer {
    CommandBuffer {
        edits,
        ..CommandBuffer::new(Source::Rpc)
    }
}

fn required_layer(
    ctx: &Ctx<'_>,
    params: &Params<'_>,
    names: &[&str],
    position: usize,
) -> Result<LayerId, RpcError> {
    let mut found = None;
    for (i, name) in names.iter().enumerate() {
        if let Some(id) = params.integer::<u32>(name, if i == 0 { position } else { usize::MAX })? {
            found = Some(id);
            break;
        }
    }
    let id = found.ok_or_else(|| RpcError::invalid_params(names[0], "required: a layer id"))?;
    if ctx.world.snapshot().layer(LayerId(id)).is_none() {
        return Err(RpcError::invalid_params(
            names[0],
            format!("no layer with id {id}"),
        ));
    }
    Ok(LayerId(id))
}

/// `goxel.create_project`: optional `name`. Replaces the world by one empty active layer, in
/// one buffer (one undo step brings the old world back).
pub fn create_project(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let name = params
        .string("name", 0)?
        .map(|s| s.into_owned())
        .unwrap_or_else(|| "Untitled".into());
    let snapshot = ctx.world.snapshot();
    // Every layer goes first, so the new project's layer is layer 1, as in Goxel.
    let mut edits: Vec<Edit> = snapshot.layers().map(|l| Edit::DeleteLayer(l.id)).collect();
    edits.push(Edit::CreateLayer {
        name: "Layer 1".into(),
    });
    edits.push(Edit::SetActiveLayer(LayerId(1)));
    let outcome = ctx.edit(whole_world(edits), "name")?;
    let layer = outcome.created_layers[0];
    Ok(Reply::Value(
        json!({ "success": true, "name": name, "layer_id": layer.0, "seq": outcome.seq }),
    ))
}

/// `goxel.list_layers` → `{layers: [{id, name, visible, active, order, voxel_count}], ...}`.
pub fn list_layers(ctx: &mut Ctx<'_>, _params: &Params<'_>) -> Result<Reply, RpcError> {
    let s = ctx.world.snapshot();
    let layers: Vec<_> = s
        .layers()
        .map(|l| {
            json!({
                "id": l.id.0, "name": l.name, "visible": l.visible, "active": l.id == s.active_layer,
                "order": l.order, "voxel_count": l.voxel_count(),
            })
        })
        .collect();
    Ok(Reply::Value(
        json!({ "layers": layers, "count": layers.len(), "active_layer": s.active_layer.0 }),
    ))
}

/// `goxel.create_layer`: optional `name`, `visible` (default true), `activate` (default true:
/// the new layer becomes the active one, as in Goxel).
pub fn create_layer(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let count = ctx.world.snapshot().layers().count();
    let name = params
        .string("name", 0)?
        .map(|s| s.into_owned())
        .unwrap_or_else(|| format!("Layer {}", count + 1));
    let visible: bool = params.or("visible", usize::MAX, true)?;
    let activate: bool = params.or("activate", usize::MAX, true)?;
    let next = ctx
        .world
        .world
        .resource::<systems::layer::LayerIndex>()
        .lowest_free_id()
        .0;
    let mut edits = vec![Edit::CreateLayer {
        name: name.clone().into(),
    }];
    if !visible {
        edits.push(Edit::SetLayerVisible {
            layer: LayerId(next),
            visible: false,
        });
    }
    if activate {
        edits.push(Edit::SetActiveLayer(LayerId(next)));
    }
    let outcome = ctx.edit(whole_world(edits), "name")?;
    let id = outcome.created_layers[0];
    Ok(Reply::Value(
        json!({ "success": true, "layer_id": id.0, "name": name, "visible": visible, "active": activate }),
    ))
}

/// `goxel.delete_layer`: `layer_id`.
pub fn delete_layer(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let id = required_layer(ctx, params, &["layer_id", "id"], 0)?;
    ctx.edit(whole_world(vec![Edit::DeleteLayer(id)]), "layer_id")?;
    Ok(Reply::Value(
        json!({ "success": true, "layer_id": id.0, "active_layer": ctx.world.snapshot().active_layer.0 }),
    ))
}

/// `goxel.merge_layers`: `source_id` merged over `target_id` (default: the active layer); the
/// source layer is removed.
pub fn merge_layers(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let source = required_layer(ctx, params, &["source_id", "source", "source_layer_id"], 0)?;
    let target = if params
        .raw("target_id", 1)
        .or(params.raw("target", usize::MAX))
        .is_some()
    {
        required_layer(ctx, params, &["target_id", "target", "target_layer_id"], 1)?
    } else {
        ctx.world.snapshot().active_layer
    };
    let outcome = ctx.edit(
        whole_world(vec![Edit::MergeLayers { source, target }]),
        "source_id",
    )?;
    Ok(Reply::Value(json!({
        "success": true, "source_id": source.0, "target_id": target.0, "changed_count": outcome.changed_count,
    })))
}

/// `goxel.set_layer_visibility`: `layer_id`, `visible`.
pub fn set_layer_visibility(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let id = required_layer(ctx, params, &["layer_id", "id"], 0)?;
    let visible: bool = params.required("visible", 1)?;
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
    let id = required_layer(ctx, params, &["layer_id", "id"], 0)?;
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
    let outcome = ctx.edit(buffer, "")?;
    Ok(Reply::Value(
        json!({ "success": true, "changed_count": outcome.changed_count, "seq": outcome.seq }),
    ))
}
