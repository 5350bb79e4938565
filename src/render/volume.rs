//! The voxels a render sees: the visible layers merged into one map of chunks, so face finding
//! asks one table instead of walking the layer stack for every neighbour.

use std::collections::BTreeMap;
use std::sync::Arc;

use glam::IVec3;
use rustc_hash::FxHashMap;
use systems::coords::{CHUNK_VOLUME, zyx_key};
use systems::{ChunkData, Color, VoxelBox, WorldSnapshot};

/// The merged visible chunks of a snapshot. Chunks shared with a single layer are the layer's
/// own `Arc`s; only positions where two visible layers overlap are merged into new chunks.
pub(crate) struct Volume {
    chunks: FxHashMap<IVec3, Arc<ChunkData>>,
    /// Chunk positions sorted z, y, x: the order faces are found and drawn in.
    order: Vec<IVec3>,
    bounds: Option<VoxelBox>,
}

impl Volume {
    pub(crate) fn new(world: &WorldSnapshot) -> Volume {
        let visible: Vec<_> = world.layers_top_down().filter(|l| l.visible).collect();
        // Positions in (z, y, x) order with each layer's chunk there, the highest layer first.
        let mut stacks: BTreeMap<(i32, i32, i32), Vec<&Arc<ChunkData>>> = BTreeMap::new();
        for layer in &visible {
            for (pos, data) in layer.chunks_sorted() {
                if !data.is_empty() {
                    stacks.entry(zyx_key(pos)).or_default().push(data);
                }
            }
        }
        let mut chunks = FxHashMap::default();
        let mut order = Vec::with_capacity(stacks.len());
        for ((z, y, x), stack) in stacks {
            let pos = IVec3::new(x, y, z);
            chunks.insert(pos, merge(&stack));
            order.push(pos);
        }
        Volume {
            chunks,
            order,
            bounds: world.bounding_box(),
        }
    }

    /// The non-empty chunk at chunk position `pos`.
    #[inline]
    pub(crate) fn chunk(&self, pos: IVec3) -> Option<&ChunkData> {
        self.chunks.get(&pos).map(|c| &**c)
    }

    /// Non-empty chunk positions, sorted z, y, x.
    pub(crate) fn order(&self) -> &[IVec3] {
        &self.order
    }

    /// Bounds of the visible voxels.
    pub(crate) fn bounds(&self) -> Option<VoxelBox> {
        self.bounds
    }
}

/// One chunk from the chunks of several layers at one position, the highest first.
fn merge(stack: &[&Arc<ChunkData>]) -> Arc<ChunkData> {
    let top = stack[0];
    if stack.len() == 1 || top.filled() as usize == CHUNK_VOLUME {
        return top.clone();
    }
    let mut dense = top.to_dense();
    for lower in &stack[1..] {
        lower.for_each_filled(|i, c| {
            if dense[i] == Color::EMPTY {
                dense[i] = c;
            }
        });
    }
    Arc::new(ChunkData::from_dense(&dense))
}
