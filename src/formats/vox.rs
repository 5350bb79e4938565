//! MagicaVoxel `.vox` files, so worlds move between voxeld, MagicaVoxel, Goxel and the many
//! tools that speak MagicaVoxel's format.
//!
//! Reading goes through the `dot_vox` crate: it parses the chunks (models, palette, scene graph,
//! layers) and this module turns what it found into a [`Document`]. Writing is done here, chunk
//! by chunk, because `dot_vox` keeps every dictionary in a `HashMap` whose iteration order
//! changes from one process to the next, and voxeld promises that the same world gives the same
//! bytes (a hidden layer's `_name` and `_hidden` would come out in either order).
//!
//! # Coordinates and placement
//!
//! MagicaVoxel and Goxel both put z up, so a world voxel `(x, y, z)` is MagicaVoxel's `(x, y, z)`.
//! A model of size `s` is placed by the transform nodes (`nTRN`) above its shape node: their
//! rotations `_r` and translations `_t` compose from the root down into one rotation `R` and one
//! translation `t`, and the model's voxel `v` lands on
//!
//! ```text
//! world = t + floor(R · (v − floor(s / 2) + ½))
//! ```
//!
//! that is, rotation turns voxel centres about the grid point `floor(s / 2)`. This is the
//! convention vengi and voxel-io settled on after comparing with MagicaVoxel; without a
//! rotation it is `t + v − floor(s / 2)`, which is what the writer uses: a model whose lowest
//! voxel corner is `m` gets `_t = m + floor(s / 2)`. Only the first keyframe of a transform and
//! the first model of a shape are read (animations are not kept). Models no shape names (every
//! model of an old file without a scene graph) are placed with their voxel `(0, 0, 0)` at the
//! world origin.
//!
//! # Palette and alpha
//!
//! A voxel's colour index `i` (1 to 255 in the file) selects entry `i − 1` of the `RGBA` chunk;
//! `dot_vox` already subtracts the one, so its `Voxel::i` indexes its palette directly. The `IMAP`
//! chunk only reorders MagicaVoxel's palette view and is not used for colours. `.vox` has no
//! per-voxel alpha (MagicaVoxel draws transparency from `MATL` materials), so the palette's alpha
//! carries voxeld's alpha both ways; a palette entry with alpha 0 is read as opaque, so a voxel
//! the file holds never vanishes. Materials are not read.
//!
//! The writer keeps every colour exactly when the world has at most 255 of them (index 0 means
//! empty). Beyond that it builds a 255-colour palette by median cut in RGBA, weighted by voxel
//! counts, and gives each colour its nearest entry (squared RGBA distance, ties to the lower
//! index); [`EncodeReport`] says so and gives the largest per-channel error.
//!
//! # Layers and hidden objects
//!
//! Each `LAYR` chunk becomes a document layer with its `_name` (else `Layer n`) and `_hidden`
//! flag; a shape goes into the layer named by the nearest transform above it, and shapes with no
//! valid layer id (and models without a scene graph) into one more layer after them. An empty
//! layer is kept only if it has a real name (MagicaVoxel names its untouched layers by their
//! index). voxeld shows and hides whole layers only, so objects hidden in MagicaVoxel (`_hidden`
//! on a transform or group) keep their voxels in a hidden companion layer,
//! `<layer> (hidden objects)`. The writer turns each voxeld layer, bottom first, into one `LAYR`
//! chunk and one or more models: MagicaVoxel's models are at most 256 voxels on each axis, so a
//! larger layer is cut into 256³ blocks from its lowest corner, each block one model shrunk to its
//! voxels and placed by its own transform node (root `nTRN` → `nGRP` → `nTRN` → `nSHP` per model).
//!
//! # Hostile input
//!
//! `dot_vox` bounds its allocations by the input and does not panic while parsing; its
//! `Rotation::from_byte` asserts on a malformed byte, so rotations are checked before it is
//! called. On top of what it checks, this reader refuses voxels outside their model's size,
//! colour indices past the palette, scene nodes or models that do not exist, a node reached twice
//! (a cycle or a shared subtree, which could otherwise multiply the work), placements outside the
//! world bounds, instanced voxels past [`MAX_INSTANCED_VOXELS`] more than the file stores and
//! documents of more than [`MAX_CHUNKS`] chunks. The scene graph is walked with an explicit stack,
//! so a deep graph cannot overflow the call stack, and declared model sizes are never allocated.

use std::sync::Arc;

use dot_vox::{DotVoxData, Frame, Rotation, SceneNode};
use glam::IVec3;
use rustc_hash::FxHashMap;
use systems::coords::voxel_pos;
use systems::{CHUNK_VOLUME, ChunkData, Color, EditLimits, LayerSnapshot, WorldSnapshot};

use super::{DocLayer, Document, EncodeReport, Encoded, FormatError};

/// MagicaVoxel's largest model edge, in voxels.
pub const MAX_MODEL_SIZE: i32 = 256;

/// Voxels that instancing (several shapes naming one model) may add on top of those the file
/// stores: one full 256³ model's worth.
pub const MAX_INSTANCED_VOXELS: u64 = 1 << 24;

/// Chunks a document read from one file may hold (about a billion voxels when full).
pub const MAX_CHUNKS: usize = 1 << 18;

/// The file version written (MagicaVoxel 0.99 and Goxel write 150).
const VERSION: u32 = 150;

/// Colours a palette can hold: indices 1 to 255 (0 is empty).
const PALETTE_COLORS: usize = 255;

/// Reads a MagicaVoxel file: every model placed by the scene graph, coloured from the palette,
/// in the layers the file names.
pub fn decode(bytes: &[u8]) -> Result<Document, FormatError> {
    if !bytes.starts_with(b"VOX ") {
        return Err(FormatError::new(
            "not a magicavoxel file: it does not start with \"VOX \"",
        ));
    }
    if bytes.len() >= 12 && &bytes[8..12] != b"MAIN" {
        return Err(FormatError::new(
            "malformed .vox file: the first chunk is not MAIN",
        ));
    }
    // dot_vox's only error is "Not a valid MagicaVoxel .vox file": its chunks did not parse.
    let data = dot_vox::load_bytes(bytes)
        .map_err(|_| FormatError::new("malformed .vox file: truncated or corrupt chunks"))?;
    // dot_vox drops MAIN's children silently when it cannot parse them; a file that declares
    // children but yields nothing at all is corrupt rather than empty.
    let declared_children = bytes.len() >= 20 && bytes[16..20] != [0, 0, 0, 0];
    if declared_children
        && data.models.is_empty()
        && data.scenes.is_empty()
        && data.layers.is_empty()
        && data.materials.is_empty()
        && data.palette.as_slice() == dot_vox::DEFAULT_PALETTE.as_slice()
    {
        return Err(FormatError::new(
            "malformed .vox file: the chunks inside MAIN cannot be read",
        ));
    }
    build_document(&data)
}

/// Writes every layer of `world` as models, a scene graph, layers and a palette.
pub fn encode(world: &WorldSnapshot) -> Result<Encoded, FormatError> {
    let mut layers: Vec<&LayerSnapshot> = world.layers().collect();
    layers.sort_by_key(|l| (l.order, l.id));

    let mut counts: FxHashMap<Color, u64> = FxHashMap::default();
    for layer in &layers {
        for (_, chunk) in layer.chunks_sorted() {
            chunk.color_counts(|c, n| *counts.entry(c).or_default() += u64::from(n));
        }
    }
    let mut census: Vec<(Color, u64)> = counts.into_iter().collect();
    census.sort_unstable();
    let palette = OutPalette::new(&census);

    let mut models = Vec::new();
    for (index, layer) in layers.iter().enumerate() {
        split_layer(layer, index as u32, &palette, &mut models);
    }
    if models.is_empty() {
        // MagicaVoxel expects at least one model; an empty one keeps an empty world loadable.
        models.push(OutModel {
            size: [1, 1, 1],
            translation: [0, 0, 0],
            layer: 0,
            voxels: Vec::new(),
        });
    }
    let bytes = write_file(&models, &layers, &palette.entries)?;
    let report = EncodeReport {
        voxel_count: models.iter().map(|m| m.voxels.len() as u64).sum(),
        color_count: census.len() as u64,
        palette_size: Some(palette.entries.len() as u64),
        quantized: palette.quantized,
        max_color_error: palette.max_error,
        model_count: Some(models.len() as u64),
        face_count: None,
    };
    Ok(Encoded {
        bytes,
        sidecars: Vec::new(),
        report,
    })
}

// ---------------------------------------------------------------------------------------------
// Reading.

/// A signed permutation and a translation, as MagicaVoxel's transform nodes compose them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Transform {
    /// For each world axis, the axis of the transformed point it reads.
    axis: [usize; 3],
    /// For each world axis, the sign it reads that axis with.
    sign: [i64; 3],
    /// The translation, applied after the rotation.
    t: [i64; 3],
}

impl Transform {
    const IDENTITY: Transform = Transform {
        axis: [0, 1, 2],
        sign: [1, 1, 1],
        t: [0, 0, 0],
    };

    /// `self` applied after `inner` (a parent node's transform after its child's).
    fn then(&self, inner: &Transform) -> Option<Transform> {
        let mut out = Transform::IDENTITY;
        for j in 0..3 {
            let a = self.axis[j];
            out.axis[j] = inner.axis[a];
            out.sign[j] = self.sign[j] * inner.sign[a];
            out.t[j] = (self.sign[j] * inner.t[a]).checked_add(self.t[j])?;
        }
        Some(out)
    }

    /// Where a model of `size` lands: world axis `j` is `base[j] + sign[j] · v[axis[j]]`.
    fn place(&self, size: [u32; 3]) -> Option<Placement> {
        let mut base = [0i64; 3];
        for (j, b) in base.iter_mut().enumerate() {
            let pivot = i64::from(size[self.axis[j]] / 2);
            // floor(±(v − pivot + ½)): v − pivot for +, pivot − 1 − v for −.
            *b = if self.sign[j] > 0 {
                self.t[j].checked_sub(pivot)?
            } else {
                self.t[j].checked_add(pivot - 1)?
            };
        }
        Some(Placement {
            axis: self.axis,
            sign: self.sign,
            base,
        })
    }
}

/// A model's voxels mapped into the world: axis `j` is `base[j] + sign[j] · v[axis[j]]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Placement {
    axis: [usize; 3],
    sign: [i64; 3],
    base: [i64; 3],
}

impl Placement {
    /// The corner placement of a model without a scene graph: voxel `v` at world `v`.
    const CORNER: Placement = Placement {
        axis: [0, 1, 2],
        sign: [1, 1, 1],
        base: [0, 0, 0],
    };

    #[inline]
    fn apply(&self, v: [i64; 3]) -> [i64; 3] {
        [
            self.base[0] + self.sign[0] * v[self.axis[0]],
            self.base[1] + self.sign[1] * v[self.axis[1]],
            self.base[2] + self.sign[2] * v[self.axis[2]],
        ]
    }
}

/// One shape of the scene: which model, where, in which layer.
struct Instance {
    model: usize,
    placement: Placement,
    /// The `LAYR` index, `None` for the extra layer.
    layer: Option<usize>,
    hidden: bool,
    /// The shape node, for error messages (`None`: a model no shape names).
    node: Option<usize>,
}

/// What is known about a node's subtree while the scene graph is walked.
#[derive(Clone, Copy)]
struct Visit {
    node: u32,
    parent: Option<usize>,
    transform: Transform,
    layer: Option<usize>,
    hidden: bool,
}

/// A local bounding box of a model's voxels, for the world-bounds check.
type LocalBounds = Option<([i64; 3], [i64; 3])>;

fn build_document(data: &DotVoxData) -> Result<Document, FormatError> {
    let bounds = check_models(data)?;
    let instances = scene_instances(data)?;
    let limits = EditLimits::default().bounds;
    debug_assert!(i64::from(limits.max.max_element()) < (CHUNK_OFFSET << 4));

    let stored: u64 = data.models.iter().map(|m| m.voxels.len() as u64).sum();
    let mut placed = 0u64;
    for inst in &instances {
        placed += data.models[inst.model].voxels.len() as u64;
        if let Some((lo, hi)) = bounds[inst.model] {
            let (a, b) = (inst.placement.apply(lo), inst.placement.apply(hi));
            for j in 0..3 {
                let (min, max) = (a[j].min(b[j]), a[j].max(b[j]));
                if min < i64::from(limits.min[j]) || max > i64::from(limits.max[j]) {
                    let what = match inst.node {
                        Some(n) => format!("model {} placed by scene node {n}", inst.model),
                        None => format!("model {}", inst.model),
                    };
                    return Err(FormatError::new(format!(
                        "{what} reaches {} on axis {}, outside the world bounds {}..{}",
                        if min < i64::from(limits.min[j]) {
                            min
                        } else {
                            max
                        },
                        ["x", "y", "z"][j],
                        limits.min[j],
                        limits.max[j]
                    )));
                }
            }
        }
    }
    if placed > stored + MAX_INSTANCED_VOXELS {
        return Err(FormatError::new(format!(
            "the scene places {placed} voxels from {stored} stored ones; instancing may add at most {MAX_INSTANCED_VOXELS}"
        )));
    }

    // A palette entry with alpha 0 would read as "no voxel"; MagicaVoxel shows it opaque.
    let colors: Vec<Color> = data
        .palette
        .iter()
        .map(|c| Color([c.r, c.g, c.b, if c.a == 0 { 255 } else { c.a }]))
        .collect();

    // Voxels are gathered per (layer, hidden) slot as packed keys, sorted, then cut into chunks:
    // memory follows the voxels placed, never the chunks they touch.
    let layer_count = data.layers.len();
    let slot_of =
        |layer: Option<usize>, hidden: bool| layer.unwrap_or(layer_count) * 2 + hidden as usize;
    let mut slots: FxHashMap<usize, Vec<(u64, Color)>> = FxHashMap::default();
    for inst in &instances {
        let model = &data.models[inst.model];
        let entries = slots.entry(slot_of(inst.layer, inst.hidden)).or_default();
        entries.reserve(model.voxels.len());
        for v in &model.voxels {
            let w = inst
                .placement
                .apply([i64::from(v.x), i64::from(v.y), i64::from(v.z)]);
            entries.push((pack_key(w), colors[usize::from(v.i)]));
        }
    }

    // A stable sort keeps the file's order among entries for one voxel (the later one wins).
    for entries in slots.values_mut() {
        entries.sort_by_key(|e| e.0);
    }
    let chunk_count: usize = slots.values().map(|e| e.chunk_by(same_chunk).count()).sum();
    if chunk_count > MAX_CHUNKS {
        return Err(FormatError::new(format!(
            "the scene spreads over {chunk_count} chunks, more than the {MAX_CHUNKS} one file may fill"
        )));
    }
    let mut doc = Document::default();
    let mut push =
        |name: String, visible: bool, entries: Option<Vec<(u64, Color)>>, keep_empty: bool| {
            let chunks = entries.map_or_else(Vec::new, |e| build_chunks(&e));
            if keep_empty || !chunks.is_empty() {
                doc.layers.push(DocLayer {
                    id: None,
                    name,
                    visible,
                    chunks,
                });
            }
        };
    for (index, layer) in data.layers.iter().enumerate() {
        let name = layer
            .name()
            .unwrap_or_else(|| format!("Layer {}", index + 1));
        let named = layer.name().is_some_and(|n| n != index.to_string());
        push(
            name.clone(),
            !layer.hidden(),
            slots.remove(&slot_of(Some(index), false)),
            named,
        );
        push(
            format!("{name} (hidden objects)"),
            false,
            slots.remove(&slot_of(Some(index), true)),
            false,
        );
    }
    let extra = format!("Layer {}", layer_count + 1);
    push(
        extra.clone(),
        true,
        slots.remove(&slot_of(None, false)),
        false,
    );
    push(
        format!("{extra} (hidden objects)"),
        false,
        slots.remove(&slot_of(None, true)),
        false,
    );
    Ok(doc)
}

/// Checks every model's voxels against its size and the palette; returns each model's local
/// bounds.
fn check_models(data: &DotVoxData) -> Result<Vec<LocalBounds>, FormatError> {
    let mut out = Vec::with_capacity(data.models.len());
    for (m, model) in data.models.iter().enumerate() {
        let size = [model.size.x, model.size.y, model.size.z];
        let mut lo = [i64::MAX; 3];
        let mut hi = [i64::MIN; 3];
        for v in &model.voxels {
            let p = [v.x, v.y, v.z];
            if (0..3).any(|j| u32::from(p[j]) >= size[j]) {
                return Err(FormatError::new(format!(
                    "model {m}: voxel ({}, {}, {}) lies outside its size {}×{}×{}",
                    v.x, v.y, v.z, size[0], size[1], size[2]
                )));
            }
            if usize::from(v.i) >= data.palette.len() {
                return Err(FormatError::new(format!(
                    "model {m}: colour index {} is past the palette's {} colours",
                    u32::from(v.i) + 1,
                    data.palette.len()
                )));
            }
            for j in 0..3 {
                lo[j] = lo[j].min(i64::from(p[j]));
                hi[j] = hi[j].max(i64::from(p[j]));
            }
        }
        out.push((!model.voxels.is_empty()).then_some((lo, hi)));
    }
    Ok(out)
}

/// Every shape of the scene graph, walked from the root, then the models no shape names.
fn scene_instances(data: &DotVoxData) -> Result<Vec<Instance>, FormatError> {
    let nodes = &data.scenes;
    let layer_count = data.layers.len();
    let mut seen = vec![false; nodes.len()];
    let mut named = vec![false; data.models.len()];
    let mut shapes = Vec::new();
    let mut stack = Vec::new();
    if !nodes.is_empty() {
        stack.push(Visit {
            node: 0,
            parent: None,
            transform: Transform::IDENTITY,
            layer: None,
            hidden: false,
        });
    }
    while let Some(visit) = stack.pop() {
        let i = visit.node as usize;
        let Some(node) = nodes.get(i) else {
            return Err(FormatError::new(format!(
                "scene node {} names child {i}, but the file has {} nodes",
                visit.parent.unwrap_or(0),
                nodes.len()
            )));
        };
        if std::mem::replace(&mut seen[i], true) {
            return Err(FormatError::new(format!(
                "scene node {i} is reached twice: the scene graph has a cycle or a shared node"
            )));
        }
        match node {
            SceneNode::Transform {
                attributes,
                frames,
                child,
                layer_id,
            } => {
                let local = frame_transform(i, frames.first())?;
                let transform = visit.transform.then(&local).ok_or_else(|| {
                    FormatError::new(format!("scene node {i}: translations overflow"))
                })?;
                let layer = usize::try_from(*layer_id)
                    .ok()
                    .filter(|&l| l < layer_count)
                    .or(visit.layer);
                stack.push(Visit {
                    node: *child,
                    parent: Some(i),
                    transform,
                    layer,
                    hidden: visit.hidden || is_hidden(attributes),
                });
            }
            SceneNode::Group {
                attributes,
                children,
            } => {
                let hidden = visit.hidden || is_hidden(attributes);
                for &child in children.iter().rev() {
                    stack.push(Visit {
                        node: child,
                        parent: Some(i),
                        hidden,
                        ..visit
                    });
                }
            }
            SceneNode::Shape { models, .. } => {
                let Some(first) = models.first() else {
                    continue;
                };
                let model = first.model_id as usize;
                let Some(m) = data.models.get(model) else {
                    return Err(FormatError::new(format!(
                        "scene node {i} names model {model}, but the file has {} models",
                        data.models.len()
                    )));
                };
                named[model] = true;
                let placement = visit
                    .transform
                    .place([m.size.x, m.size.y, m.size.z])
                    .ok_or_else(|| {
                        FormatError::new(format!("scene node {i}: translations overflow"))
                    })?;
                shapes.push(Instance {
                    model,
                    placement,
                    layer: visit.layer,
                    hidden: visit.hidden,
                    node: Some(i),
                });
            }
        }
    }
    // Models no shape names come first, so the scene's own voxels win where they overlap.
    let mut out: Vec<Instance> = (0..data.models.len())
        .filter(|&m| !named[m])
        .map(|model| Instance {
            model,
            placement: Placement::CORNER,
            layer: None,
            hidden: false,
            node: None,
        })
        .collect();
    out.extend(shapes);
    Ok(out)
}

fn is_hidden(attributes: &dot_vox::Dict) -> bool {
    attributes.get("_hidden").is_some_and(|v| v.trim() == "1")
}

/// The rotation and translation of a transform node's first frame.
fn frame_transform(node: usize, frame: Option<&Frame>) -> Result<Transform, FormatError> {
    let mut out = Transform::IDENTITY;
    let Some(frame) = frame else {
        return Ok(out);
    };
    if let Some(raw) = frame.attributes.get("_r") {
        let byte: u8 = raw.trim().parse().map_err(|_| {
            FormatError::new(format!("scene node {node}: rotation {raw:?} is not a byte"))
        })?;
        let (first, second) = (byte & 3, (byte >> 2) & 3);
        // dot_vox's Rotation::from_byte asserts on these, so they are refused first.
        if first == 3 || second == 3 || first == second {
            return Err(FormatError::new(format!(
                "scene node {node}: rotation byte {byte} is not a rotation"
            )));
        }
        // Column-major: `cols[c][r]` is row r of column c; each row has one entry ±1.
        let cols = Rotation::from_byte(byte).to_cols_array_2d();
        let rows = out.axis.iter_mut().zip(out.sign.iter_mut()).enumerate();
        for (row, (axis, sign)) in rows {
            let col = (0..3).find(|&c| cols[c][row] != 0.0).unwrap_or(row);
            *axis = col;
            *sign = if cols[col][row] > 0.0 { 1 } else { -1 };
        }
    }
    if let Some(raw) = frame.attributes.get("_t") {
        let p = frame.position().ok_or_else(|| {
            FormatError::new(format!(
                "scene node {node}: translation {raw:?} is not three integers"
            ))
        })?;
        out.t = [i64::from(p.x), i64::from(p.y), i64::from(p.z)];
    }
    Ok(out)
}

/// Chunk coordinates are offset by this so they pack as unsigned 17-bit fields.
const CHUNK_OFFSET: i64 = 1 << 16;

/// Packs a world position (inside the world bounds) as chunk z, y, x and the local index, so
/// sorting keys sorts chunks (z, y, x).
#[inline]
fn pack_key(p: [i64; 3]) -> u64 {
    let c = |v: i64| ((v >> 4) + CHUNK_OFFSET) as u64;
    let local = (p[0] & 15) | ((p[1] & 15) << 4) | ((p[2] & 15) << 8);
    (c(p[2]) << 46) | (c(p[1]) << 29) | (c(p[0]) << 12) | local as u64
}

fn unpack_chunk(key: u64) -> IVec3 {
    let field = |shift: u32| (((key >> shift) & ((1 << 17) - 1)) as i64 - CHUNK_OFFSET) as i32;
    IVec3::new(field(12), field(29), field(46))
}

#[inline]
fn same_chunk(a: &(u64, Color), b: &(u64, Color)) -> bool {
    a.0 >> 12 == b.0 >> 12
}

/// Cuts sorted voxel entries into chunks; a later entry for the same voxel wins.
fn build_chunks(entries: &[(u64, Color)]) -> Vec<(IVec3, Arc<ChunkData>)> {
    let mut dense = Box::new([Color::EMPTY; CHUNK_VOLUME]);
    let mut out = Vec::new();
    for group in entries.chunk_by(same_chunk) {
        for &(key, color) in group {
            dense[(key & 0xfff) as usize] = color;
        }
        let chunk = ChunkData::from_dense(&dense);
        for &(key, _) in group {
            dense[(key & 0xfff) as usize] = Color::EMPTY;
        }
        if !chunk.is_empty() {
            out.push((unpack_chunk(group[0].0), Arc::new(chunk)));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Writing.

/// The written palette: entry `k` is file index `k + 1`.
struct OutPalette {
    entries: Vec<Color>,
    /// Each world colour's file index (1 to 255).
    index: FxHashMap<Color, u8>,
    quantized: bool,
    max_error: u8,
}

impl OutPalette {
    /// The exact palette of `census` (colours sorted, with voxel counts), or a quantised one.
    fn new(census: &[(Color, u64)]) -> OutPalette {
        if census.len() <= PALETTE_COLORS {
            return OutPalette {
                entries: census.iter().map(|(c, _)| *c).collect(),
                index: census
                    .iter()
                    .enumerate()
                    .map(|(k, (c, _))| (*c, k as u8 + 1))
                    .collect(),
                quantized: false,
                max_error: 0,
            };
        }
        let entries = median_cut(census, PALETTE_COLORS);
        let mut index = FxHashMap::default();
        let mut max_error = 0u8;
        for (c, _) in census {
            let k = nearest(&entries, *c);
            let e = entries[k];
            let err = (0..4)
                .map(|ch| c.0[ch].abs_diff(e.0[ch]))
                .max()
                .unwrap_or(0);
            max_error = max_error.max(err);
            index.insert(*c, k as u8 + 1);
        }
        OutPalette {
            entries,
            index,
            quantized: true,
            max_error,
        }
    }
}

/// The index of the entry nearest `c` (squared RGBA distance, ties to the lower index).
pub fn nearest(entries: &[Color], c: Color) -> usize {
    let mut best = (u32::MAX, 0);
    for (k, e) in entries.iter().enumerate() {
        let d: u32 = (0..4)
            .map(|ch| {
                let x = u32::from(c.0[ch].abs_diff(e.0[ch]));
                x * x
            })
            .sum();
        if d < best.0 {
            best = (d, k);
        }
    }
    best.1
}

/// At most `k` colours standing for `census`: boxes in RGBA space are split at the weighted
/// median of their widest channel, the widest box first, and each box gives its weighted mean.
fn median_cut(census: &[(Color, u64)], k: usize) -> Vec<Color> {
    let mut colors = census.to_vec();
    // Boxes as ranges of `colors`, each with its widest channel and that channel's width.
    let widest = |slice: &[(Color, u64)]| -> (usize, u8) {
        (0..4)
            .map(|ch| {
                let (lo, hi) = slice.iter().fold((u8::MAX, 0u8), |(lo, hi), (c, _)| {
                    (lo.min(c.0[ch]), hi.max(c.0[ch]))
                });
                (ch, hi - lo)
            })
            .max_by_key(|&(ch, w)| (w, std::cmp::Reverse(ch)))
            .unwrap_or((0, 0))
    };
    let (ch, w) = widest(&colors);
    let mut boxes = vec![(0usize, colors.len(), ch, w)];
    while boxes.len() < k {
        let Some((b, _)) = boxes
            .iter()
            .enumerate()
            .filter(|(_, bx)| bx.1 - bx.0 > 1 && bx.3 > 0)
            .max_by_key(|(i, bx)| (bx.3, std::cmp::Reverse(*i)))
        else {
            break;
        };
        let (start, end, ch, _) = boxes[b];
        let slice = &mut colors[start..end];
        slice.sort_unstable_by_key(|(c, _)| (c.0[ch], c.0));
        let total: u64 = slice.iter().map(|(_, n)| n).sum();
        let mut acc = 0u64;
        let mut split = 1;
        for (i, (_, n)) in slice.iter().enumerate() {
            acc += n;
            if acc * 2 >= total {
                split = i + 1;
                break;
            }
        }
        let split = split.clamp(1, slice.len() - 1);
        let (a, b2) = slice.split_at(split);
        let (ca, wa) = widest(a);
        let (cb, wb) = widest(b2);
        boxes[b] = (start, start + split, ca, wa);
        boxes.push((start + split, end, cb, wb));
    }
    boxes
        .iter()
        .map(|&(start, end, _, _)| {
            let slice = &colors[start..end];
            let total: u64 = slice.iter().map(|(_, n)| n).sum::<u64>().max(1);
            let mut mean = [0u8; 4];
            for (ch, m) in mean.iter_mut().enumerate() {
                let sum: u64 = slice.iter().map(|(c, n)| u64::from(c.0[ch]) * n).sum();
                *m = ((sum + total / 2) / total) as u8;
            }
            Color(mean)
        })
        .collect()
}

/// One model to write.
struct OutModel {
    size: [u32; 3],
    /// `_t`: the model's lowest voxel corner plus half its size, rounded down.
    translation: [i32; 3],
    /// Index of its `LAYR` chunk.
    layer: u32,
    /// XYZI records: x, y, z, file colour index.
    voxels: Vec<[u8; 4]>,
}

/// Cuts a layer into 256³ blocks from its lowest corner, one model per non-empty block.
fn split_layer(layer: &LayerSnapshot, index: u32, palette: &OutPalette, out: &mut Vec<OutModel>) {
    let Some(bounds) = layer.bounding_box() else {
        return;
    };
    let origin = bounds.min;
    struct Block {
        key: IVec3,
        lo: IVec3,
        hi: IVec3,
        voxels: Vec<[u8; 4]>,
    }
    let mut blocks: Vec<Block> = Vec::new();
    let mut by_key: FxHashMap<IVec3, usize> = FxHashMap::default();
    let mut last: Option<(IVec3, usize)> = None;
    let mut last_color: Option<(Color, u8)> = None;
    for (cpos, chunk) in layer.chunks_sorted() {
        chunk.for_each_filled(|i, color| {
            let rel = voxel_pos(cpos, i) - origin;
            let key = IVec3::new(rel.x >> 8, rel.y >> 8, rel.z >> 8);
            let local = rel - key * MAX_MODEL_SIZE;
            let b = match last {
                Some((k, b)) if k == key => b,
                _ => {
                    let b = *by_key.entry(key).or_insert_with(|| {
                        blocks.push(Block {
                            key,
                            lo: local,
                            hi: local,
                            voxels: Vec::new(),
                        });
                        blocks.len() - 1
                    });
                    last = Some((key, b));
                    b
                }
            };
            let idx = match last_color {
                Some((c, idx)) if c == color => idx,
                _ => {
                    let idx = palette.index[&color];
                    last_color = Some((color, idx));
                    idx
                }
            };
            let block = &mut blocks[b];
            block.lo = block.lo.min(local);
            block.hi = block.hi.max(local);
            block
                .voxels
                .push([local.x as u8, local.y as u8, local.z as u8, idx]);
        });
    }
    blocks.sort_by_key(|b| systems::coords::zyx_key(b.key));
    for mut block in blocks {
        let lo = block.lo;
        for v in &mut block.voxels {
            v[0] -= lo.x as u8;
            v[1] -= lo.y as u8;
            v[2] -= lo.z as u8;
        }
        let size = block.hi - lo + IVec3::ONE;
        let corner = origin + block.key * MAX_MODEL_SIZE + lo;
        let t = corner + size / 2;
        out.push(OutModel {
            size: [size.x as u32, size.y as u32, size.z as u32],
            translation: t.to_array(),
            layer: index,
            voxels: block.voxels,
        });
    }
}

/// Lays out the whole file: header, MAIN, models, scene graph, layers, palette.
fn write_file(
    models: &[OutModel],
    layers: &[&LayerSnapshot],
    palette: &[Color],
) -> Result<Vec<u8>, FormatError> {
    let voxel_bytes: usize = models.iter().map(|m| 4 * m.voxels.len()).sum();
    let mut w = Writer(Vec::with_capacity(
        voxel_bytes + 100 * models.len() + 64 * layers.len() + 1100,
    ));
    w.0.extend_from_slice(b"VOX ");
    w.u32(VERSION);
    w.0.extend_from_slice(b"MAIN");
    w.u32(0);
    w.u32(0); // MAIN's children size, patched below.

    for m in models {
        w.chunk(b"SIZE", |w| m.size.iter().for_each(|&s| w.u32(s)));
        w.chunk(b"XYZI", |w| {
            w.u32(m.voxels.len() as u32);
            w.0.extend(m.voxels.iter().flatten());
        });
    }

    // Node ids: root transform 0, group 1, then a transform and a shape per model.
    w.transform(0, 1, u32::MAX, None);
    w.chunk(b"nGRP", |w| {
        w.u32(1);
        w.dict(&[]);
        w.u32(models.len() as u32);
        for k in 0..models.len() as u32 {
            w.u32(2 + 2 * k);
        }
    });
    for (k, m) in models.iter().enumerate() {
        let id = 2 + 2 * k as u32;
        let [x, y, z] = m.translation;
        w.transform(id, id + 1, m.layer, Some(&format!("{x} {y} {z}")));
        w.chunk(b"nSHP", |w| {
            w.u32(id + 1);
            w.dict(&[]);
            w.u32(1);
            w.u32(k as u32);
            w.dict(&[]);
        });
    }

    for (i, layer) in layers.iter().enumerate() {
        w.chunk(b"LAYR", |w| {
            w.u32(i as u32);
            w.dict(&[
                ("_name", &layer.name),
                ("_hidden", if layer.visible { "0" } else { "1" }),
            ]);
            w.u32(u32::MAX);
        });
    }

    // Entry k is file index k + 1; unused entries are zero.
    w.chunk(b"RGBA", |w| {
        for k in 0..256 {
            w.0.extend_from_slice(&palette.get(k).map_or([0; 4], |c| c.0));
        }
    });

    let children = u32::try_from(w.0.len() - 20)
        .map_err(|_| FormatError::new("the world is too large for one .vox file (over 4 GiB)"))?;
    w.0[16..20].copy_from_slice(&children.to_le_bytes());
    Ok(w.0)
}

/// Little-endian chunk writing.
struct Writer(Vec<u8>);

impl Writer {
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn string(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
    }

    /// A dictionary, entries in the order given.
    fn dict(&mut self, entries: &[(&str, &str)]) {
        self.u32(entries.len() as u32);
        for (k, v) in entries {
            self.string(k);
            self.string(v);
        }
    }

    /// A childless chunk whose content `f` writes.
    fn chunk(&mut self, id: &[u8; 4], f: impl FnOnce(&mut Writer)) {
        self.0.extend_from_slice(id);
        let at = self.0.len();
        self.u32(0);
        self.u32(0);
        f(self);
        let size = (self.0.len() - at - 8) as u32;
        self.0[at..at + 4].copy_from_slice(&size.to_le_bytes());
    }

    /// A transform node with one frame, translated by `t` if given.
    fn transform(&mut self, id: u32, child: u32, layer: u32, t: Option<&str>) {
        self.chunk(b"nTRN", |w| {
            w.u32(id);
            w.dict(&[]);
            w.u32(child);
            w.u32(u32::MAX);
            w.u32(layer);
            w.u32(1);
            match t {
                Some(t) => w.dict(&[("_t", t)]),
                None => w.dict(&[]),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rotation(byte: u8) -> Transform {
        let mut frame = Frame::default();
        frame.attributes.insert("_r".into(), byte.to_string());
        frame_transform(0, Some(&frame)).unwrap()
    }

    #[test]
    fn keys_pack_chunks_in_zyx_order_and_unpack_to_the_chunk() {
        for p in [
            [0, 0, 0],
            [-1, -1, -1],
            [17, -33, 1000],
            [-(1 << 20), (1 << 20) - 1, 5],
        ] {
            let key = pack_key(p);
            let chunk = IVec3::new(p[0] as i32 >> 4, p[1] as i32 >> 4, p[2] as i32 >> 4);
            assert_eq!(unpack_chunk(key), chunk, "{p:?}");
            let local =
                systems::coords::local_index(IVec3::new(p[0] as i32, p[1] as i32, p[2] as i32));
            assert_eq!((key & 0xfff) as usize, local);
        }
        assert!(pack_key([100, 0, 0]) < pack_key([0, 16, 0]));
        assert!(pack_key([0, 100, 0]) < pack_key([0, 0, 16]));
        assert!(pack_key([-16, 0, 0]) < pack_key([0, 0, 0]));
    }

    #[test]
    fn an_unrotated_model_is_centred_on_floor_half_its_size() {
        let t = Transform {
            t: [10, 20, 30],
            ..Transform::IDENTITY
        };
        let p = t.place([3, 4, 1]).unwrap();
        assert_eq!(p.apply([0, 0, 0]), [9, 18, 30]);
        assert_eq!(p.apply([2, 3, 0]), [11, 21, 30]);
    }

    #[test]
    fn rotations_turn_voxel_centres_about_the_pivot_grid_point() {
        // Bits 0-1: row 0 reads x; bits 2-3: row 1 reads y; bit 4: row 0 negated.
        let flip_x = rotation(0b1_0100);
        assert_eq!(flip_x.axis, [0, 1, 2]);
        assert_eq!(flip_x.sign, [-1, 1, 1]);
        // Even size 2: the two voxels swap places, the box stays at -1..0.
        let p = flip_x.place([2, 1, 1]).unwrap();
        assert_eq!(p.apply([0, 0, 0])[0], 0);
        assert_eq!(p.apply([1, 0, 0])[0], -1);
        // Odd size 3: centres -1, 0, 1 about the grid point 1 land on 0, -1, -2.
        let p = flip_x.place([3, 1, 1]).unwrap();
        assert_eq!([0, 1, 2].map(|x| p.apply([x, 0, 0])[0]), [0, -1, -2]);
        // A quarter turn about z: world x = -y, world y = x (row 0 reads y negated, row 1 x).
        let quarter = rotation(0b1_0001);
        assert_eq!(quarter.axis, [1, 0, 2]);
        assert_eq!(quarter.sign, [-1, 1, 1]);
        let p = quarter.place([4, 2, 1]).unwrap();
        // v = (3, 1, 0): pivot (2, 1, 0), centre offset (1.5, 0.5, 0.5) turns to (-0.5, 1.5, 0.5).
        assert_eq!(p.apply([3, 1, 0]), [-1, 1, 0]);
    }

    #[test]
    fn transforms_compose_parent_after_child() {
        let parent = Transform {
            t: [100, 0, 0],
            ..rotation(0b1_0001)
        };
        let child = Transform {
            t: [1, 2, 3],
            ..Transform::IDENTITY
        };
        let both = parent.then(&child).unwrap();
        // The child's translation is turned by the parent: (1, 2, 3) → (-2, 1, 3).
        assert_eq!(both.t, [98, 1, 3]);
        assert_eq!((both.axis, both.sign), (parent.axis, parent.sign));
        let overflow = Transform {
            t: [i64::MAX, 0, 0],
            ..Transform::IDENTITY
        };
        assert!(overflow.then(&overflow).is_none());
    }

    #[test]
    fn malformed_rotations_are_errors_before_dot_vox_sees_them() {
        for raw in ["3", "15", "255", "x", "-1", "300"] {
            let mut frame = Frame::default();
            frame.attributes.insert("_r".into(), raw.into());
            let err = frame_transform(7, Some(&frame)).unwrap_err();
            assert!(err.0.starts_with("scene node 7: rotation"), "{raw}: {err}");
        }
        let mut frame = Frame::default();
        frame.attributes.insert("_t".into(), "1 2".into());
        let err = frame_transform(2, Some(&frame)).unwrap_err();
        assert!(err.0.contains("not three integers"), "{err}");
    }

    #[test]
    fn median_cut_keeps_at_most_k_colours_and_nearest_breaks_ties_low() {
        let census: Vec<(Color, u64)> = (0..1000u32)
            .map(|i| {
                (
                    Color::rgb(
                        (i % 10 * 25) as u8,
                        (i / 10 % 10 * 25) as u8,
                        (i / 100 * 25) as u8,
                    ),
                    1 + u64::from(i % 3),
                )
            })
            .collect();
        let mut sorted = census.clone();
        sorted.sort_unstable();
        let p = median_cut(&sorted, 255);
        assert_eq!(p.len(), 255);
        assert_eq!(p, median_cut(&sorted, 255), "deterministic");
        let grey = [Color::rgb(10, 10, 10), Color::rgb(30, 30, 30)];
        assert_eq!(nearest(&grey, Color::rgb(20, 20, 20)), 0);
        assert_eq!(nearest(&grey, Color::rgb(21, 20, 20)), 1);
    }
}
