//! Snapshots: immutable views of the world that other threads read while the world moves on.
//!
//! A [`WorldSnapshot`] shares chunk data with the world through `Arc`, grouped into regions of
//! 8³ chunks, each behind its own `Arc`. Publishing a new snapshot clones the previous one's
//! region map (a few pointers per region) and rebuilds only the regions holding changed chunks,
//! so the cost follows the number of changed chunks, not the size of the world.

use std::sync::{Arc, OnceLock};

use bevy_ecs::resource::Resource;
use bevy_ecs::system::{Query, Res, ResMut};
use glam::IVec3;
use rustc_hash::FxHashMap;

use crate::apply::{ChunkVoxels, DirtyChunks, WorldSeq};
use crate::changes::ChangeLog;
use crate::color::Color;
use crate::coords::{VoxelBox, split, zyx_key};
use crate::index::ChunkIndex;
use crate::layer::{ActiveLayer, LayerId, LayerIndex, LayerInfo};
use crate::schedule::Tick;
use crate::simulation::{RuleSet, Rules};
use crate::storage::ChunkData;

/// log2 of a region's edge, in chunks.
pub const REGION_BITS: i32 = 3;

fn region_of(chunk: IVec3) -> IVec3 {
    IVec3::new(
        chunk.x >> REGION_BITS,
        chunk.y >> REGION_BITS,
        chunk.z >> REGION_BITS,
    )
}

/// The chunks of one region of one layer.
#[derive(Clone, Debug, Default)]
pub struct Region {
    chunks: FxHashMap<IVec3, Arc<ChunkData>>,
}

/// One layer in a snapshot.
#[derive(Clone, Debug)]
pub struct LayerSnapshot {
    /// Layer id.
    pub id: LayerId,
    /// Layer name.
    pub name: String,
    /// Whether the layer is shown.
    pub visible: bool,
    /// Stacking order.
    pub order: i32,
    voxel_count: u64,
    chunk_count: u64,
    regions: FxHashMap<IVec3, Arc<Region>>,
}

impl LayerSnapshot {
    fn new(id: LayerId, info: &LayerInfo) -> LayerSnapshot {
        LayerSnapshot {
            id,
            name: info.name.clone(),
            visible: info.visible,
            order: info.order,
            voxel_count: 0,
            chunk_count: 0,
            regions: FxHashMap::default(),
        }
    }

    /// Non-empty voxels in the layer.
    pub fn voxel_count(&self) -> u64 {
        self.voxel_count
    }

    /// Chunks in the layer.
    pub fn chunk_count(&self) -> u64 {
        self.chunk_count
    }

    /// The chunk at chunk position `pos`.
    #[inline]
    pub fn chunk(&self, pos: IVec3) -> Option<&Arc<ChunkData>> {
        self.regions.get(&region_of(pos))?.chunks.get(&pos)
    }

    /// The colour at `pos`.
    #[inline]
    pub fn voxel(&self, pos: IVec3) -> Color {
        let (c, i) = split(pos);
        self.chunk(c).map_or(Color::EMPTY, |d| d.get(i))
    }

    /// Every chunk, sorted z, y, x.
    pub fn chunks_sorted(&self) -> Vec<(IVec3, &Arc<ChunkData>)> {
        let mut v: Vec<_> = self
            .regions
            .values()
            .flat_map(|r| r.chunks.iter().map(|(p, d)| (*p, d)))
            .collect();
        v.sort_unstable_by_key(|(p, _)| zyx_key(*p));
        v
    }

    /// Chunks overlapping `region`, sorted z, y, x.
    pub fn chunks_in(&self, region: &VoxelBox) -> Vec<(IVec3, &Arc<ChunkData>)> {
        let (cmin, cmax) = region.chunk_range();
        let (rmin, rmax) = (region_of(cmin), region_of(cmax));
        let mut v: Vec<_> = self
            .regions
            .iter()
            .filter(|(r, _)| r.cmpge(rmin).all() && r.cmple(rmax).all())
            .flat_map(|(_, r)| r.chunks.iter())
            .filter(|(p, _)| p.cmpge(cmin).all() && p.cmple(cmax).all())
            .map(|(p, d)| (*p, d))
            .collect();
        v.sort_unstable_by_key(|(p, _)| zyx_key(*p));
        v
    }

    /// Tight bounds of the layer's voxels.
    pub fn bounding_box(&self) -> Option<VoxelBox> {
        let mut out: Option<VoxelBox> = None;
        for r in self.regions.values() {
            for (p, d) in &r.chunks {
                if let Some(b) = d.local_bounds() {
                    let origin = *p * crate::coords::CHUNK_SIZE;
                    let b = VoxelBox {
                        min: b.min + origin,
                        max: b.max + origin,
                    };
                    out = Some(out.map_or(b, |o| o.union(&b)));
                }
            }
        }
        out
    }

    /// Calls `f(position, colour)` for every voxel inside `region`, chunks in z, y, x order and
    /// voxels x-fastest inside each chunk.
    pub fn for_each_voxel_in(&self, region: &VoxelBox, mut f: impl FnMut(IVec3, Color)) {
        for (cpos, data) in self.chunks_in(region) {
            let origin = cpos * crate::coords::CHUNK_SIZE;
            data.for_each_filled(|i, c| {
                let p = crate::coords::voxel_pos(IVec3::ZERO, i) + origin;
                if region.contains(p) {
                    f(p, c);
                }
            });
        }
    }

    fn put_chunk(&mut self, pos: IVec3, data: Option<Arc<ChunkData>>) {
        let rpos = region_of(pos);
        let region = Arc::make_mut(self.regions.entry(rpos).or_default());
        let old = match data {
            Some(d) => region.chunks.insert(pos, d),
            None => region.chunks.remove(&pos),
        };
        if let Some(o) = old {
            self.voxel_count -= o.filled() as u64;
            self.chunk_count -= 1;
        }
        if let Some(n) = region.chunks.get(&pos) {
            self.voxel_count += n.filled() as u64;
            self.chunk_count += 1;
        }
        if region.chunks.is_empty() {
            self.regions.remove(&rpos);
        }
    }
}

/// An immutable view of the whole world at one sequence number.
#[derive(Clone, Debug)]
pub struct WorldSnapshot {
    /// Sequence number of the last buffer applied.
    pub seq: u64,
    /// The active layer.
    pub active_layer: LayerId,
    /// Simulation ticks taken.
    pub tick: u64,
    /// The simulation rules in force (not content: not in the hash).
    pub rules: Arc<RuleSet>,
    layers: Vec<Arc<LayerSnapshot>>,
    hash: OnceLock<[u8; 32]>,
}

impl WorldSnapshot {
    /// Layers sorted by id.
    pub fn layers(&self) -> impl Iterator<Item = &LayerSnapshot> {
        self.layers.iter().map(|l| &**l)
    }

    /// The layer with id `id`.
    pub fn layer(&self, id: LayerId) -> Option<&LayerSnapshot> {
        self.layers
            .binary_search_by_key(&id, |l| l.id)
            .ok()
            .map(|i| &*self.layers[i])
    }

    /// The colour at `pos` in `layer` (empty for an unknown layer).
    pub fn voxel(&self, layer: LayerId, pos: IVec3) -> Color {
        self.layer(layer).map_or(Color::EMPTY, |l| l.voxel(pos))
    }

    /// The colour seen at `pos` through all visible layers: the highest-order non-empty one.
    pub fn merged_voxel(&self, pos: IVec3) -> Color {
        self.layers_top_down()
            .filter(|l| l.visible)
            .map(|l| l.voxel(pos))
            .find(|c| !c.is_empty())
            .unwrap_or(Color::EMPTY)
    }

    /// Layers from the highest order down (ties: higher id first).
    pub fn layers_top_down(&self) -> impl Iterator<Item = &LayerSnapshot> {
        let mut v: Vec<&LayerSnapshot> = self.layers().collect();
        v.sort_by_key(|l| std::cmp::Reverse((l.order, l.id)));
        v.into_iter()
    }

    /// Non-empty voxels in all layers.
    pub fn voxel_count(&self) -> u64 {
        self.layers().map(|l| l.voxel_count).sum()
    }

    /// Chunks in all layers.
    pub fn chunk_count(&self) -> u64 {
        self.layers().map(|l| l.chunk_count).sum()
    }

    /// Bounds of the voxels of all visible layers.
    pub fn bounding_box(&self) -> Option<VoxelBox> {
        self.layers().filter(|l| l.visible).fold(None, |acc, l| {
            crate::coords::union_opt(acc, l.bounding_box())
        })
    }

    /// The world hash (see [`crate::hash`]); computed once per snapshot.
    pub fn hash(&self) -> [u8; 32] {
        *self.hash.get_or_init(|| crate::hash::world_hash(self))
    }

    /// The world hash as lowercase hex.
    pub fn hash_hex(&self) -> String {
        crate::hash::to_hex(&self.hash())
    }
}

/// The snapshot readers see: the world as of the last update.
#[derive(Resource, Debug, Clone)]
pub struct PublishedSnapshot(pub Arc<WorldSnapshot>);

impl Default for PublishedSnapshot {
    fn default() -> PublishedSnapshot {
        PublishedSnapshot(Arc::new(WorldSnapshot {
            seq: 0,
            active_layer: LayerId(0),
            tick: 0,
            rules: Arc::default(),
            layers: Vec::new(),
            hash: OnceLock::new(),
        }))
    }
}

/// Builds the next snapshot from the previous one and the chunks changed since.
#[allow(clippy::too_many_arguments)] // A system: each parameter is one resource or query it reads.
pub fn publish_snapshot(
    mut dirty: ResMut<DirtyChunks>,
    mut published: ResMut<PublishedSnapshot>,
    index: Res<ChunkIndex>,
    layer_index: Res<LayerIndex>,
    active: Res<ActiveLayer>,
    seq: Res<WorldSeq>,
    (tick, rules, mut log): (Res<Tick>, Res<Rules>, ResMut<ChangeLog>),
    chunks: Query<&ChunkVoxels>,
    layers: Query<&LayerInfo>,
) {
    let prev = &published.0;
    if dirty.chunks.is_empty()
        && !dirty.layers
        && prev.seq == seq.0
        && prev.active_layer == active.0
        && prev.tick == tick.0
        && Arc::ptr_eq(&prev.rules, &rules.0)
    {
        return;
    }
    let mut next: Vec<Arc<LayerSnapshot>> = Vec::with_capacity(layer_index.by_id.len());
    for (&id, &entity) in &layer_index.by_id {
        let Ok(info) = layers.get(entity) else {
            continue;
        };
        let mut layer = match prev.layers.binary_search_by_key(&id, |l| l.id) {
            Ok(i) => prev.layers[i].clone(),
            Err(_) => Arc::new(LayerSnapshot::new(id, info)),
        };
        if layer.name != info.name || layer.visible != info.visible || layer.order != info.order {
            let l = Arc::make_mut(&mut layer);
            l.name = info.name.clone();
            l.visible = info.visible;
            l.order = info.order;
        }
        next.push(layer);
    }
    log.note(&dirty.chunks, dirty.layers);
    let mut changed: Vec<(LayerId, IVec3)> = dirty.chunks.drain().collect();
    changed.sort_unstable_by_key(|(l, p)| (*l, zyx_key(*p)));
    for (layer, pos) in changed {
        let Ok(i) = next.binary_search_by_key(&layer, |l| l.id) else {
            continue;
        };
        let data = index
            .get(layer, pos)
            .and_then(|e| chunks.get(e).ok())
            .map(|c| c.0.clone());
        let l = Arc::make_mut(&mut next[i]);
        l.put_chunk(pos, data);
    }
    dirty.layers = false;
    published.0 = Arc::new(WorldSnapshot {
        seq: seq.0,
        active_layer: active.0,
        tick: tick.0,
        rules: rules.0.clone(),
        layers: next,
        hash: OnceLock::new(),
    });
}
