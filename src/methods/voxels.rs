//! Methods that edit or read single voxels and shapes.

use glam::IVec3;
use serde::Serialize;
use serde_json::json;
use systems::{Color, CommandBuffer, Edit, LayerId, Shape, Source, VoxelBox};

use super::{Ctx, Reply, raw};
use crate::rpc::{Params, RpcError, parse_position};

#[derive(Serialize)]
struct VoxelReply {
    x: i32,
    y: i32,
    z: i32,
    exists: bool,
    color: Option<[u8; 4]>,
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

fn opaque(color: [u8; 4], field: &str) -> Result<Color, RpcError> {
    if color[3] == 0 {
        return Err(RpcError::invalid_params(
            field,
            "alpha must be 1..255 (alpha 0 is an empty voxel)",
        ));
    }
    Ok(Color(color))
}

/// `goxel.add_voxel`: `x, y, z` (or `position`), `color`, optional `layer_id`.
pub fn add_voxel(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let (p, next) = params.position_and_next()?;
    let color = opaque(params.required_color("color", next)?, "color")?;
    let layer = ctx.layer(params, Params::NAMED_ONLY)?;
    ctx.edit(
        buffer(
            layer,
            vec![Edit::Set {
                pos: ivec(p),
                color,
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
        color: color.0,
    })
}

/// `goxel.remove_voxel`: `x, y, z`, optional `layer_id`.
pub fn remove_voxel(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let p = params.position()?;
    let layer = ctx.layer(params, Params::NAMED_ONLY)?;
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

/// `goxel.get_voxel`: `x, y, z`, optional `layer_id` → `{x, y, z, exists, color}`.
pub fn get_voxel(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let p = params.position()?;
    let layer = ctx.layer(params, Params::NAMED_ONLY)?;
    let c = ctx.world.snapshot().voxel(layer, ivec(p));
    raw(&VoxelReply {
        x: p[0],
        y: p[1],
        z: p[2],
        exists: !c.is_empty(),
        color: (!c.is_empty()).then_some(c.0),
    })
}

/// `goxel.paint_voxels`: `positions: [[x,y,z],...]` and `color` (the seed's JS form), or one
/// position `x, y, z` and `color` (the daemon form). Only existing voxels are recoloured.
pub fn paint_voxels(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let layer = ctx.layer(params, Params::NAMED_ONLY)?;
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
    let color = opaque(params.required_color("color", next)?, "color")?;
    let edits = positions
        .iter()
        .map(|&p| Edit::Paint {
            pos: ivec(p),
            color,
        })
        .collect();
    let outcome = ctx.edit(buffer(layer, edits), "positions")?;
    Ok(Reply::Value(json!({
        "success": true, "painted_count": outcome.changed_count, "requested_count": positions.len(),
        "layer_id": layer.0, "color": color.0,
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

/// `goxel.flood_fill`: `x, y, z`, `color`, optional `layer_id` and bounds `min`/`max`.
///
/// Recolours the 6-connected region of voxels sharing the colour at the start. Without bounds,
/// a fill that starts on an empty voxel stays inside the layer's bounding box grown by one.
pub fn flood_fill(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let (p, next) = params.position_and_next()?;
    let color = opaque(params.required_color("color", next)?, "color")?;
    let layer = ctx.layer(params, Params::NAMED_ONLY)?;
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
        "success": true, "filled_count": outcome.changed_count, "x": p[0], "y": p[1], "z": p[2],
        "layer_id": layer.0, "color": color.0,
    })))
}

/// `goxel.procedural_shape`: `shape` (cube, sphere, cylinder, cone, pyramid), `size`
/// (`n` or `[sx,sy,sz]`) or `radius`, `center`/`position` (`[x,y,z]`, default origin), `color`,
/// optional `layer_id`. The shape is inscribed in the box of that size around the centre.
pub fn procedural_shape(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let name: String = params.required("shape", 0)?;
    let shape = Shape::from_name(&name.to_ascii_lowercase()).ok_or_else(|| {
        RpcError::invalid_params(
            "shape",
            format!("unknown shape '{name}', expected cube, sphere, cylinder, cone or pyramid"),
        )
    })?;
    let size = if let Some(r) = params.raw("radius", usize::MAX) {
        let r: i64 = serde_json::from_str(r.get())
            .map_err(|_| RpcError::invalid_params("radius", "expected a positive integer"))?;
        if !(1..=1 << 20).contains(&r) {
            return Err(RpcError::invalid_params("radius", "expected 1..1048576"));
        }
        IVec3::splat(2 * r as i32 + 1)
    } else {
        match params.raw("size", 1) {
            None => {
                return Err(RpcError::invalid_params(
                    "size",
                    "required (n or [sx,sy,sz]), or give radius",
                ));
            }
            Some(raw) => {
                if let Ok(n) = serde_json::from_str::<i64>(raw.get()) {
                    IVec3::splat(check_size(n)?)
                } else {
                    let v: [i64; 3] = serde_json::from_str(raw.get()).map_err(|_| {
                        RpcError::invalid_params(
                            "size",
                            "expected a positive integer or [sx,sy,sz]",
                        )
                    })?;
                    IVec3::new(check_size(v[0])?, check_size(v[1])?, check_size(v[2])?)
                }
            }
        }
    };
    let center = match params
        .raw("center", usize::MAX)
        .or_else(|| params.raw("position", 2))
    {
        Some(raw) => ivec(parse_position(raw, "center")?),
        None => IVec3::ZERO,
    };
    let color = opaque(params.required_color("color", 3)?, "color")?;
    let layer = ctx.layer(params, Params::NAMED_ONLY)?;
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
    Ok(Reply::Value(json!({
        "success": true, "shape": shape.name(), "changed_count": outcome.changed_count,
        "voxel_count": systems::shapes::volume(shape, &region),
        "bounds": { "min": region.min.to_array(), "max": region.max.to_array() },
        "layer_id": layer.0,
    })))
}

fn check_size(n: i64) -> Result<i32, RpcError> {
    if (1..=1 << 21).contains(&n) {
        Ok(n as i32)
    } else {
        Err(RpcError::invalid_params(
            "size",
            format!("{n} is not in 1..2097152"),
        ))
    }
}

/// `goxel.batch_operations`: `operations: [{op: "add"|"remove"|"paint", x, y, z (or position),
/// color}, ...]`, optional `layer_id`; applied in order as one buffer, all or nothing.
pub fn batch_operations(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let ops: Vec<&serde_json::value::RawValue> = params.required("operations", 0)?;
    let layer = ctx.layer(params, Params::NAMED_ONLY)?;
    let mut edits = Vec::with_capacity(ops.len());
    for (i, raw) in ops.iter().enumerate() {
        let field = format!("operations[{i}]");
        let op = Params::parse(raw)
            .map_err(|_| RpcError::invalid_params(&field, "expected an object"))?;
        if !op.is_by_name() {
            return Err(RpcError::invalid_params(&field, "expected an object"));
        }
        let kind = op
            .string("op", usize::MAX)?
            .or(op.string("type", usize::MAX)?)
            .or(op.string("operation", usize::MAX)?)
            .ok_or_else(|| {
                RpcError::invalid_params(&format!("{field}.op"), "required: add, remove or paint")
            })?;
        let pos = ivec(op.position().map_err(|e| prefix(e, &field))?);
        let color = || -> Result<Color, RpcError> {
            let c = op
                .required_color("color", usize::MAX)
                .map_err(|e| prefix(e, &field))?;
            opaque(c, &format!("{field}.color"))
        };
        edits.push(match &*kind {
            "add" | "set" | "add_voxel" => Edit::Set {
                pos,
                color: color()?,
            },
            "remove" | "delete" | "remove_voxel" => Edit::Set {
                pos,
                color: Color::EMPTY,
            },
            "paint" | "paint_voxel" => Edit::Paint {
                pos,
                color: color()?,
            },
            other => {
                return Err(RpcError::invalid_params(
                    &format!("{field}.op"),
                    format!("unknown operation '{other}', expected add, remove or paint"),
                ));
            }
        });
    }
    let count = edits.len();
    let outcome = ctx.edit(buffer(layer, edits), "operations")?;
    Ok(Reply::Value(json!({
        "success": true, "operation_count": count, "changed_count": outcome.changed_count,
        "seq": outcome.seq, "layer_id": layer.0,
    })))
}

fn prefix(mut e: RpcError, field: &str) -> RpcError {
    e.message = e
        .message
        .replacen("field '", &format!("field '{field}."), 1);
    e
}
