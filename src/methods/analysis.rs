//! Bulk reads and colour analysis, answered from the current snapshot, in the Goxel daemon's
//! parameters (`layer_id` -1 the active layer, -2 all layers where the daemon documents it,
//! `color_filter`, `region`, `tolerance`, ...) and reply shapes.

use std::collections::BTreeMap;

use glam::IVec3;
use serde_json::{Value, json};
use systems::{Color, LayerSnapshot, VoxelBox, WorldSnapshot};

use super::{Ctx, Reply};
use crate::rpc::{Params, RpcError, parse_color, parse_position};

/// Default page of bulk reads, as in the daemon.
const DEFAULT_LIMIT: i64 = 10_000;
/// Most voxels one reply lists, even when the client asks for no limit.
const MAX_LIMIT: u64 = 10_000_000;

fn everything() -> VoxelBox {
    VoxelBox {
        min: IVec3::splat(i32::MIN / 2),
        max: IVec3::splat(i32::MAX / 2),
    }
}

/// The layers a read covers.
enum Selection<'s> {
    One(&'s LayerSnapshot),
    All,
}

impl<'s> Selection<'s> {
    fn layers(&self, snapshot: &'s WorldSnapshot) -> Vec<&'s LayerSnapshot> {
        match self {
            Selection::One(l) => vec![*l],
            Selection::All => snapshot.layers().collect(),
        }
    }
}

/// `layer_id` of a read: absent, -1 or 0 the active layer, -2 all layers (where `all` allows),
/// any other value an id; an unknown layer is `-32603`, as in the daemon.
fn selection<'s>(
    snapshot: &'s WorldSnapshot,
    params: &Params<'_>,
    all: bool,
) -> Result<(Selection<'s>, i64), RpcError> {
    let requested = params
        .integer::<i64>("layer_id", Params::NAMED_ONLY)?
        .unwrap_or(-1);
    let layer = |id: i64| {
        u32::try_from(id)
            .ok()
            .and_then(|id| snapshot.layer(systems::LayerId(id)))
            .ok_or_else(|| RpcError::internal(format!("no layer with id {id} (field 'layer_id')")))
    };
    let selection = match requested {
        -1 | 0 => Selection::One(layer(snapshot.active_layer.0 as i64)?),
        -2 if all => Selection::All,
        -2 => {
            return Err(RpcError::internal(
                "layer_id -2 (all layers) is not available here (field 'layer_id')",
            ));
        }
        id => Selection::One(layer(id)?),
    };
    Ok((selection, requested))
}

/// The one layer a voxel listing reads (-2 is refused there).
fn one_layer<'s>(
    snapshot: &'s WorldSnapshot,
    params: &Params<'_>,
) -> Result<&'s LayerSnapshot, RpcError> {
    match selection(snapshot, params, false)?.0 {
        Selection::One(layer) => Ok(layer),
        Selection::All => Err(RpcError::internal(
            "layer_id -2 (all layers) is not available here",
        )),
    }
}

/// `offset` and `limit` (≤ 0: no limit, up to [`MAX_LIMIT`]).
fn page(params: &Params<'_>) -> Result<(u64, u64), RpcError> {
    let offset = params.integer::<u64>("offset", usize::MAX)?.unwrap_or(0);
    let limit = params
        .integer::<i64>("limit", usize::MAX)?
        .unwrap_or(DEFAULT_LIMIT);
    let limit = if limit <= 0 {
        MAX_LIMIT
    } else {
        (limit as u64).min(MAX_LIMIT)
    };
    Ok((offset, limit))
}

/// The optional `region: {min, max}` (inclusive corners).
fn region(params: &Params<'_>) -> Result<Option<VoxelBox>, RpcError> {
    let Some(raw) = params.named("region").filter(|r| r.get() != "null") else {
        return Ok(None);
    };
    let inner = Params::parse(raw)
        .ok()
        .filter(Params::is_by_name)
        .ok_or_else(|| {
            RpcError::invalid_params("region", "expected {min: [x,y,z], max: [x,y,z]}")
        })?;
    let corner = |name: &str| -> Result<IVec3, RpcError> {
        let raw = inner
            .named(name)
            .ok_or_else(|| RpcError::invalid_params(&format!("region.{name}"), "missing"))?;
        parse_position(raw, &format!("region.{name}")).map(IVec3::from_array)
    };
    Ok(Some(VoxelBox::from_corners(corner("min")?, corner("max")?)))
}

/// `color_filter`, as the daemon reads it: alpha 0 is no filter; alpha 255 (the default with
/// three values) matches r,g,b with any alpha; any other alpha matches all four channels.
fn color_filter(params: &Params<'_>) -> Result<Option<impl Fn(Color) -> bool>, RpcError> {
    let Some(raw) = params.named("color_filter").filter(|r| r.get() != "null") else {
        return Ok(None);
    };
    let f = parse_color(raw, "color_filter")?;
    if f[3] == 0 {
        return Ok(None);
    }
    Ok(Some(move |c: Color| {
        c.0[..3] == f[..3] && (f[3] == 255 || c.0[3] == f[3])
    }))
}

/// Lists the voxels of `layer` in `region` that pass `keep`, paged, in the daemon's reply shape.
fn voxel_page(
    layer: &LayerSnapshot,
    region: &VoxelBox,
    (offset, limit): (u64, u64),
    keep: Option<impl Fn(Color) -> bool>,
) -> Value {
    let mut voxels = Vec::new();
    let mut total = 0u64;
    let mut bbox: Option<VoxelBox> = None;
    layer.for_each_voxel_in(region, |p, c| {
        if keep.as_ref().is_some_and(|k| !k(c)) {
            return;
        }
        if total >= offset && (total - offset) < limit {
            voxels.push(json!({ "x": p.x, "y": p.y, "z": p.z, "color": c.0 }));
            match &mut bbox {
                Some(b) => b.include(p),
                None => bbox = Some(VoxelBox::point(p)),
            }
        }
        total += 1;
    });
    let mut reply = json!({
        "voxels": voxels, "count": voxels.len(), "total": total, "offset": offset,
        "truncated": offset + (voxels.len() as u64) < total, "layer_id": layer.id.0,
    });
    if let Some(b) = bbox {
        reply["bbox"] = json!({ "min": b.min.to_array(), "max": b.max.to_array() });
    }
    reply
}

/// `goxel.get_voxels_region`: `min`, `max` (inclusive `[x,y,z]`; voxeld also takes them at
/// `[0]`, `[1]`, or as `x1..z2`), `layer_id`, `color_filter`, `offset`, `limit` (default 10000,
/// ≤ 0 no limit) → the matching voxels chunk by chunk (z, y, x), x-fastest, and the page's `bbox`.
pub fn get_voxels_region(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let snapshot = ctx.world.snapshot();
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
    let layer = one_layer(&snapshot, params)?;
    Ok(Reply::Value(voxel_page(
        layer,
        &region,
        page(params)?,
        color_filter(params)?,
    )))
}

/// `goxel.get_layer_voxels`: `layer_id`, `color_filter`, `offset`, `limit` → every matching
/// voxel of the layer.
pub fn get_layer_voxels(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let snapshot = ctx.world.snapshot();
    let layer = one_layer(&snapshot, params)?;
    Ok(Reply::Value(voxel_page(
        layer,
        &everything(),
        page(params)?,
        color_filter(params)?,
    )))
}

/// `goxel.get_bounding_box`: `layer_id` (-1 active, -2 all layers), `exact` (default true;
/// false: aligned to 16³ chunks) → `min`, `max` (exclusive, one past the last voxel, as in the
/// daemon), `dimensions` (the true size, `max - min`), and voxeld's `max_inclusive`, `width`,
/// `height`, `depth`.
pub fn get_bounding_box(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let snapshot = ctx.world.snapshot();
    let (sel, _) = selection(&snapshot, params, true)?;
    let exact = params
        .named("exact")
        .is_none_or(|r| r.get() == "true" || r.get() == "null");
    let bounds = sel.layers(&snapshot).iter().fold(None, |acc, l| {
        systems::coords::union_opt(acc, l.bounding_box())
    });
    let bounds = bounds.map(|b| {
        if exact {
            b
        } else {
            let (lo, hi) = b.chunk_range();
            VoxelBox {
                min: VoxelBox::of_chunk(lo).min,
                max: VoxelBox::of_chunk(hi).max,
            }
        }
    });
    Ok(Reply::Value(match bounds {
        None => json!({ "empty": true, "width": 0, "height": 0, "depth": 0 }),
        Some(b) => {
            let size = b.max - b.min + IVec3::ONE;
            json!({
                "empty": false, "min": b.min.to_array(), "max": (b.max + IVec3::ONE).to_array(),
                "dimensions": size.to_array(), "max_inclusive": b.max.to_array(),
                "width": size.x, "height": size.y, "depth": size.z, "exact": exact,
            })
        }
    }))
}

/// Voxel counts per colour over `layers` (in `region`), each colour first mapped by `bin`.
fn counts(
    layers: &[&LayerSnapshot],
    region: Option<&VoxelBox>,
    bin: impl Fn(Color) -> Color,
) -> BTreeMap<Color, u64> {
    let mut out = BTreeMap::new();
    for layer in layers {
        match region {
            None => {
                for (_, chunk) in layer.chunks_sorted() {
                    chunk.color_counts(|c, n| *out.entry(bin(c)).or_insert(0) += n as u64);
                }
            }
            Some(r) => layer.for_each_voxel_in(r, |_, c| *out.entry(bin(c)).or_insert(0) += 1),
        }
    }
    out
}

/// Binning as the daemon does it: each of r,g,b becomes `(c / bin) * bin + bin / 2`.
fn binned(size: i64) -> impl Fn(Color) -> Color {
    move |c: Color| {
        if size <= 1 {
            return c;
        }
        let b = |v: u8| ((v as i64 / size) * size + size / 2).min(255) as u8;
        Color([b(c.0[0]), b(c.0[1]), b(c.0[2]), c.0[3]])
    }
}

fn hex(c: Color) -> String {
    format!("#{:02X}{:02X}{:02X}{:02X}", c.0[0], c.0[1], c.0[2], c.0[3])
}

fn flag(params: &Params<'_>, name: &str, default: bool) -> Result<bool, RpcError> {
    params.or(name, Params::NAMED_ONLY, default)
}

/// `goxel.get_color_histogram`: `layer_id` (-2: all layers), `region`, `bin_size`,
/// `sort_by_count` (default true; false: by colour), `top_n` → `histogram: [{color (hex),
/// rgba, count, percentage}]`, `total_voxels`, `unique_colors`, `metadata`.
pub fn get_color_histogram(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let snapshot = ctx.world.snapshot();
    let (sel, requested) = selection(&snapshot, params, true)?;
    let bin_size = params
        .integer::<i64>("bin_size", Params::NAMED_ONLY)?
        .unwrap_or(0);
    let top_n = params
        .integer::<i64>("top_n", Params::NAMED_ONLY)?
        .unwrap_or(0);
    let by_count = flag(params, "sort_by_count", true)?;
    let region = region(params)?;
    let mut entries: Vec<(Color, u64)> =
        counts(&sel.layers(&snapshot), region.as_ref(), binned(bin_size))
            .into_iter()
            .collect();
    if by_count {
        entries.sort_by_key(|(c, n)| (std::cmp::Reverse(*n), *c));
    }
    let total: u64 = entries.iter().map(|(_, n)| n).sum();
    if top_n > 0 {
        entries.truncate(top_n as usize);
    }
    let shown: u64 = entries.iter().map(|(_, n)| n).sum();
    let histogram: Vec<Value> = entries
        .iter()
        .map(|(c, n)| {
            json!({
                "color": hex(*c), "rgba": c.0, "count": n,
                "percentage": if shown == 0 { 0.0 } else { *n as f64 * 100.0 / shown as f64 },
            })
        })
        .collect();
    let mut metadata = json!({ "binned": bin_size > 1, "layer_id": requested });
    if bin_size > 1 {
        metadata["bin_size"] = json!(bin_size);
    }
    Ok(Reply::Value(json!({
        "histogram": histogram, "total_voxels": total, "unique_colors": entries.len(),
        "metadata": metadata,
    })))
}

/// `goxel.get_unique_colors`: `layer_id` (-2: all layers), `region`, `merge_similar`,
/// `merge_threshold` (default 10), `sort_by_count` (default false: by r, g, b, a) →
/// `colors: [{hex, rgba, count}]`, `count`, `metadata`.
pub fn get_unique_colors(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let snapshot = ctx.world.snapshot();
    let (sel, requested) = selection(&snapshot, params, true)?;
    let merge = flag(params, "merge_similar", false)?;
    let threshold = params
        .integer::<i64>("merge_threshold", Params::NAMED_ONLY)?
        .unwrap_or(10);
    let by_count = flag(params, "sort_by_count", false)?;
    let bin = if merge { threshold } else { 0 };
    let mut entries: Vec<(Color, u64)> = counts(
        &sel.layers(&snapshot),
        region(params)?.as_ref(),
        binned(bin),
    )
    .into_iter()
    .collect();
    if by_count {
        entries.sort_by_key(|(c, n)| (std::cmp::Reverse(*n), *c));
    }
    let colors: Vec<Value> = entries
        .iter()
        .map(|(c, n)| json!({ "hex": hex(*c), "rgba": c.0, "count": n }))
        .collect();
    Ok(Reply::Value(json!({
        "colors": colors, "count": colors.len(),
        "metadata": { "layer_id": requested, "sorted_by_count": by_count },
    })))
}

/// `goxel.find_voxels_by_color`: `color` (`[r,g,b]`, `[r,g,b,a]`; voxeld also takes the other
/// colour forms), `tolerance` (an integer for every channel, or per channel; 3 values: alpha 0),
/// `layer_id` (-2: all layers), `region`, `max_results` (default 1000, ≤ 0 no limit),
/// `include_locations` (default true) → `target_color`, `match_count`, `truncated`,
/// `locations: [{x, y, z, layer_id, layer}]`, `metadata.tolerance`.
pub fn find_voxels_by_color(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let snapshot = ctx.world.snapshot();
    let target = Color(params.required_color("color", 0)?);
    let tolerance: [u8; 4] = match params.named("tolerance").filter(|r| r.get() != "null") {
        None => [0; 4],
        Some(raw) if raw.get().starts_with('[') => {
            let v: Vec<i64> = serde_json::from_str(raw.get()).map_err(|_| {
                RpcError::invalid_params("tolerance", "expected an integer or [r,g,b(,a)]")
            })?;
            if !(3..=4).contains(&v.len()) {
                return Err(RpcError::invalid_params(
                    "tolerance",
                    "expected 3 or 4 values",
                ));
            }
            let c = |i: usize| v.get(i).copied().unwrap_or(0).clamp(0, 255) as u8;
            [c(0), c(1), c(2), c(3)]
        }
        Some(raw) => [crate::rpc::parse_integer::<i64>(raw, "tolerance")?.clamp(0, 255) as u8; 4],
    };
    let (sel, _) = selection(&snapshot, params, true)?;
    let max = params
        .integer::<i64>("max_results", Params::NAMED_ONLY)?
        .unwrap_or(1000);
    let max = if max <= 0 {
        MAX_LIMIT
    } else {
        (max as u64).min(MAX_LIMIT)
    };
    let include = flag(params, "include_locations", true)?;
    let region = region(params)?.unwrap_or_else(everything);
    let matches = |c: Color| (0..4).all(|i| c.0[i].abs_diff(target.0[i]) <= tolerance[i]);
    let mut found = 0u64;
    let mut locations = Vec::new();
    let mut truncated = false;
    'layers: for layer in sel.layers(&snapshot) {
        let mut stop = false;
        layer.for_each_voxel_in(&region, |p, c| {
            if stop || !matches(c) {
                return;
            }
            if found == max {
                truncated = true;
                stop = true;
                return;
            }
            found += 1;
            if include {
                locations.push(json!({
                    "x": p.x, "y": p.y, "z": p.z, "layer_id": layer.id.0, "layer": layer.name,
                }));
            }
        });
        if stop {
            break 'layers;
        }
    }
    let mut reply = json!({
        "target_color": hex(target), "match_count": found, "truncated": truncated,
        "metadata": { "tolerance": tolerance },
    });
    if include {
        reply["locations"] = json!(locations);
    }
    Ok(Reply::Value(reply))
}
