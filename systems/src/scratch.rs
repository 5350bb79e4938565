//! A script's private view of the world: the snapshot it started from plus its own edits.
//!
//! A script must read what it wrote (`addVoxel` then `getVoxel`), yet its edits may only reach the
//! world when it succeeds, as one command buffer. [`ScratchWorld`] keeps copy-on-write copies of
//! the chunks the script touched, over an immutable [`WorldSnapshot`], and records every edit
//! into the [`CommandBuffer`] that [`ScratchWorld::into_buffer`] hands to the world. Edits that
//! depend on what is there (paint, flood fill) are recorded as the plain sets they amounted to
//! in the script's view, so the committed buffer does exactly what the script saw.

use std::sync::Arc;

use glam::IVec3;
use rustc_hash::FxHashMap;

use crate::color::Color;
use crate::coords::{CHUNK_SIZE, VoxelBox, split};
use crate::edit::{CommandBuffer, Edit, EditError, EditLimits, Shape, Source};
use crate::flood::flood_region;
use crate::layer::LayerId;
use crate::shapes::row_span;
use crate::snapshot::WorldSnapshot;
use crate::storage::ChunkData;

/// A snapshot plus a script's own edits, on one layer.
pub struct ScratchWorld {
    base: Arc<WorldSnapshot>,
    layer: LayerId,
    limits: EditLimits,
    /// Most voxel edits the script may make (its `max_edits` limit).
    max_edits: u64,
    edit_count: u64,
    voxel_delta: i64,
    slots: Vec<(IVec3, Arc<ChunkData>)>,
    slot_of: FxHashMap<IVec3, usize>,
    cur: Option<(IVec3, usize)>,
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
            layer,
            limits,
            max_edits,
            edit_count: 0,
            voxel_delta: 0,
            slots: Vec::new(),
            slot_of: FxHashMap::default(),
            cur: None,
            visibility: Vec::new(),
            buffer: CommandBuffer {
                layer: Some(layer),
                ..CommandBuffer::new(Source::Script)
            },
        }
    }

    /// The layer the script edits.
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

    /// Shows or hides `layer` (recorded in the buffer; voxel reads are not affected).
    pub fn set_layer_visible(&mut self, layer: LayerId, visible: bool) -> Result<(), EditError> {
        if self.base.layer(layer).is_none() {
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
        let base = self.base.layer(layer)?.visible;
        Some(
            self.visibility
                .iter()
                .find(|(l, _)| *l == layer)
                .map_or(base, |(_, v)| *v),
        )
    }

    /// The edits made, as one buffer for the world.
    pub fn into_buffer(self) -> CommandBuffer {
        self.buffer
    }

    /// The colour at `pos` as the script sees it.
    #[inline]
    pub fn get(&self, pos: IVec3) -> Color {
        let (c, i) = split(pos);
        if let Some((k, s)) = self.cur
            && k == c
        {
            return self.slots[s].1.get(i);
        }
        match self.slot_of.get(&c) {
            Some(&s) => self.slots[s].1.get(i),
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
        let s = match self.cur {
            Some((k, s)) if k == c => s,
            _ => {
                let s = match self.slot_of.get(&c) {
                    Some(&s) => s,
                    None => {
                        let data = self
                            .base
                            .layer(self.layer)
                            .and_then(|l| l.chunk(c).cloned())
                            .unwrap_or_else(|| Arc::new(ChunkData::empty()));
                        self.slots.push((c, data));
                        self.slot_of.insert(c, self.slots.len() - 1);
                        self.slots.len() - 1
                    }
                };
                self.cur = Some((c, s));
                s
            }
        };
        let old = Arc::make_mut(&mut self.slots[s].1).set(i, color);
        self.voxel_delta += (!color.is_empty()) as i64 - (!old.is_empty()) as i64;
        old
    }

    /// Sets one voxel (the empty colour removes it).
    pub fn set(&mut self, pos: IVec3, color: Color) -> Result<(), EditError> {
        let color = color.canonical();
        self.check_bounds(&VoxelBox::point(pos))?;
        self.charge(1)?;
        self.write(pos, color);
        self.buffer.edits.push(Edit::Set { pos, color });
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
        self.buffer.edits.push(if shape == Shape::Cube {
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

    /// Non-empty voxels of the layer as the script sees it.
    pub fn voxel_count(&self) -> u64 {
        let base = self.base.layer(self.layer).map_or(0, |l| l.voxel_count()) as i64;
        (base + self.voxel_delta).max(0) as u64
    }

    /// Bounds of the layer's voxels as the script sees them.
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
        if let Some(l) = self.base.layer(self.layer) {
            for (pos, data) in l.chunks_sorted() {
                if !self.slot_of.contains_key(&pos) {
                    add(pos, data);
                }
            }
        }
        for (pos, data) in &self.slots {
            add(*pos, data);
        }
        out
    }
}
