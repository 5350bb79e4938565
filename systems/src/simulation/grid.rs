//! One rule's working copy of one layer: reads the state as it stood when the current phase
//! began, writes a second buffer, and hands the changed chunks back to be committed.
//!
//! A phase reads `cur` and writes `next`; [`Grid::end_phase`] makes `next` the new `cur`. So a
//! decision never sees a write of the same phase, and the order cells are visited in does not
//! change the result (the falling-column chain, ordered bottom-up on purpose, writes the cell a
//! voxel leaves before the voxel above moves in).

use std::sync::Arc;

use bevy_ecs::entity::Entity;
use bevy_ecs::world::World;
use glam::IVec3;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::apply::ChunkVoxels;
use crate::color::Color;
use crate::coords::{CHUNK_SIZE, CHUNK_VOLUME, VoxelBox, split};
use crate::index::ChunkIndex;
use crate::layer::LayerId;
use crate::storage::ChunkData;

/// What a cell outside the rule's region (or the world bounds) reads as: not empty, matched by
/// no rule (alpha 0 with a colour no canonical voxel has), never written.
pub(crate) const WALL: Color = Color([255, 255, 255, 0]);

/// The cells of one chunk, x-fastest.
pub(crate) type Dense = [Color; CHUNK_VOLUME];

/// One chunk in the working set.
pub(crate) struct Slot {
    /// Chunk position.
    pub pos: IVec3,
    entity: Option<Entity>,
    /// The cells as the rule found them (to count what changed).
    orig: Box<Dense>,
    /// The state at the start of the current phase.
    pub cur: Box<Dense>,
    /// The state being written by the current phase (valid when `next_phase == phase`).
    next: Box<Dense>,
    next_phase: u32,
    /// Written by some phase.
    written: bool,
    /// Cells a voxel moved into during this rule (it moves at most once per tick).
    moved: [u64; CHUNK_VOLUME / 64],
}

/// A changed chunk, ready to go back into the world.
pub(crate) struct Changed {
    pub pos: IVec3,
    pub entity: Option<Entity>,
    /// The new content; `None` when no voxel is left.
    pub data: Option<Arc<ChunkData>>,
    /// Voxels that differ from the prior content.
    pub changed_voxels: u64,
}

/// The working set of one rule on one layer.
pub(crate) struct Grid<'w> {
    world: &'w World,
    index: &'w ChunkIndex,
    layer: LayerId,
    /// The rule's region within the world bounds; everything outside reads as [`WALL`].
    pub bounds: VoxelBox,
    slot_of: FxHashMap<IVec3, usize>,
    slots: Vec<Slot>,
    phase: u32,
    /// Chunks with work left undone on purpose: visit them again next tick.
    pub pending: FxHashSet<IVec3>,
    /// Chunk visits (for the tick report).
    pub visits: u64,
    /// Spare cell buffers, kept between ticks (see [`DensePool`]).
    pool: Vec<Box<Dense>>,
    /// Chunks a kernel built whole (never in `slots`).
    built: Vec<Changed>,
}

/// Spare chunk-sized cell buffers: a tick that visits hundreds of chunks would otherwise
/// allocate (and fault in) three fresh 16 KiB buffers for each.
#[derive(bevy_ecs::resource::Resource, Default)]
pub(crate) struct DensePool(pub Vec<Box<Dense>>);

/// Buffers kept in the pool at most (16 MiB).
const POOL_LIMIT: usize = 1024;

impl<'w> Grid<'w> {
    /// A working set on `layer` of `world`, for cells inside `bounds`, taking buffers from
    /// `pool` (given back by [`Grid::finish`]).
    pub fn new(
        world: &'w World,
        layer: LayerId,
        bounds: VoxelBox,
        pool: Vec<Box<Dense>>,
    ) -> Grid<'w> {
        Grid {
            world,
            index: world.resource::<ChunkIndex>(),
            layer,
            bounds,
            slot_of: FxHashMap::default(),
            slots: Vec::new(),
            phase: 1,
            pending: FxHashSet::default(),
            visits: 0,
            pool,
            built: Vec::new(),
        }
    }

    /// Replaces chunk `cpos` whole (`None`: no voxel left), for a single-phase kernel that
    /// builds chunks itself; `changed_voxels` is how many of its voxels differ. The chunk must
    /// not be written through a slot too.
    pub fn replace(&mut self, cpos: IVec3, data: Option<Arc<ChunkData>>, changed_voxels: u64) {
        debug_assert!(!self.slot_of.contains_key(&cpos));
        self.built.push(Changed {
            pos: cpos,
            entity: self.index.get(self.layer, cpos),
            data,
            changed_voxels,
        });
    }

    fn buffer(&mut self) -> Box<Dense> {
        self.pool.pop().unwrap_or_else(empty_dense)
    }

    /// The chunk data the world holds at `cpos` (the state before this rule).
    pub fn world_chunk(&self, cpos: IVec3) -> Option<&'w Arc<ChunkData>> {
        let e = self.index.get(self.layer, cpos)?;
        self.world.get::<ChunkVoxels>(e).map(|c| &c.0)
    }

    /// Whether chunk `cpos` exists in the world or in the working set.
    pub fn exists(&self, cpos: IVec3) -> bool {
        self.slot_of.contains_key(&cpos) || self.index.get(self.layer, cpos).is_some()
    }

    /// The current-phase state at `p` ([`WALL`] outside the bounds).
    #[inline]
    pub fn get(&self, p: IVec3) -> Color {
        if !self.bounds.contains(p) {
            return WALL;
        }
        let (c, i) = split(p);
        if let Some(&s) = self.slot_of.get(&c) {
            return self.slots[s].cur[i];
        }
        self.world_chunk(c).map_or(Color::EMPTY, |d| d.get(i))
    }

    /// The working-set slot of chunk `cpos`, made from the world's data if new.
    pub fn slot(&mut self, cpos: IVec3) -> usize {
        if let Some(&s) = self.slot_of.get(&cpos) {
            return s;
        }
        let entity = self.index.get(self.layer, cpos);
        let prior = entity
            .and_then(|e| self.world.get::<ChunkVoxels>(e))
            .map(|c| c.0.clone());
        let mut orig = self.buffer();
        match &prior {
            Some(d) => d.decode_into(&mut orig),
            None => orig.fill(Color::EMPTY),
        }
        let mut cur = self.buffer();
        cur.copy_from_slice(&orig[..]);
        // Overwritten whole before its first use.
        let next = self.buffer();
        self.slots.push(Slot {
            pos: cpos,
            entity,
            next,
            cur,
            orig,
            next_phase: 0,
            written: false,
            moved: [0; CHUNK_VOLUME / 64],
        });
        let s = self.slots.len() - 1;
        self.slot_of.insert(cpos, s);
        s
    }

    /// The slot at `cpos`, if it is in the working set.
    pub fn existing_slot(&self, cpos: IVec3) -> Option<usize> {
        self.slot_of.get(&cpos).copied()
    }

    /// The chunk position of slot `s`.
    pub fn slot_pos(&self, s: usize) -> IVec3 {
        self.slots[s].pos
    }

    /// The slot's current-phase cells.
    #[inline]
    pub fn cur(&self, s: usize) -> &Dense {
        &self.slots[s].cur
    }

    /// Writes `c` at local index `i` of slot `s` for the next phase.
    #[inline]
    pub fn write_local(&mut self, s: usize, i: usize, c: Color) {
        self.next_mut(s).1[i] = c;
    }

    /// Slot `s`'s current cells, the next phase's cells (to write) and its moved marks.
    #[inline]
    pub fn next_mut(&mut self, s: usize) -> (&Dense, &mut Dense, &mut [u64; CHUNK_VOLUME / 64]) {
        let phase = self.phase;
        let slot = &mut self.slots[s];
        if slot.next_phase != phase {
            slot.next.copy_from_slice(&slot.cur[..]);
            slot.next_phase = phase;
        }
        slot.written = true;
        (&slot.cur, &mut slot.next, &mut slot.moved)
    }

    /// Writes `c` at `p` for the next phase (inside the bounds only).
    pub fn write(&mut self, p: IVec3, c: Color) {
        debug_assert!(self.bounds.contains(p));
        let (cpos, i) = split(p);
        let s = self.slot(cpos);
        self.write_local(s, i, c);
    }

    /// Marks local index `i` of slot `s` as holding a voxel that moved this tick.
    #[inline]
    pub fn mark_moved_local(&mut self, s: usize, i: usize) {
        self.slots[s].moved[i >> 6] |= 1 << (i & 63);
    }

    /// Marks `p` as holding a voxel that moved this tick.
    pub fn mark_moved(&mut self, p: IVec3) {
        let (cpos, i) = split(p);
        let s = self.slot(cpos);
        self.mark_moved_local(s, i);
    }

    /// Whether a voxel moved into `p` this tick.
    #[inline]
    pub fn moved(&self, p: IVec3) -> bool {
        let (c, i) = split(p);
        self.slot_of
            .get(&c)
            .is_some_and(|&s| self.slots[s].moved[i >> 6] & (1 << (i & 63)) != 0)
    }

    /// Whether a voxel moved into local index `i` of slot `s` this tick.
    #[inline]
    pub fn moved_local(&self, s: usize, i: usize) -> bool {
        self.slots[s].moved[i >> 6] & (1 << (i & 63)) != 0
    }

    /// Starts a phase: reads see the state the last phase left.
    pub fn begin_phase(&mut self) {
        self.phase += 1;
    }

    /// Ends a phase: its writes become the state the next phase reads. Returns the chunks it
    /// wrote.
    pub fn end_phase(&mut self) -> Vec<IVec3> {
        let phase = self.phase;
        let mut written = Vec::new();
        for slot in &mut self.slots {
            if slot.next_phase == phase {
                std::mem::swap(&mut slot.cur, &mut slot.next);
                slot.next_phase = 0;
                written.push(slot.pos);
            }
        }
        written
    }

    /// Applies the sideways moves one chunk's voxels won this phase, `(local index, target,
    /// colour)`, each leaving its cell for a target it now holds; `pending`: some lost their
    /// contest, so the chunk stays active for the next tick.
    pub fn commit_moves(
        &mut self,
        s: usize,
        cpos: IVec3,
        moves: Vec<(usize, IVec3, Color)>,
        pending: bool,
    ) {
        for (i, target, c) in moves {
            self.write_local(s, i, Color::EMPTY);
            self.write(target, c);
            self.mark_moved(target);
        }
        if pending {
            self.keep_pending(cpos);
        }
    }

    /// Marks chunk `cpos` to be visited again next tick.
    pub fn keep_pending(&mut self, cpos: IVec3) {
        self.pending.insert(cpos);
    }

    /// Whether every cell of chunk `cpos`, and every cell next to it, lies inside the bounds.
    pub fn chunk_inside(&self, cpos: IVec3) -> bool {
        let b = VoxelBox::of_chunk(cpos);
        self.bounds.contains_box(&VoxelBox {
            min: b.min - IVec3::ONE,
            max: b.max + IVec3::ONE,
        })
    }

    /// Whether chunk `cpos` overlaps the bounds at all.
    pub fn chunk_overlaps(&self, cpos: IVec3) -> bool {
        VoxelBox::of_chunk(cpos).intersect(&self.bounds).is_some()
    }

    /// The chunks this rule changed, in z, y, x order, with their new content; the chunks
    /// left pending; the chunk visits; and the buffer pool back.
    pub fn finish(self) -> (Vec<Changed>, FxHashSet<IVec3>, u64, Vec<Box<Dense>>) {
        let mut out = self.built;
        let mut pool = self.pool;
        for slot in self.slots {
            let keep = |pool: &mut Vec<Box<Dense>>, b: Box<Dense>| {
                if pool.len() < POOL_LIMIT {
                    pool.push(b);
                }
            };
            let Slot {
                cur, next, orig, ..
            } = slot;
            keep(&mut pool, next);
            if !slot.written {
                keep(&mut pool, cur);
                keep(&mut pool, orig);
                continue;
            }
            let changed_voxels = orig.iter().zip(cur.iter()).filter(|(a, b)| a != b).count() as u64;
            let data = (changed_voxels > 0).then(|| ChunkData::from_dense(&cur));
            keep(&mut pool, cur);
            keep(&mut pool, orig);
            let Some(data) = data else {
                continue;
            };
            out.push(Changed {
                pos: slot.pos,
                entity: slot.entity,
                data: (!data.is_empty()).then(|| Arc::new(data)),
                changed_voxels,
            });
        }
        out.sort_unstable_by_key(|c| crate::coords::zyx_key(c.pos));
        (out, self.pending, self.visits, pool)
    }
}

/// A chunk of empty cells, allocated zeroed (the empty colour is all zero bytes).
fn empty_dense() -> Box<Dense> {
    vec![Color::EMPTY; CHUNK_VOLUME]
        .into_boxed_slice()
        .try_into()
        .expect("CHUNK_VOLUME cells")
}

/// The local coordinates of index `i`.
#[inline]
pub(crate) fn local(i: usize) -> IVec3 {
    let i = i as i32;
    IVec3::new(i & (CHUNK_SIZE - 1), (i >> 4) & (CHUNK_SIZE - 1), i >> 8)
}
