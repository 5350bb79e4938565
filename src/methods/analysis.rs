//! Bulk reads and colour analysis, answered from the current snapshot.

use std::collections::BTreeMap;

use glam::IVec3;
use serde_json::{Value, json};
use systems::{Color, LayerSnapshot, VoxelBox, WorldSnapshot};

use super::{Ctx, Reply};
use crate::rpc::{Params, RpcError, parse_position};

/// Default and largest page of bulk reads.
const DEFAULT_LIMIT: u64 = 100_000;
const MAX_LIMIT: u64 = 10_000_000;

fn everything() -> VoxelBox {
    VoxelBox {
        min: IVec3::splat(i32::MIN / 2),
        max: IVec3::splat(i32::MAX / 2),
    }
}

fn page(params: &Params<'_>) -> Result<(u64, u64), RpcError> {
    let offset = params.integer::<u64>("offset", usize::MAX)?.unwrap_or(0);
    let limit = params
        .integer::<u64>("limit", usize::MAX)?
        .unwrap_or(DEFAULT_LIMIT);
    if limit > MAX_LIMIT {
        return Err(RpcError::invalid_params(
            "limit",
            format!("at most {MAX_LIMIT}"),
        ));
    }
    Ok((offset, limit))
}

fn layer_of<'s>(
    snapshot: &'s WorldSnapshot,
    ctx: &Ctx<'_>,
    params: &Params<'_>,
) -> Result<&'s LayerSnapshot, RpcError> {
    let id = ctx.layer(params, Params::NAMED_ONLY)?;
    snapshot
        .layer(id)
        .ok_or_else(|| RpcError::invalid_params("layer_id", format!("no layer with id {}", id.0)))
}

/// Lists voxels in `region` of `layer`, paged.
fn voxel_page(
    layer: &LayerSnapshot,
    region: &VoxelBox,
    offset: u64,
    limit: u64,
    filter: Option<Color>,
) -> Value {
    let mut voxels = Vec::new();
    let mut total = 0u64;
    layer.for_each_voxel_in(region, |p, c| {
        if filter.is_some_and(|f| f != c) {
            return;
        }
        if total >= offset && (total - offset) < limit {
            voxels.push(if filter.is_some() {
                json!({ "x": p.x, "y": p.y, "z": p.z })
            } else {
                json!({ "x": p.x, "y": p.y, "z": p.z, "color": c.0 })
            });
        }
        total += 1;
    });
    json!({
        "voxels": voxels, "count": voxels.len(), "total": total, "offset": offset,
        "truncated": offset + (voxels.len() as u64) < total, "layer_id": layer.id.0,
    })
}

/// `goxel.get_voxels_region`: `min`, `max` (`[x,y,z]` each; or `x1,y1,z1,x2,y2,z2`), optional
/// `layer_id`, `offset`, `limit` → the voxels inside, chunk by chunk (z, y, x), x-fastest.
pub fn get_voxels_region(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let snapshot = ctx.world.snapshot();
    let layer = layer_of(&snapshot, ctx, params)?;
    let region = match (params.raw("min", 0), params.raw("max", 1)) {
        (Some(a), Some(b)) => VoxelBox::from_corners(
            IVec3::from_array(parse_position(a, "min")?),
            IVec3::from_array(parse_position(b, "max")?),
        ),
        _ => {
            let mut v = [0i32; 6];
            for (i, name) in ["x1", "y1", "z1", "x2", "y2", "z2"].iter().enumerate() {
                v[i] = params.integer::<i32>(name, usize::MAX)?.ok_or_else(|| {
                    RpcError::invalid_params("min", "required: min and max as [x,y,z]")
                })?;
            }
            VoxelBox::from_corners(IVec3::new(v[0], v[1], v[2]), IVec3::new(v[3], v[4], v[5]))
        }
    };
    let (offset, limit) = page(params)?;
    Ok(Reply::Value(voxel_page(
        layer, &region, offset, limit, None,
    )))
}

/// `goxel.get_layer_voxels`: optional `layer_id`, `offset`, `limit` → every voxel of the layer.
pub fn get_layer_voxels(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let snapshot = ctx.world.snapshot();
    let layer = layer_of(&snapshot, ctx, params)?;
    let (offset, limit) = page(params)?;
    Ok(Reply::Value(voxel_page(
        layer,
        &everything(),
        offset,
        limit,
        None,
    )))
}

/// `goxel.get_bounding_box`: optional `layer_id` (default: all visible layers).
pub fn get_bounding_box(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let snapshot = ctx.world.snapshot();
    let bounds = if params.layer_id(Params::NAMED_ONLY)?.is_some() {
        layer_of(&snapshot, ctx, params)?.bounding_box()
    } else {
        snapshot.bounding_box()
    };
    Ok(Reply::Value(match bounds {
        None => {
            json!({ "empty": true, "min": null, "max": null, "width": 0, "height": 0, "depth": 0 })
        }
        Some(b) => {
            let size = b.max - b.min + IVec3::ONE;
            json!({
                "empty": false, "min": b.min.to_array(), "max": b.max.to_array(),
                "width": size.x, "height": size.y, "depth": size.z,
            })
        }
    }))
}

fn counts(layer: &LayerSnapshot) -> BTreeMap<Color, u64> {
    let mut out = BTreeMap::new();
    for (_, chunk) in layer.chunks_sorted() {
        chunk.color_counts(|c, n| *out.entry(c).or_insert(0) += n as u64);
    }
    out
}

/// `goxel.get_color_histogram`: optional `layer_id` → colours with their voxel counts, most
/// frequent first (ties by colour).
pub fn get_color_histogram(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let snapshot = ctx.world.snapshot();
    let layer = layer_of(&snapshot, ctx, params)?;
    let mut entries: Vec<(Color, u64)> = counts(layer).into_iter().collect();
    entries.sort_by_key(|(c, n)| (std::cmp::Reverse(*n), *c));
    let total: u64 = entries.iter().map(|(_, n)| n).sum();
    let histogram: Vec<Value> = entries
        .iter()
        .map(|(c, n)| json!({ "color": c.0, "hex": hex(*c), "count": n }))
        .collect();
    Ok(Reply::Value(json!({
        "histogram": histogram, "unique_colors": entries.len(), "total_voxels": total, "layer_id": layer.id.0,
    })))
}

/// `goxel.get_unique_colors`: optional `layer_id` → the distinct colours, sorted.
pub fn get_unique_colors(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let snapshot = ctx.world.snapshot();
    let layer = layer_of(&snapshot, ctx, params)?;
    let colors: Vec<[u8; 4]> = counts(layer).keys().map(|c| c.0).collect();
    Ok(Reply::Value(
        json!({ "colors": colors, "count": colors.len(), "layer_id": layer.id.0 }),
    ))
}

/// `goxel.find_voxels_by_color`: `color`, optional `layer_id`, `offset`, `limit` → positions.
pub fn find_voxels_by_color(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let snapshot = ctx.world.snapshot();
    let color = Color(params.required_color("color", 0)?);
    let layer = layer_of(&snapshot, ctx, params)?;
    let (offset, limit) = page(params)?;
    let mut v = voxel_page(layer, &everything(), offset, limit, Some(color));
    v["color"] = json!(color.0);
    Ok(Reply::Value(v))
}

fn hex(c: Color) -> String {
    format!("#{:02x}{:02x}{:02x}{:02x}", c.0[0], c.0[1], c.0[2], c.0[3])
}
