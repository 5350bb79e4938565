//! Applying command buffers to the world: the one system that changes voxels.
//!
//! [`apply_command_buffers`] drains [`PendingBuffers`] in order. Each buffer is checked against the
//! [`EditLimits`] first, then applied edit by edit through an [`Applier`], which keeps the chunks
//! the buffer touches in a small working set (so consecutive edits in one chunk cost no lookup)
//! and remembers each chunk's prior state. That prior state is the buffer's inverse: undo restores
//! it exactly, and an edit that fails half-way (an unknown layer, a flood fill over its limit)
//! rolls the world back with it, so a refused buffer leaves the world unchanged.

use std::collections::VecDeque;
use std::sync::Arc;

use bevy_ecs::component::Component;
use bevy_ecs::entity::Entity;
use bevy_ecs::resource::Resource;
use bevy_ecs::world::World;
use glam::IVec3;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::color::Color;
use crate::coords::{CHUNK_SIZE, ChunkPos, VoxelBox, split};
use crate::edit::{
    Applied, BufferOutcome, CommandBuffer, Displaced, Edit, EditError, EditLimits, HistoryMode,
    PendingBuffer, Shape,
};
use crate::flood::flood_region;
use crate::index::ChunkIndex;
use crate::layer::{ActiveLayer, LayerId, LayerIndex, LayerInfo};
use crate::shapes::row_span;
use crate::storage::ChunkData;

/// The voxels of a chunk entity, shared copy-on-write with snapshots and undo history.
#[derive(Component, Clone, Debug)]
pub struct ChunkVoxels(pub Arc<ChunkData>);

/// Buffers waiting for the next update, in the order they will be applied.
#[derive(Resource, Debug, Default)]
pub struct PendingBuffers(pub Vec<PendingBuffer>);

/// Results of the buffers applied by the last updates, in order; the caller drains it.
#[derive(Resource, Debug, Default)]
pub struct AppliedBuffers(pub Vec<Applied>);

/// The sequence number of the last applied buffer (0 before the first).
#[derive(Resource, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorldSeq(pub u64);

/// Limits for edits, from the server settings.
#[derive(Resource, Clone, Copy, Debug, Default)]
pub struct WorldLimits(pub EditLimits);

/// Chunks and layers changed since the last snapshot was published.
#[derive(Resource, Debug, Default)]
pub struct DirtyChunks {
    /// Chunks whose content changed (or that appeared or vanished).
    pub chunks: FxHashSet<(LayerId, IVec3)>,
    /// Whether layer metadata (the set of layers, names, visibility, order, active) changed.
    pub layers: bool,
}

/// Inverse buffers for undo and redo.
#[derive(Resource, Debug)]
pub struct UndoHistory {
    /// Inverses of recorded buffers, oldest first.
    pub undo: VecDeque<CommandBuffer>,
    /// Inverses of undone buffers, most recent last.
    pub redo: Vec<CommandBuffer>,
    /// Most undo steps kept.
    pub depth: usize,
    /// What the last applied buffer took out of the history; [`VoxelWorld::apply`] moves it
    /// into the buffer's [`Applied`], the next buffer replaces it.
    ///
    /// [`VoxelWorld::apply`]: crate::VoxelWorld::apply
    pub displaced: Displaced,
}

impl Default for UndoHistory {
    fn default() -> UndoHistory {
        UndoHistory {
            undo: VecDeque::new(),
            redo: Vec::new(),
            depth: 256,
            displaced: Displaced::default(),
        }
    }
}

/// Applies every pending buffer, in order, and records each result in [`AppliedBuffers`].
pub fn apply_command_buffers(world: &mut World) {
    let pending = std::mem::take(&mut world.resource_mut::<PendingBuffers>().0);
    for PendingBuffer { ticket, buffer } in pending {
        let applied = apply_with_history(world, ticket, buffer);
        world.resource_mut::<AppliedBuffers>().0.push(applied);
    }
}

fn apply_with_history(world: &mut World, ticket: u64, buffer: CommandBuffer) -> Applied {
    let history = buffer.history;
    world.resource_mut::<UndoHistory>().displaced = Displaced::default();
    let (result, effective) = match history {
        HistoryMode::Record | HistoryMode::Skip => {
            let result = apply_buffer(world, &buffer).map(|(outcome, inverse)| {
                let mut h = world.resource_mut::<UndoHistory>();
                if history == HistoryMode::Record {
                    let redo = std::mem::take(&mut h.redo);
                    h.undo.push_back(inverse);
                    let mut evicted = None;
                    while h.undo.len() > h.depth {
                        evicted = h.undo.pop_front();
                    }
                    // With no history at all (depth 0) the step pushed out is this very inverse.
                    let (evicted, inverse) = if h.undo.is_empty() {
                        (None, evicted)
                    } else {
                        (evicted, None)
                    };
                    h.displaced = Displaced {
                        redo,
                        evicted,
                        inverse,
                    };
                } else {
                    h.displaced.inverse = Some(inverse);
                }
                outcome
            });
            (result, None)
        }
        HistoryMode::Undo | HistoryMode::Redo => {
            let undo = history == HistoryMode::Undo;
            let popped = {
                let mut h = world.resource_mut::<UndoHistory>();
                if undo {
                    h.undo.pop_back()
                } else {
                    h.redo.pop()
                }
            };
            match popped {
                None => {
                    let err = if undo {
                        EditError::NothingToUndo
                    } else {
                        EditError::NothingToRedo
                    };
                    (Err(err), None)
                }
                Some(mut step) => {
                    step.source = buffer.source;
                    step.history = HistoryMode::Skip;
                    match apply_buffer(world, &step) {
                        Ok((outcome, inverse)) => {
                            let mut h = world.resource_mut::<UndoHistory>();
                            if undo {
                                h.redo.push(inverse)
                            } else {
                                h.undo.push_back(inverse)
                            }
                            (Ok(outcome), Some(step))
                        }
                        Err(e) => {
                            let mut h = world.resource_mut::<UndoHistory>();
                            if undo {
                                h.undo.push_back(step)
                            } else {
                                h.redo.push(step)
                            }
                            (Err(e), None)
                        }
                    }
                }
            }
        }
    };
    Applied {
        ticket,
        result,
        effective,
        history,
        displaced: Displaced::default(),
    }
}

/// Checks a buffer against the limits without touching the world.
pub fn check_limits(buffer: &CommandBuffer, limits: &EditLimits) -> Result<(), EditError> {
    let mut budget = 0u64;
    for edit in &buffer.edits {
        budget = budget.saturating_add(edit.voxel_budget());
        if let Some(extent) = edit.extent()
            && !limits.bounds.contains_box(&extent)
        {
            let pos = if limits.bounds.contains(extent.min) {
                extent.max
            } else {
                extent.min
            };
            return Err(EditError::OutOfBounds {
                pos,
                min: limits.bounds.min,
                max: limits.bounds.max,
            });
        }
    }
    if budget > limits.max_voxels {
        return Err(EditError::TooManyVoxels {
            count: budget,
            limit: limits.max_voxels,
        });
    }
    Ok(())
}

/// Applies one buffer all-or-nothing, stamping the next sequence number. Returns the outcome
/// and the inverse buffer.
pub fn apply_buffer(
    world: &mut World,
    buffer: &CommandBuffer,
) -> Result<(BufferOutcome, CommandBuffer), EditError> {
    let limits = world.resource::<WorldLimits>().0;
    check_limits(buffer, &limits)?;
    let mut applier = Applier::new(world, limits);
    let result = applier.run(buffer);
    match result {
        Ok(()) => {
            let (outcome, inverse_edits) = applier.finish();
            let mut seq = world.resource_mut::<WorldSeq>();
            seq.0 += 1;
            let outcome = BufferOutcome {
                seq: seq.0,
                ..outcome
            };
            let inverse = CommandBuffer {
                edits: inverse_edits,
                layer: None,
                source: buffer.source,
                history: HistoryMode::Skip,
            };
            Ok((outcome, inverse))
        }
        Err(e) => {
            let (_, inverse_edits) = applier.finish();
            let mut rollback = Applier::new(
                world,
                EditLimits {
                    max_voxels: u64::MAX,
                    ..limits
                },
            );
            for edit in &inverse_edits {
                // Inverse edits only restore recorded states; they cannot fail.
                let _ = rollback.edit(edit);
            }
            rollback.finish();
            Err(e)
        }
    }
}

struct Slot {
    layer: LayerId,
    pos: IVec3,
    entity: Option<Entity>,
    data: Arc<ChunkData>,
    prior: Option<Arc<ChunkData>>,
    dirty: bool,
}

const NO_SLOT: usize = usize::MAX;

/// Applies edits to a world, chunk by chunk, recording what it changed.
pub struct Applier<'w> {
    world: &'w mut World,
    limits: EditLimits,
    target: LayerId,
    slots: Vec<Slot>,
    slot_of: FxHashMap<(LayerId, IVec3), usize>,
    cur: usize,
    cur_key: (LayerId, IVec3),
    changed: u64,
    lo: IVec3,
    hi: IVec3,
    /// Inverse edits in application order; reversed at the end.
    inverse: Vec<Edit>,
    created: Vec<LayerId>,
}

impl<'w> Applier<'w> {
    /// An applier targeting the active layer.
    pub fn new(world: &'w mut World, limits: EditLimits) -> Applier<'w> {
        let target = world.resource::<ActiveLayer>().0;
        Applier {
            world,
            limits,
            target,
            slots: Vec::new(),
            slot_of: FxHashMap::default(),
            cur: NO_SLOT,
            cur_key: (LayerId(u32::MAX), IVec3::ZERO),
            changed: 0,
            lo: IVec3::MAX,
            hi: IVec3::MIN,
            inverse: Vec::new(),
            created: Vec::new(),
        }
    }

    fn run(&mut self, buffer: &CommandBuffer) -> Result<(), EditError> {
        if let Some(layer) = buffer.layer {
            self.edit(&Edit::TargetLayer(layer))?;
        } else {
            self.require_layer(self.target)?;
        }
        let edits = &buffer.edits[..];
        let mut i = 0;
        while i < edits.len() {
            if let Edit::Set { .. } = edits[i] {
                i += self.set_run(&edits[i..]);
            } else {
                self.edit(&edits[i])?;
                i += 1;
            }
        }
        // A buffer may delete every layer on its way (a project load does), but the world it
        // leaves has at least one, and an active one.
        if self.world.resource::<LayerIndex>().by_id.is_empty() {
            return Err(EditError::LastLayer);
        }
        let active = self.world.resource::<ActiveLayer>().0;
        if !self
            .world
            .resource::<LayerIndex>()
            .by_id
            .contains_key(&active)
        {
            let top = self.top_layer().expect("a layer exists");
            self.world.resource_mut::<ActiveLayer>().0 = top;
            self.world.resource_mut::<DirtyChunks>().layers = true;
        }
        Ok(())
    }

    /// Applies the leading run of [`Edit::Set`]s of `edits`, holding each chunk across the
    /// consecutive edits that fall in it. Returns how many edits it consumed.
    fn set_run(&mut self, edits: &[Edit]) -> usize {
        let mut n = 0;
        while let Some(&Edit::Set { pos, color }) = edits.get(n) {
            let (cpos, _) = split(pos);
            let Some(s) = self.slot(cpos, !color.is_empty()) else {
                n += 1;
                continue;
            };
            let slot = &mut self.slots[s];
            let data = Arc::make_mut(&mut slot.data);
            let (mut lo, mut hi, mut changed) = (self.lo, self.hi, 0u64);
            while let Some(&Edit::Set { pos, color }) = edits.get(n) {
                let (c, i) = split(pos);
                if c != cpos {
                    break;
                }
                let color = color.canonical();
                if color.is_empty() && data.is_empty() {
                    n += 1;
                    continue;
                }
                let old = data.set(i, color);
                if old != color {
                    changed += 1;
                    lo = lo.min(pos);
                    hi = hi.max(pos);
                }
                n += 1;
            }
            slot.dirty |= changed > 0;
            self.changed += changed;
            self.lo = lo;
            self.hi = hi;
        }
        n
    }

    /// Writes back the working set and returns the outcome (without seq) and the inverse edits.
    fn finish(mut self) -> (BufferOutcome, Vec<Edit>) {
        self.flush();
        let bounds = (self.changed > 0).then_some(VoxelBox {
            min: self.lo,
            max: self.hi,
        });
        let mut inverse = std::mem::take(&mut self.inverse);
        inverse.reverse();
        let outcome = BufferOutcome {
            seq: 0,
            changed_count: self.changed,
            bounds,
            created_layers: std::mem::take(&mut self.created),
        };
        (outcome, inverse)
    }

    fn require_layer(&self, layer: LayerId) -> Result<Entity, EditError> {
        self.world
            .resource::<LayerIndex>()
            .by_id
            .get(&layer)
            .copied()
            .ok_or(EditError::UnknownLayer(layer.0))
    }

    /// Applies one edit.
    pub fn edit(&mut self, edit: &Edit) -> Result<(), EditError> {
        match edit {
            Edit::Set { pos, color } => self.set(*pos, *color),
            Edit::Paint { pos, color } => {
                if !self.get(self.target, *pos).is_empty() {
                    self.set(*pos, *color);
                }
            }
            Edit::FillBox { region, color } => self.fill_box(region, color.canonical()),
            Edit::Shape {
                shape,
                region,
                color,
            } => self.fill_shape(*shape, region, color.canonical()),
            Edit::FloodFill { pos, color, bounds } => {
                self.flood_fill(*pos, color.canonical(), bounds)?
            }
            Edit::TargetLayer(layer) => {
                self.require_layer(*layer)?;
                self.target = *layer;
            }
            Edit::CreateLayer { name } => {
                let id = self.world.resource::<LayerIndex>().lowest_free_id();
                let order = self.max_order().map_or(0, |o| o.saturating_add(1));
                self.spawn_layer(
                    id,
                    LayerInfo {
                        name: name.to_string(),
                        visible: true,
                        order,
                    },
                );
                self.inverse.push(Edit::DeleteLayer(id));
                self.created.push(id);
                self.target = id;
            }
            Edit::RestoreLayer {
                layer,
                name,
                visible,
                order,
            } => {
                if self
                    .world
                    .resource::<LayerIndex>()
                    .by_id
                    .contains_key(layer)
                {
                    self.set_layer_info(*layer, |i| {
                        *i = LayerInfo {
                            name: name.to_string(),
                            visible: *visible,
                            order: *order,
                        }
                    })?;
                } else {
                    let info = LayerInfo {
                        name: name.to_string(),
                        visible: *visible,
                        order: *order,
                    };
                    self.spawn_layer(*layer, info);
                    self.inverse.push(Edit::DeleteLayer(*layer));
                }
            }
            Edit::DeleteLayer(layer) => self.delete_layer(*layer)?,
            Edit::RenameLayer { layer, name } => {
                self.set_layer_info(*layer, |i| i.name = name.to_string())?;
            }
            Edit::SetLayerVisible { layer, visible } => {
                self.set_layer_info(*layer, |i| i.visible = *visible)?;
            }
            Edit::SetActiveLayer(layer) => {
                self.require_layer(*layer)?;
                let old =
                    std::mem::replace(&mut self.world.resource_mut::<ActiveLayer>().0, *layer);
                if old != *layer {
                    self.world.resource_mut::<DirtyChunks>().layers = true;
                    // With no active layer (all deleted earlier in this buffer), undoing the
                    // deletions brings the old one back.
                    if self.world.resource::<LayerIndex>().by_id.contains_key(&old) {
                        self.inverse.push(Edit::SetActiveLayer(old));
                    }
                }
            }
            Edit::MergeLayers { source, target } => {
                if source == target {
                    return Err(EditError::MergeIntoSelf(source.0));
                }
                self.require_layer(*source)?;
                self.require_layer(*target)?;
                let saved_target = self.target;
                self.target = *target;
                for (pos, data) in self.layer_chunks(*source) {
                    let origin = pos * CHUNK_SIZE;
                    data.for_each_filled(|i, c| {
                        let p = crate::coords::voxel_pos(IVec3::ZERO, i) + origin;
                        let under = self.get(*target, p);
                        self.set(p, c.over(under));
                    });
                }
                self.target = saved_target;
                self.delete_layer(*source)?;
            }
            Edit::RestoreChunk { layer, pos, data } => {
                self.require_layer(*layer)?;
                self.restore_chunk(*layer, *pos, data.clone());
            }
        }
        Ok(())
    }

    /// The colour at `pos` in `layer`, as this buffer has left it so far.
    pub fn get(&self, layer: LayerId, pos: IVec3) -> Color {
        let (cpos, i) = split(pos);
        if let Some(&s) = self.slot_of.get(&(layer, cpos)) {
            return self.slots[s].data.get(i);
        }
        match self.world.resource::<ChunkIndex>().get(layer, cpos) {
            Some(e) => self
                .world
                .get::<ChunkVoxels>(e)
                .map_or(Color::EMPTY, |c| c.0.get(i)),
            None => Color::EMPTY,
        }
    }

    /// The working-set slot of chunk `cpos` in the target layer, creating the chunk if asked.
    #[inline]
    fn slot(&mut self, cpos: IVec3, create: bool) -> Option<usize> {
        let key = (self.target, cpos);
        if self.cur != NO_SLOT && self.cur_key == key {
            return Some(self.cur);
        }
        let s = match self.slot_of.get(&key) {
            Some(&s) => s,
            None => {
                let entity = self.world.resource::<ChunkIndex>().get(key.0, cpos);
                let prior = entity
                    .and_then(|e| self.world.get::<ChunkVoxels>(e))
                    .map(|c| c.0.clone());
                if prior.is_none() && !create {
                    return None;
                }
                let data = prior
                    .clone()
                    .unwrap_or_else(|| Arc::new(ChunkData::empty()));
                self.slots.push(Slot {
                    layer: key.0,
                    pos: cpos,
                    entity,
                    data,
                    prior,
                    dirty: false,
                });
                let s = self.slots.len() - 1;
                self.slot_of.insert(key, s);
                s
            }
        };
        self.cur = s;
        self.cur_key = key;
        Some(s)
    }

    #[inline]
    fn set(&mut self, pos: IVec3, color: Color) {
        let color = color.canonical();
        let (cpos, i) = split(pos);
        let Some(s) = self.slot(cpos, !color.is_empty()) else {
            return;
        };
        let slot = &mut self.slots[s];
        let old = Arc::make_mut(&mut slot.data).set(i, color);
        if old != color {
            slot.dirty = true;
            self.changed += 1;
            self.lo = self.lo.min(pos);
            self.hi = self.hi.max(pos);
        }
    }

    fn fill_box(&mut self, region: &VoxelBox, color: Color) {
        let (cmin, cmax) = region.chunk_range();
        for cz in cmin.z..=cmax.z {
            for cy in cmin.y..=cmax.y {
                for cx in cmin.x..=cmax.x {
                    let cpos = IVec3::new(cx, cy, cz);
                    let cbox = VoxelBox::of_chunk(cpos);
                    let Some(part) = cbox.intersect(region) else {
                        continue;
                    };
                    if part == cbox {
                        let Some(s) = self.slot(cpos, !color.is_empty()) else {
                            continue;
                        };
                        let slot = &mut self.slots[s];
                        let n = slot.data.count_not(color);
                        if n > 0 {
                            slot.data = Arc::new(ChunkData::uniform(color));
                            slot.dirty = true;
                            self.changed += n as u64;
                            self.lo = self.lo.min(part.min);
                            self.hi = self.hi.max(part.max);
                        }
                    } else {
                        for z in part.min.z..=part.max.z {
                            for y in part.min.y..=part.max.y {
                                for x in part.min.x..=part.max.x {
                                    self.set(IVec3::new(x, y, z), color);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn fill_shape(&mut self, shape: Shape, region: &VoxelBox, color: Color) {
        if shape == Shape::Cube {
            return self.fill_box(region, color);
        }
        for z in region.min.z..=region.max.z {
            for y in region.min.y..=region.max.y {
                if let Some((lo, hi)) = row_span(shape, region, y, z) {
                    for x in lo..=hi {
                        self.set(IVec3::new(x, y, z), color);
                    }
                }
            }
        }
    }

    fn flood_fill(
        &mut self,
        start: IVec3,
        color: Color,
        bounds: &VoxelBox,
    ) -> Result<(), EditError> {
        let Some(bounds) = bounds.intersect(&self.limits.bounds) else {
            return Ok(());
        };
        let layer = self.target;
        if !bounds.contains(start) || self.get(layer, start) == color {
            return Ok(());
        }
        let region = flood_region(start, &bounds, self.limits.flood_fill_limit, |p| {
            self.get(layer, p)
        })?;
        for p in region {
            self.set(p, color);
        }
        Ok(())
    }

    /// The layer drawn over all others (ties: the lowest id).
    fn top_layer(&mut self) -> Option<LayerId> {
        let mut q = self.world.query::<(&LayerId, &LayerInfo)>();
        q.iter(self.world)
            .max_by_key(|(id, info)| (info.order, std::cmp::Reverse(**id)))
            .map(|(id, _)| *id)
    }

    fn max_order(&mut self) -> Option<i32> {
        let mut q = self.world.query::<&LayerInfo>();
        q.iter(self.world).map(|i| i.order).max()
    }

    fn spawn_layer(&mut self, id: LayerId, info: LayerInfo) {
        let e = self.world.spawn((id, info)).id();
        self.world.resource_mut::<LayerIndex>().by_id.insert(id, e);
        self.world.resource_mut::<DirtyChunks>().layers = true;
    }

    fn set_layer_info(
        &mut self,
        layer: LayerId,
        f: impl FnOnce(&mut LayerInfo),
    ) -> Result<(), EditError> {
        let e = self.require_layer(layer)?;
        let mut info = self
            .world
            .get_mut::<LayerInfo>(e)
            .expect("layer entity has LayerInfo");
        let old = info.clone();
        f(&mut info);
        if *info != old {
            self.world.resource_mut::<DirtyChunks>().layers = true;
            self.inverse.push(Edit::RestoreLayer {
                layer,
                name: old.name.into(),
                visible: old.visible,
                order: old.order,
            });
        }
        Ok(())
    }

    /// Chunks of `layer` as they stand now (working set included), sorted z, y, x.
    fn layer_chunks(&mut self, layer: LayerId) -> Vec<(IVec3, Arc<ChunkData>)> {
        self.flush();
        let index = self.world.resource::<ChunkIndex>();
        let mut chunks: Vec<(IVec3, Entity)> = index
            .map
            .iter()
            .filter(|((l, _), _)| *l == layer)
            .map(|((_, p), e)| (*p, *e))
            .collect();
        chunks.sort_by_key(|(p, _)| crate::coords::zyx_key(*p));
        chunks
            .into_iter()
            .filter_map(|(p, e)| self.world.get::<ChunkVoxels>(e).map(|c| (p, c.0.clone())))
            .collect()
    }

    fn delete_layer(&mut self, layer: LayerId) -> Result<(), EditError> {
        let e = self.require_layer(layer)?;
        let chunks = self.layer_chunks(layer);
        let info = self
            .world
            .get::<LayerInfo>(e)
            .expect("layer entity has LayerInfo")
            .clone();
        // Pushed in reverse of the order undo must run them: restore the layer, then its chunks,
        // then the active layer.
        let active = self.world.resource::<ActiveLayer>().0;
        if active == layer {
            self.inverse.push(Edit::SetActiveLayer(layer));
        }
        // Each removal records its chunk's prior data as the inverse.
        for (pos, _) in chunks {
            self.restore_chunk(layer, pos, None);
        }
        self.inverse.push(Edit::RestoreLayer {
            layer,
            name: info.name.into(),
            visible: info.visible,
            order: info.order,
        });
        self.world.despawn(e);
        let mut index = self.world.resource_mut::<LayerIndex>();
        index.by_id.remove(&layer);
        if active == layer {
            // The top layer becomes active; with none left, no layer is until the buffer adds
            // one (checked when the buffer ends).
            let next = self.top_layer().unwrap_or(LayerId(0));
            self.world.resource_mut::<ActiveLayer>().0 = next;
        }
        if self.target == layer {
            self.target = self.world.resource::<ActiveLayer>().0;
        }
        self.world.resource_mut::<DirtyChunks>().layers = true;
        Ok(())
    }

    /// Replaces a chunk wholesale, recording the inverse.
    fn restore_chunk(&mut self, layer: LayerId, pos: IVec3, data: Option<Arc<ChunkData>>) {
        self.flush();
        let entity = self.world.resource::<ChunkIndex>().get(layer, pos);
        let prior = entity
            .and_then(|e| self.world.get::<ChunkVoxels>(e))
            .map(|c| c.0.clone());
        let data = data.filter(|d| !d.is_empty());
        let changed = match (&prior, &data) {
            (None, None) => 0,
            (Some(a), None) | (None, Some(a)) => a.filled() as u64,
            (Some(a), Some(b)) => {
                if Arc::ptr_eq(a, b) {
                    0
                } else {
                    (0..crate::coords::CHUNK_VOLUME)
                        .filter(|&i| a.get(i) != b.get(i))
                        .count() as u64
                }
            }
        };
        if changed == 0 {
            return;
        }
        self.changed += changed;
        let cbox = VoxelBox::of_chunk(pos);
        self.lo = self.lo.min(cbox.min);
        self.hi = self.hi.max(cbox.max);
        self.inverse.push(Edit::RestoreChunk {
            layer,
            pos,
            data: prior,
        });
        self.write_back(layer, pos, entity, data);
    }

    fn write_back(
        &mut self,
        layer: LayerId,
        pos: IVec3,
        entity: Option<Entity>,
        data: Option<Arc<ChunkData>>,
    ) {
        match (entity, data) {
            (Some(e), None) => {
                self.world.despawn(e);
                self.world
                    .resource_mut::<ChunkIndex>()
                    .map
                    .remove(&(layer, pos));
            }
            (Some(e), Some(d)) => {
                if let Some(mut c) = self.world.get_mut::<ChunkVoxels>(e) {
                    c.0 = d;
                }
            }
            (None, Some(d)) => {
                let e = self
                    .world
                    .spawn((layer, ChunkPos(pos), ChunkVoxels(d)))
                    .id();
                self.world
                    .resource_mut::<ChunkIndex>()
                    .map
                    .insert((layer, pos), e);
            }
            (None, None) => {}
        }
        self.world
            .resource_mut::<DirtyChunks>()
            .chunks
            .insert((layer, pos));
    }

    /// Writes the working set back into the world and records the chunks' inverses.
    fn flush(&mut self) {
        self.cur = NO_SLOT;
        self.slot_of.clear();
        for mut slot in std::mem::take(&mut self.slots) {
            if !slot.dirty {
                continue;
            }
            Arc::make_mut(&mut slot.data).normalize();
            let data = (!slot.data.is_empty()).then_some(slot.data);
            self.inverse.push(Edit::RestoreChunk {
                layer: slot.layer,
                pos: slot.pos,
                data: slot.prior,
            });
            self.write_back(slot.layer, slot.pos, slot.entity, data);
        }
    }
}
