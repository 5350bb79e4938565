//! Positions, chunk coordinates and world bounds.
//!
//! Voxel positions are glam `IVec3` (z is up, as in Goxel). A chunk is a cube of
//! [`CHUNK_SIZE`]³ voxels; voxels inside a chunk are numbered x-fastest, which is also the order
//! the world hash reads them in.

use bevy_ecs::component::Component;
use glam::IVec3;

/// log2 of the chunk edge.
pub const CHUNK_BITS: i32 = 4;
/// Edge length of a chunk, in voxels.
pub const CHUNK_SIZE: i32 = 1 << CHUNK_BITS;
/// Voxels in one chunk.
pub const CHUNK_VOLUME: usize = (CHUNK_SIZE * CHUNK_SIZE * CHUNK_SIZE) as usize;
const MASK: i32 = CHUNK_SIZE - 1;

/// The position of a chunk, in chunk units (voxel position >> [`CHUNK_BITS`]).
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChunkPos(pub IVec3);

/// Splits a voxel position into its chunk position and its index inside the chunk.
#[inline]
pub fn split(pos: IVec3) -> (IVec3, usize) {
    let chunk = IVec3::new(
        pos.x >> CHUNK_BITS,
        pos.y >> CHUNK_BITS,
        pos.z >> CHUNK_BITS,
    );
    (chunk, local_index(pos))
}

/// Index of a voxel inside its chunk, x-fastest.
#[inline]
pub fn local_index(pos: IVec3) -> usize {
    ((pos.x & MASK) | ((pos.y & MASK) << CHUNK_BITS) | ((pos.z & MASK) << (2 * CHUNK_BITS)))
        as usize
}

/// The voxel position of a chunk-local index.
#[inline]
pub fn voxel_pos(chunk: IVec3, index: usize) -> IVec3 {
    let i = index as i32;
    chunk * CHUNK_SIZE + IVec3::new(i & MASK, (i >> CHUNK_BITS) & MASK, i >> (2 * CHUNK_BITS))
}

/// Orders positions z, then y, then x: the order of the world hash and of bulk reads.
#[inline]
pub fn zyx_key(p: IVec3) -> (i32, i32, i32) {
    (p.z, p.y, p.x)
}

/// An inclusive axis-aligned box of voxels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VoxelBox {
    /// Smallest corner (inclusive).
    pub min: IVec3,
    /// Largest corner (inclusive).
    pub max: IVec3,
}

impl VoxelBox {
    /// A box from two corners in any order.
    pub fn from_corners(a: IVec3, b: IVec3) -> VoxelBox {
        VoxelBox {
            min: a.min(b),
            max: a.max(b),
        }
    }

    /// A box holding one voxel.
    pub fn point(p: IVec3) -> VoxelBox {
        VoxelBox { min: p, max: p }
    }

    /// Number of voxels in the box.
    pub fn volume(&self) -> u64 {
        let d = (self.max.as_i64vec3() - self.min.as_i64vec3()) + glam::I64Vec3::ONE;
        (d.x.max(0) as u64) * (d.y.max(0) as u64) * (d.z.max(0) as u64)
    }

    /// Whether `p` lies inside.
    #[inline]
    pub fn contains(&self, p: IVec3) -> bool {
        p.cmpge(self.min).all() && p.cmple(self.max).all()
    }

    /// Whether `other` lies wholly inside.
    pub fn contains_box(&self, other: &VoxelBox) -> bool {
        self.contains(other.min) && self.contains(other.max)
    }

    /// The overlap of two boxes, if any.
    pub fn intersect(&self, other: &VoxelBox) -> Option<VoxelBox> {
        let min = self.min.max(other.min);
        let max = self.max.min(other.max);
        min.cmple(max).all().then_some(VoxelBox { min, max })
    }

    /// The smallest box holding both.
    pub fn union(&self, other: &VoxelBox) -> VoxelBox {
        VoxelBox {
            min: self.min.min(other.min),
            max: self.max.max(other.max),
        }
    }

    /// Grows the box to hold `p`.
    #[inline]
    pub fn include(&mut self, p: IVec3) {
        self.min = self.min.min(p);
        self.max = self.max.max(p);
    }

    /// The box of voxels covered by chunk `chunk`.
    pub fn of_chunk(chunk: IVec3) -> VoxelBox {
        let min = chunk * CHUNK_SIZE;
        VoxelBox {
            min,
            max: min + IVec3::splat(CHUNK_SIZE - 1),
        }
    }

    /// The range of chunk positions this box overlaps (inclusive).
    pub fn chunk_range(&self) -> (IVec3, IVec3) {
        (split(self.min).0, split(self.max).0)
    }
}

/// Extends an optional bounding box by another one.
pub fn union_opt(a: Option<VoxelBox>, b: Option<VoxelBox>) -> Option<VoxelBox> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.union(&b)),
        (a, None) => a,
        (None, b) => b,
    }
}
