//! A script's private view of the world: the snapshot it started from plus its own edits.
//!
//! A script must read what it wrote (`addVoxel` then `getVoxel`), yet its edits may only reach the
//! world when it succeeds, as one command buffer. [`ScratchWorld`] keeps copy-on-write copies of
//! the chunks the script touched, over an immutable [`WorldSnapshot`], and records every edit
//! into the [`CommandBuffer`] that [`ScratchWorld::into_buffer`] hands to the world. Edits that
//! depend on what is there (paint, flood fill) are recorded as the plain sets they amounted to
//! in the script's view, so the committed buffer does exactly what the script saw.
//!
//! # Layers
//!
//! The view spans layers: voxel edits and reads go to the *selected* layer (at first the
//! snapshot's active one), and [`ScratchWorld::select_layer`] and [`ScratchWorld::create_layer`]
//! change it. Each layer the script selected keeps its own copied chunks, so a read after a
//! switch sees that layer with the script's edits on it. The buffer records a creation as
//! [`Edit::CreateLayer`] (which also makes the new layer the apply system's target), a switch
//! before the next voxel edit as [`Edit::TargetLayer`], and, once at the end, the selected
//! layer as [`Edit::SetActiveLayer`] when the script selected or created any.
//!
//! A new layer's id is predicted as the world gives it ([`crate::layer::free_ids`]: the lowest
//! free id from 1, the snapshot's layers and the script's earlier creations taken). The world
//! gives that same id when the buffer is applied only if its layer ids have not changed since
//! the snapshot in a way that moves the free ones: the caller checks
//! [`ScratchWorld::created_layers`] against [`VoxelWorld::next_layer_ids`] before it applies
//! the buffer, and refuses the commit when they differ, so the id a script saw is the id the
//! world ends up with. (A script buffer deletes no layer, so those are the ids it gets.)
//!
//! [`VoxelWorld::next_layer_ids`]: crate::VoxelWorld::next_layer_ids

use std::sync::Arc;

use glam::IVec3;
use rustc_hash::FxHashMap;

use crate::color::Color;
use crate::coords::{CHUNK_SIZE, VoxelBox, split};
use crate::edit::{CommandBuffer, Edit, EditError, EditLimits, Shape, Source};
use crate::flood::flood_region;
use crate::layer::{LayerId, free_ids};
use crate::shapes::row_span;
use crate::snapshot::WorldSnapshot;
use crate::storage::ChunkData;

/// Most layers one script may create (each is an entity of the world once committed).
pub const MAX_NEW_LAYERS: usize = 1024;

/// One layer as a script sees it: the snapshot's, or one the script created, with the
/// script's visibility changes and edits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScratchLayer {
    /// Layer id.
    pub id: LayerId,
    /// Layer name.
    pub name: String,
    /// Whether it is shown.
    pub visible: bool,
    /// Stacking order.
    pub order: i32,
    /// Non-empty voxels.
    pub voxel_count: u64,
}

/// A layer the script created: not in the snapshot, empty until the script draws in it.
#[derive(Clone, Debug)]
struct NewLayer {
    id: LayerId,
    name: Box<str>,
    order: i32,
}

/// The script's copies of one layer's chunks (made on first write) and its voxel balance.
#[derive(Debug)]
struct LayerEdits {
    id: LayerId,
    voxel_delta: i64,
    slots: Vec<(IVec3, Arc<ChunkData>)>,
    slot_of: FxHashMap<IVec3, usize>,
    cur: Option<(IVec3, usize)>,
}

impl LayerEdits {
    fn new(id: LayerId) -> LayerEdits {
        LayerEdits {
            id,
            voxel_delta: 0,
            slots: Vec::new(),
            slot_of: FxHashMap::default(),
            cur: None,
        }
    }
}

/// A snapshot plus a script's own edits, across layers.
pub struct ScratchWorld {
    base: Arc<WorldSnapshot>,
    limits: EditLimits,
    /// Most voxel edits the script may make (its `max_edits` limit).
    max_edits: u64,
    edit_count: u64,
    /// The selected layer: where voxel edits go and what reads see.
    layer: LayerId,
    /// The selected layer's edits (kept here, not in `others`, so the hot path reaches them
    /// without an index).
    edits: LayerEdits,
    /// The edits of the other layers the script has selected.
    others: Vec<LayerEdits>,
    /// The layer the buffer's voxel edits act on at its end so far (the apply system's target).
    target: LayerId,
    /// Layers created by the script, in order (their ids ascending).
    created: Vec<NewLayer>,
    /// Whether the script selected or created a layer (the buffer then ends by activating it).
    selected: bool,
    buffer: CommandBuffer,
    /// Layer visibility changes made by the script, newest last.
    visibility: Vec<(LayerId, bool)>,
}

impl ScratchWorld {
    /// A scratch view of `base` editing its active layer.
    pub fn new(base: Arc<WorldSnapshot>, limits: EditLimits, max_edits: u64) -> ScratchWorld {
        let layer = base.active_layer;
        ScratchWorld {
            base,
            limits,
            max_edits,
            edit_count: 0,
            layer,
            edits: LayerEdits::new(layer),
            others: Vec::new(),
            target: layer,
            created: Vec::new(),
            selected: false,
            visibility: Vec::new(),
            buffer: CommandBuffer {
                layer: Some(layer),
                ..CommandBuffer::new(Source::Script)
            },
        }
    }

    /// The selected layer: the one the script edits and reads.
    pub fn layer(&self) -> LayerId {
        self.layer
    }

    /// The snapshot the script started from.
    pub fn base(&self) -> &Arc<WorldSnapshot> {
        &self.base
    }

    /// Voxel edits made so far (each voxel a box or shape covers counts).
    pub fn edit_count(&self) -> u64 {
        self.edit_count
    }

    /// Whether `layer` exists as the script sees it (the snapshot's, or created by the script).
    pub fn has_layer(&self, layer: LayerId) -> bool {
        self.base.layer(layer).is_some() || self.created.iter().any(|l| l.id == layer)
    }

    /// The layers the script created, in order, with the ids the world must give them.
    pub fn created_layers(&self) -> Vec<LayerId> {
        self.created.iter().map(|l| l.id).collect()
    }

    /// Creates a layer named `name` over all others and selects it; returns its id (the lowest
    /// free one, as the world gives it: see the module docs).
    pub fn create_layer(&mut self, name: &str) -> Result<LayerId, EditError> {
        if self.created.len() >= MAX_NEW_LAYERS {
            return Err(EditError::TooManyLayers {
                limit: MAX_NEW_LAYERS as u64,
            });
        }
        let taken = self.base.layers().map(|l| l.id);
        let id = *free_ids(taken, self.created.len() + 1)
            .last()
            .expect("one id asked for at least");
        let order = self
            .base
            .layers()
            .map(|l| l.order)
            .chain(self.created.iter().map(|l| l.order))
            .max()
            .map_or(0, |o| o.saturating_add(1));
        self.buffer
            .edits
            .push(Edit::CreateLayer { name: name.into() });
        // Applying a creation makes the new layer the buffer's target.
        self.target = id;
        self.created.push(NewLayer {
            id,
            name: name.into(),
            order,
        });
        self.select(id);
        Ok(id)
    }

    /// Makes `layer` the one later edits go to and reads see, and the world's active layer once
    /// the buffer is applied.
    pub fn select_layer(&mut self, layer: LayerId) -> Result<(), EditError> {
        if !self.has_layer(layer) {
            return Err(EditError::UnknownLayer(layer.0));
        }
        self.select(layer);
        Ok(())
    }

    fn select(&mut self, layer: LayerId) {
        self.selected = true;
        if layer == self.layer {
            return;
        }
        self.layer = layer;
        let next = match self.others.iter().position(|l| l.id == layer) {
            Some(i) => self.others.swap_remove(i),
            None => LayerEdits::new(layer),
        };
        let previous = std::mem::replace(&mut self.edits, next);
        self.others.push(previous);
    }

    /// Records a voxel edit for the selected layer, retargeting the buffer first if needed.
    #[inline]
    fn record(&mut self, edit: Edit) {
        if self.target != self.layer {
            self.buffer.edits.push(Edit::TargetLayer(self.layer));
            self.target = self.layer;
        }
        self.buffer.edits.push(edit);
    }

    /// Shows or hides `layer` (recorded in the buffer; voxel reads are not affected).
    pub fn set_layer_visible(&mut self, layer: LayerId, visible: bool) -> Result<(), EditError> {
        if !self.has_layer(layer) {
            return Err(EditError::UnknownLayer(layer.0));
        }
        self.buffer
            .edits
            .push(Edit::SetLayerVisible { layer, visible });
        self.visibility.retain(|(l, _)| *l != layer);
        self.visibility.push((layer, visible));
        Ok(())
    }

    /// Whether `layer` is shown as the script sees it (`None`: no such layer).
    pub fn layer_visible(&self, layer: LayerId) -> Option<bool> {
        let base = match self.base.layer(layer) {
            Some(l) => l.visible,
            None => {
                self.created.iter().find(|l| l.id == layer)?;
                true
            }
        };
        Some(
            self.visibility
                .iter()
                .find(|(l, _)| *l == layer)
                .map_or(base, |(_, v)| *v),
        )
    }

    /// Every layer as the script sees it, bottom to top (by order, then id).
    pub fn layers(&self) -> Vec<ScratchLayer> {
        let mut out: Vec<ScratchLayer> = self
            .base
            .layers()
            .map(|l| (l.id, l.name.clone(), l.order))
            .chain(
                self.created
                    .iter()
                    .map(|l| (l.id, l.name.to_string(), l.order)),
            )
            .map(|(id, name, order)| ScratchLayer {
                id,
                name,
                visible: self.layer_visible(id).unwrap_or(true),
                order,
                voxel_count: self.layer_voxel_count(id),
            })
            .collect();
        out.sort_by_key(|l| (l.order, l.id));
        out
    }

    /// The edits made, as one buffer for the world: when the script selected or created a
    /// layer, it ends by making the selected layer the active one.
    pub fn into_buffer(mut self) -> CommandBuffer {
        if self.selected {
            self.buffer.edits.push(Edit::SetActiveLayer(self.layer));
        }
        self.buffer
    }

    /// The colour at `pos` in the selected layer as the script sees it.
    #[inline]
    pub fn get(&self, pos: IVec3) -> Color {
        let (c, i) = split(pos);
        let v = &self.edits;
        if let Some((k, s)) = v.cur
            && k == c
        {
            return v.slots[s].1.get(i);
        }
        match v.slot_of.get(&c) {
            Some(&s) => v.slots[s].1.get(i),
            None => self.base.voxel(self.layer, pos),
        }
    }

    fn charge(&mut self, n: u64) -> Result<(), EditError> {
        self.edit_count = self.edit_count.saturating_add(n);
        if self.edit_count > self.max_edits {
            return Err(EditError::TooManyVoxels {
                count: self.edit_count,
                limit: self.max_edits,
            });
        }
        Ok(())
    }

    fn check_bounds(&self, region: &VoxelBox) -> Result<(), EditError> {
        let b = &self.limits.bounds;
        if b.contains_box(region) {
            Ok(())
        } else {
            let pos = if b.contains(region.min) {
                region.max
            } else {
                region.min
            };
            Err(EditError::OutOfBounds {
                pos,
                min: b.min,
                max: b.max,
            })
        }
    }

    #[inline]
    fn write(&mut self, pos: IVec3, color: Color) -> Color {
        let (c, i) = split(pos);
        let base = &self.base;
        let v = &mut self.edits;
        let s = match v.cur {
            Some((k, s)) if k == c => s,
            _ => {
                let s = match v.slot_of.get(&c) {
                    Some(&s) => s,
                    None => {
                        // A layer the script created is not in the snapshot: empty.
                        let data = base
                            .layer(v.id)
                            .and_then(|l| l.chunk(c).cloned())
                            .unwrap_or_else(|| Arc::new(ChunkData::empty()));
                        v.slots.push((c, data));
                        v.slot_of.insert(c, v.slots.len() - 1);
                        v.slots.len() - 1
                    }
                };
                v.cur = Some((c, s));
                s
            }
        };
        let old = Arc::make_mut(&mut v.slots[s].1).set(i, color);
        v.voxel_delta += (!color.is_empty()) as i64 - (!old.is_empty()) as i64;
        old
    }

    /// Sets one voxel (the empty colour removes it).
    pub fn set(&mut self, pos: IVec3, color: Color) -> Result<(), EditError> {
        let color = color.canonical();
        self.check_bounds(&VoxelBox::point(pos))?;
        self.charge(1)?;
        self.write(pos, color);
        self.record(Edit::Set { pos, color });
        Ok(())
    }

    /// Recolours one voxel if it exists; returns whether it did.
    pub fn paint(&mut self, pos: IVec3, color: Color) -> Result<bool, EditError> {
        if self.get(pos).is_empty() {
            return Ok(false);
        }
        self.set(pos, color)?;
        Ok(true)
    }

    /// Fills a box; returns the voxels it covers.
    pub fn fill_box(&mut self, region: VoxelBox, color: Color) -> Result<u64, EditError> {
        self.fill_shape(Shape::Cube, region, color)
    }

    /// Fills a solid inscribed in a box; returns the voxels it covers.
    pub fn fill_shape(
        &mut self,
        shape: Shape,
        region: VoxelBox,
        color: Color,
    ) -> Result<u64, EditError> {
        let color = color.canonical();
        self.check_bounds(&region)?;
        self.charge(region.volume())?;
        let mut n = 0;
        for z in region.min.z..=region.max.z {
            for y in region.min.y..=region.max.y {
                if let Some((lo, hi)) = row_span(shape, &region, y, z) {
                    for x in lo..=hi {
                        self.write(IVec3::new(x, y, z), color);
                    }
                    n += (hi - lo + 1) as u64;
                }
            }
        }
        self.record(if shape == Shape::Cube {
            Edit::FillBox { region, color }
        } else {
            Edit::Shape {
                shape,
                region,
                color,
            }
        });
        Ok(n)
    }

    /// Recolours the 6-connected same-colour region at `pos` inside `bounds`; returns its size.
    pub fn flood_fill(
        &mut self,
        pos: IVec3,
        color: Color,
        bounds: VoxelBox,
    ) -> Result<u64, EditError> {
        let color = color.canonical();
        let Some(bounds) = bounds.intersect(&self.limits.bounds) else {
            return Ok(0);
        };
        if !bounds.contains(pos) {
            return Ok(0);
        }
        let from = self.get(pos);
        if from == color {
            return Ok(0);
        }
        let limit = self
            .limits
            .flood_fill_limit
            .min(self.max_edits.saturating_sub(self.edit_count));
        let region = flood_region(pos, &bounds, limit, |p| self.get(p))?;
        let n = region.len() as u64;
        for p in region {
            self.set(p, color)?;
        }
        Ok(n)
    }

    /// Non-empty voxels of the selected layer as the script sees it.
    pub fn voxel_count(&self) -> u64 {
        self.layer_voxel_count(self.layer)
    }

    /// Non-empty voxels of `layer` as the script sees it (0 for no such layer).
    pub fn layer_voxel_count(&self, layer: LayerId) -> u64 {
        let base = self.base.layer(layer).map_or(0, |l| l.voxel_count()) as i64;
        let delta = std::iter::once(&self.edits)
            .chain(&self.others)
            .find(|l| l.id == layer)
            .map_or(0, |l| l.voxel_delta);
        (base + delta).max(0) as u64
    }

    /// Bounds of the selected layer's voxels as the script sees them.
    pub fn bounding_box(&self) -> Option<VoxelBox> {
        let mut out: Option<VoxelBox> = None;
        let mut add = |pos: IVec3, data: &ChunkData| {
            if let Some(b) = data.local_bounds() {
                let o = pos * CHUNK_SIZE;
                let b = VoxelBox {
                    min: b.min + o,
                    max: b.max + o,
                };
                out = Some(out.map_or(b, |x| x.union(&b)));
            }
        };
        let v = &self.edits;
        if let Some(l) = self.base.layer(self.layer) {
            for (pos, data) in l.chunks_sorted() {
                if !v.slot_of.contains_key(&pos) {
                    add(pos, data);
                }
            }
        }
        for (pos, data) in &v.slots {
            add(*pos, data);
        }
        out
    }
}
