//! Methods that edit or read single voxels and shapes, in the Goxel daemon's parameters (by name
//! and by position, with its defaults and colour forms) and replies, plus voxeld's extra fields.

use glam::IVec3;
use serde::Serialize;
use serde_json::json;
use serde_json::value::RawValue;
use systems::{Color, CommandBuffer, Edit, LayerId, Shape, Source, VoxelBox};

use super::{Ctx, Reply, raw};
use crate::rpc::{Params, RpcError, codes, parse_position};

#[derive(Serialize)]
struct VoxelReply {
    x: i32,
    y: i32,
    z: i32,
    exists: bool,
    color: [u8; 4],
    layer_id: u32,
}

#[derive(Serialize)]
struct AddReply {
    success: bool,
    x: i32,
    y: i32,
    z: i32,
    layer_id: u32,
    color: [u8; 4],
}

fn ivec(p: [i32; 3]) -> IVec3 {
    IVec3::from_array(p)
}

/// A buffer for one layer.
pub(super) fn buffer(layer: LayerId, edits: Vec<Edit>) -> CommandBuffer {
    CommandBuffer {
        edits,
        layer: Some(layer),
        ..CommandBuffer::new(Source::Rpc)
    }
}

/// The colour of paint, flood fill and shapes: black when absent, and an alpha of 0 is 255 (the
/// daemon's rule; these methods never clear voxels).
fn paint_color(params: &Params<'_>, position: usize) -> Result<Color, RpcError> {
    let mut c = params.color("color", position)?.unwrap_or([0, 0, 0, 255]);
    if c[3] == 0 {
        c[3] = 255;
    }
    Ok(Color(c))
}

/// Where the positional `layer_id` sits after a position and a colour: `[x,y,z,r,g,b,a,layer]`
/// (also with a hex string at 3), or `[[x,y,z], colour, layer]`.
fn layer_slot(next: usize) -> usize {
    if next == 3 { 7 } else { next + 1 }
}

/// `goxel.add_voxel`: `x, y, z` (or `position`), `color` (named: white when absent; positional
/// flat `r,g,b,a`: `[0,0,0,255]`), `layer_id` (0, -1, absent or unknown: the active layer). An
/// alpha of 0 clears the voxel, as in the daemon.
pub fn add_voxel(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let (p, next) = params.position_and_next()?;
    let default = if params.is_by_position() {
        [0, 0, 0, 255]
    } else {
        [255; 4]
    };
    let color = params.color("color", next)?.unwrap_or(default);
    let layer = ctx.layer_or_active(params.integer("layer_id", layer_slot(next))?);
    ctx.edit(
        buffer(
            layer,
            vec![Edit::Set {
                pos: ivec(p),
                color: Color(color),
            }],
        ),
        "position",
    )?;
    raw(&AddReply {
        success: true,
        x: p[0],
        y: p[1],
        z: p[2],
        layer_id: layer.0,
        color,
    })
}

/// `goxel.remove_voxel`: `x, y, z`, `layer_id` (`[3]`; 0, -1 or absent: the active layer; an
/// unknown id is -1005).
pub fn remove_voxel(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let (p, next) = params.position_and_next()?;
    let requested = params.integer::<i64>("layer_id", next)?;
    let layer = match requested {
        None | Some(0 | -1) => ctx.active_layer(),
        Some(id) => ctx.existing(id).ok_or_else(|| {
            RpcError::method(codes::REMOVE_VOXEL, format!("no layer with id {id}"))
        })?,
    };
    let outcome = ctx.edit(
        buffer(
            layer,
            vec![Edit::Set {
                pos: ivec(p),
                color: Color::EMPTY,
            }],
        ),
        "position",
    )?;
    Ok(Reply::Value(json!({
        "success": true, "x": p[0], "y": p[1], "z": p[2], "layer_id": layer.0,
        "removed": outcome.changed_count > 0,
    })))
}

/// `goxel.get_voxel`: `x, y, z` in the active layer (voxeld also takes a named `layer_id`) →
/// `{x, y, z, exists, color}`, `color` `[0,0,0,0]` when empty.
pub fn get_voxel(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let p = params.position()?;
    let layer = match params.integer::<i64>("layer_id", Params::NAMED_ONLY)? {
        None | Some(0 | -1) => ctx.active_layer(),
        Some(id) => ctx
            .existing(id)
            .ok_or_else(|| RpcError::method(codes::GET_VOXEL, format!("no layer with id {id}")))?,
    };
    let c = ctx.world.snapshot().voxel(layer, ivec(p));
    raw(&VoxelReply {
        x: p[0],
        y: p[1],
        z: p[2],
        exists: !c.is_empty(),
        color: c.0,
        layer_id: layer.0,
    })
}

/// `goxel.paint_voxels`: one position `x, y, z`, colour `r,g,b,a` (`[3..6]`), `layer_id`
/// (`[7]`) as the daemon takes it, or voxeld's list form `positions: [[x,y,z],...]` and
/// `color`. The default layer is layer 1, as in the daemon. Only existing voxels are
/// recoloured: in the single form an empty position is -1009.
pub fn paint_voxels(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let list_form = match params.raw("positions", 0) {
        Some(_) if params.is_by_name() => true,
        Some(r) => r
            .get()
            .trim_start()
            .strip_prefix('[')
            .is_some_and(|t| t.trim_start().starts_with(['[', '{'])),
        None => false,
    };
    let (positions, next) = if list_form {
        (params.positions("positions", 0)?.unwrap_or_default(), 1)
    } else {
        let (p, next) = params.position_and_next()?;
        (vec![p], next)
    };
    let color = paint_color(params, next)?;
    let layer = ctx.layer_one(
        params.integer("layer_id", layer_slot(next))?,
        codes::PAINT_VOXELS,
    )?;
    if !list_form {
        let p = positions[0];
        if ctx.world.snapshot().voxel(layer, ivec(p)).is_empty() {
            return Err(RpcError::method(
                codes::PAINT_VOXELS,
                format!(
                    "no voxel at [{}, {}, {}] in layer {}",
                    p[0], p[1], p[2], layer.0
                ),
            ));
        }
    }
    let edits = positions
        .iter()
        .map(|&p| Edit::Paint {
            pos: ivec(p),
            color,
        })
        .collect();
    let outcome = ctx.edit(buffer(layer, edits), "positions")?;
    let painted = if list_form { outcome.changed_count } else { 1 };
    Ok(Reply::Value(json!({
        "success": true, "painted": painted, "painted_count": outcome.changed_count,
        "requested_count": positions.len(), "layer_id": layer.0, "color": color.0,
    })))
}

fn parse_box(
    params: &Params<'_>,
    min_name: &str,
    max_name: &str,
) -> Result<Option<VoxelBox>, RpcError> {
    match (
        params.raw(min_name, usize::MAX),
        params.raw(max_name, usize::MAX),
    ) {
        (Some(a), Some(b)) => {
            let a = parse_position(a, min_name)?;
            let b = parse_position(b, max_name)?;
            Ok(Some(VoxelBox::from_corners(ivec(a), ivec(b))))
        }
        (None, None) => Ok(None),
        (Some(_), None) => Err(RpcError::invalid_params(
            max_name,
            "required with ".to_string() + min_name,
        )),
        (None, Some(_)) => Err(RpcError::invalid_params(
            min_name,
            "required with ".to_string() + max_name,
        )),
    }
}

/// `goxel.flood_fill`: `x, y, z`, colour `r,g,b,a` (`[3..6]`), `layer_id` (`[7]`; default
/// layer 1, an unknown id falls back to the active layer), optional bounds `min`/`max`.
///
/// Recolours the 6-connected region of voxels sharing the colour at the start (the daemon sets
/// only the start voxel; its documentation promises the fill). Without bounds, a fill that starts
/// on an empty voxel stays inside the layer's bounding box grown by one.
pub fn flood_fill(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let (p, next) = params.position_and_next()?;
    let color = paint_color(params, next)?;
    let layer = ctx.layer_one_or_active(params.integer("layer_id", layer_slot(next))?);
    let snapshot = ctx.world.snapshot();
    let start = ivec(p);
    let bounds = match parse_box(params, "min", "max")? {
        Some(b) => b,
        None if snapshot.voxel(layer, start).is_empty() => {
            let b = snapshot
                .layer(layer)
                .and_then(|l| l.bounding_box())
                .unwrap_or(VoxelBox::point(start));
            let b = b.union(&VoxelBox::point(start));
            VoxelBox {
                min: b.min.saturating_sub(IVec3::ONE),
                max: b.max.saturating_add(IVec3::ONE),
            }
        }
        None => VoxelBox {
            min: IVec3::splat(i32::MIN / 2),
            max: IVec3::splat(i32::MAX / 2),
        },
    };
    let edit = Edit::FloodFill {
        pos: start,
        color,
        bounds: Box::new(bounds),
    };
    let outcome = ctx.edit(buffer(layer, vec![edit]), "position")?;
    Ok(Reply::Value(json!({
        "success": true, "voxels_filled": outcome.changed_count, "filled_count": outcome.changed_count,
        "x": p[0], "y": p[1], "z": p[2], "layer_id": layer.0, "color": color.0,
    })))
}

/// `goxel.procedural_shape` in the daemon's parameters, `[shape_type, size_x, size_y, size_z,
/// center_x, center_y, center_z, r, g, b, a, layer_id]` (sizes ≤ 0 or absent: 10; layer
/// default 1, unknown: the active layer), and voxeld's `shape`, `size` (`n` or `[sx,sy,sz]`),
/// `radius`, `center`, `color`. Shapes: cube, sphere, cylinder, cone, pyramid, inscribed in the
/// box of that size around the centre; an odd size gives that many voxels per axis.
pub fn procedural_shape(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    // voxeld's own positional form puts a size array or a centre array at [1] or [2].
    let is_array = |i: usize| {
        params
            .positional(i)
            .is_some_and(|r| r.get().starts_with(['[', '{']))
    };
    let compact = params.is_by_position() && (is_array(1) || is_array(2));
    let name = match params.string("shape_type", 0)? {
        Some(n) => n.into_owned(),
        None => params
            .string("shape", Params::NAMED_ONLY)?
            .map_or_else(|| "cube".to_string(), |s| s.into_owned()),
    };
    let shape = Shape::from_name(&name.to_ascii_lowercase()).ok_or_else(|| {
        RpcError::method(
            codes::PROCEDURAL_SHAPE,
            format!(
                "unknown shape type '{name}', expected cube, sphere, cylinder, cone or pyramid"
            ),
        )
    })?;
    let size = if compact {
        size_value(params.positional(1))?
    } else if let Some(r) = params.named("radius") {
        let r = crate::rpc::parse_integer::<i64>(r, "radius")?;
        if !(1..=1 << 20).contains(&r) {
            return Err(RpcError::invalid_params("radius", "expected 1..1048576"));
        }
        IVec3::splat(2 * r as i32 + 1)
    } else if let Some(raw) = params.named("size") {
        size_value(Some(raw))?
    } else {
        let mut size = IVec3::ZERO;
        for (i, axis) in ["size_x", "size_y", "size_z"].into_iter().enumerate() {
            let n = params.integer::<i64>(axis, 1 + i)?.unwrap_or(0);
            size[i] = if n <= 0 { 10 } else { check_size(n, axis)? };
        }
        size
    };
    let center = if compact {
        match params.positional(2) {
            Some(raw) => ivec(parse_position(raw, "center")?),
            None => IVec3::ZERO,
        }
    } else if let Some(raw) = params.named("center").or(params.named("position")) {
        ivec(parse_position(raw, "center")?)
    } else {
        let mut c = IVec3::ZERO;
        for (i, axis) in ["center_x", "center_y", "center_z"].into_iter().enumerate() {
            c[i] = params.integer::<i32>(axis, 4 + i)?.unwrap_or(0);
        }
        c
    };
    let color = paint_color(params, if compact { 3 } else { 7 })?;
    let layer_slot = if compact { 4 } else { 11 };
    let layer = ctx.layer_one_or_active(params.integer("layer_id", layer_slot)?);
    // In i64: a centre near the edge of the i32 range must be refused, not wrap around.
    let min = center.as_i64vec3() - size.as_i64vec3() / 2;
    let max = min + size.as_i64vec3() - glam::I64Vec3::ONE;
    let fits = |v: glam::I64Vec3| v.to_array().iter().all(|&c| i32::try_from(c).is_ok());
    if !fits(min) || !fits(max) {
        return Err(RpcError::invalid_params(
            "center",
            "the shape reaches outside the 32-bit coordinate range",
        ));
    }
    let region = VoxelBox {
        min: min.as_ivec3(),
        max: max.as_ivec3(),
    };
    let outcome = ctx.edit(
        buffer(
            layer,
            vec![Edit::Shape {
                shape,
                region,
                color,
            }],
        ),
        "size",
    )?;
    let volume = systems::shapes::volume(shape, &region);
    Ok(Reply::Value(json!({
        "success": true, "shape_type": shape.name(), "voxels_created": volume,
        "shape": shape.name(), "changed_count": outcome.changed_count, "voxel_count": volume,
        "bounds": { "min": region.min.to_array(), "max": region.max.to_array() },
        "layer_id": layer.0, "seq": outcome.seq,
    })))
}

/// A size given as `n` or `[sx, sy, sz]`.
fn size_value(raw: Option<&RawValue>) -> Result<IVec3, RpcError> {
    let Some(raw) = raw else {
        return Ok(IVec3::splat(10));
    };
    if let Ok(n) = serde_json::from_str::<i64>(raw.get()) {
        return Ok(IVec3::splat(check_size(n, "size")?));
    }
    let v: [i64; 3] = serde_json::from_str(raw.get()).map_err(|_| {
        RpcError::invalid_params("size", "expected a positive integer or [sx,sy,sz]")
    })?;
    Ok(IVec3::new(
        check_size(v[0], "size")?,
        check_size(v[1], "size")?,
        check_size(v[2], "size")?,
    ))
}

fn check_size(n: i64, field: &str) -> Result<i32, RpcError> {
    if (1..=1 << 21).contains(&n) {
        Ok(n as i32)
    } else {
        Err(RpcError::invalid_params(
            field,
            format!("{n} is not in 1..2097152"),
        ))
    }
}

/// One entry of `goxel.batch_operations` or `add_voxels` that could not be used.
struct Skipped {
    index: usize,
    message: String,
}

/// `goxel.batch_operations`: `operations: [{type, x, y, z, r, g, b, a?}, ...]` (the daemon's
/// `add_voxel` entries; voxeld also takes `remove_voxel` and `paint_voxel`, `op` for `type`,
/// `position` and `color`). Entries apply in order as one buffer (one undo step) to layer 1 (the
/// active layer if there is none; voxeld also takes a named `layer_id`). A malformed entry is
/// skipped and reported in `errors`, as the daemon skips it.
pub fn batch_operations(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let ops = operations_list(params, "operations")?;
    let layer = match params.integer::<i64>("layer_id", Params::NAMED_ONLY)? {
        Some(id) if id > 0 => ctx.existing(id).ok_or_else(|| {
            RpcError::invalid_params("layer_id", format!("no layer with id {id}"))
        })?,
        _ => ctx.existing(1).unwrap_or(ctx.active_layer()),
    };
    let bounds = ctx.limits().bounds;
    let mut edits = Vec::with_capacity(ops.len());
    let mut skipped = Vec::new();
    for (index, raw) in ops.iter().enumerate() {
        match batch_entry(raw, &bounds) {
            Ok(edit) => edits.push(edit),
            Err(message) => skipped.push(Skipped { index, message }),
        }
    }
    let successful = edits.len();
    let outcome = ctx.edit(buffer(layer, edits), "operations")?;
    Ok(Reply::Value(json!({
        "success": true, "total_operations": ops.len(), "successful_operations": successful,
        "failed_operations": skipped.len(), "errors": skipped_json(&skipped),
        "changed_count": outcome.changed_count, "seq": outcome.seq, "layer_id": layer.0,
    })))
}

/// `add_voxels`: `voxels: [{x, y, z, r, g, b, a?}, ...]` into the active layer, as one buffer.
/// An entry that is not an object, lacks a member, or has a channel outside 0..255 is skipped.
pub fn add_voxels(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let entries = operations_list(params, "voxels")?;
    let layer = ctx.active_layer();
    let bounds = ctx.limits().bounds;
    let mut edits = Vec::with_capacity(entries.len());
    let mut skipped = Vec::new();
    for (index, raw) in entries.iter().enumerate() {
        match voxel_entry(raw, &bounds) {
            Ok(edit) => edits.push(edit),
            Err(message) => skipped.push(Skipped { index, message }),
        }
    }
    let added = edits.len();
    let outcome = ctx.edit(buffer(layer, edits), "voxels")?;
    Ok(Reply::Value(json!({
        "success": skipped.is_empty(), "added": added, "failed": skipped.len(),
        "errors": skipped_json(&skipped), "changed_count": outcome.changed_count,
        "seq": outcome.seq, "layer_id": layer.0,
    })))
}

/// The list parameter `name` of a batch: by name, or at position 0 (an array of entries, or an
/// object holding `name`, as the daemon's documentation shows).
fn operations_list<'a>(params: &Params<'a>, name: &str) -> Result<Vec<&'a RawValue>, RpcError> {
    let mut raw = params.raw(name, 0);
    if let Some(r) = raw
        && params.is_by_position()
        && r.get().starts_with('{')
    {
        raw = Params::parse(r).ok().and_then(|inner| inner.named(name));
    }
    let raw = raw
        .filter(|r| r.get() != "null")
        .ok_or_else(|| RpcError::invalid_params(name, "missing: an array of entries"))?;
    serde_json::from_str(raw.get())
        .map_err(|_| RpcError::invalid_params(name, "expected an array of entries"))
}

fn skipped_json(skipped: &[Skipped]) -> serde_json::Value {
    // Enough to find the faults without echoing a huge batch back.
    skipped
        .iter()
        .take(100)
        .map(|s| json!({ "index": s.index, "message": s.message }))
        .collect()
}

fn entry_params(raw: &RawValue) -> Result<Params<'_>, String> {
    match Params::parse(raw) {
        Ok(p) if p.is_by_name() => Ok(p),
        _ => Err("expected an object".into()),
    }
}

fn entry_position(op: &Params<'_>, bounds: &VoxelBox) -> Result<IVec3, String> {
    let has = |n: &str| op.named(n).is_some();
    if !(has("position") || (has("x") && has("y") && has("z"))) {
        return Err("x, y and z are required".into());
    }
    let pos = ivec(op.position().map_err(|e| e.message)?);
    if !bounds.contains(pos) {
        return Err(format!(
            "position [{}, {}, {}] is outside the world bounds",
            pos.x, pos.y, pos.z
        ));
    }
    Ok(pos)
}

fn entry_color(op: &Params<'_>) -> Result<Color, String> {
    let has = |n: &str| op.named(n).is_some();
    if !(has("color") || (has("r") && has("g") && has("b"))) {
        return Err("r, g and b (or color) are required".into());
    }
    let c = op
        .color("color", Params::NAMED_ONLY)
        .map_err(|e| e.message)?
        .unwrap_or([0, 0, 0, 255]);
    Ok(Color(c))
}

fn batch_entry(raw: &RawValue, bounds: &VoxelBox) -> Result<Edit, String> {
    let op = entry_params(raw)?;
    let kind = ["type", "op", "operation"]
        .iter()
        .find_map(|n| op.string(n, Params::NAMED_ONLY).ok().flatten())
        .ok_or("type is required: add_voxel, remove_voxel or paint_voxel")?;
    let pos = entry_position(&op, bounds)?;
    Ok(match &*kind {
        "add_voxel" | "add" | "set" => Edit::Set {
            pos,
            color: entry_color(&op)?,
        },
        "remove_voxel" | "remove" | "delete" => Edit::Set {
            pos,
            color: Color::EMPTY,
        },
        "paint_voxel" | "paint" => Edit::Paint {
            pos,
            color: entry_color(&op)?,
        },
        other => {
            return Err(format!(
                "unknown type '{other}', expected add_voxel, remove_voxel or paint_voxel"
            ));
        }
    })
}

fn voxel_entry(raw: &RawValue, bounds: &VoxelBox) -> Result<Edit, String> {
    let op = entry_params(raw)?;
    let pos = entry_position(&op, bounds)?;
    // The daemon refuses channels outside 0..255 here rather than clamping them.
    for channel in ["r", "g", "b", "a"] {
        if let Some(raw) = op.named(channel) {
            let v: i64 = crate::rpc::parse_integer(raw, channel).map_err(|e| e.message)?;
            if !(0..=255).contains(&v) {
                return Err(format!("{channel} is {v}, outside 0..255"));
            }
        }
    }
    Ok(Edit::Set {
        pos,
        color: entry_color(&op)?,
    })
}
