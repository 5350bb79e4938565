//! [`RuleKind::Life`]: a 3D outer-totalistic cellular automaton, double-buffered.
//!
//! Every cell's next state depends only on its neighbourhood in the state the rule began with.
//! A chunk is visited with a one-cell shell around it: live flags (one byte a cell, cached per
//! chunk) are gathered into an 18³ block, the live cells of each 3×3×3 cube are counted with
//! separable sums (rows of three along x, then y, then z), and a table turns (alive, count)
//! into the next state. A chunk holding only empty cells and live cells of the birth colour
//! (the usual case) is rebuilt directly as a two-colour chunk; any other is rewritten cell by
//! cell. Chunks next to a visited chunk whose voxels reach that side are visited too, for
//! births there (they may not exist yet).

use std::collections::BTreeSet;
use std::sync::Arc;

use bevy_ecs::world::World;
use glam::IVec3;
use rustc_hash::{FxHashMap, FxHashSet};

use super::active::{ActiveQuery, RuleCtx, run_rules};
use super::grid::{Grid, local};
use super::{Matcher, Neighbourhood, RuleKind, Timers};
use crate::color::Color;
use crate::coords::{CHUNK_SIZE, CHUNK_VOLUME, VoxelBox, zyx_key};
use crate::storage::ChunkData;

/// Edge of the gathered block: a chunk and its one-cell shell.
const P: usize = 18;

/// One byte a cell: 1 alive, 0 not.
type Flags = [u8; CHUNK_VOLUME];

/// The `Life` rules' system.
pub(crate) fn step_life(world: &mut World, active: &mut ActiveQuery<'_, '_>) {
    run_rules(world, active, |k| matches!(k, RuleKind::Life { .. }), run);
}

struct LifeRule<'a> {
    alive: &'a Matcher,
    color: Color,
    neighbourhood: Neighbourhood,
    /// `next[alive][total]`: the next state of a cell, by whether it is alive and the live
    /// cells of its neighbourhood counted with itself.
    next: [[u8; 32]; 2],
}

fn run(grid: &mut Grid<'_>, ctx: &RuleCtx<'_>, worklist: Vec<IVec3>, _: &mut Timers) {
    let RuleKind::Life {
        alive,
        color,
        birth,
        survive,
        neighbourhood,
    } = &ctx.rule.kind
    else {
        return;
    };
    let next = [
        std::array::from_fn(|total| (birth >> total & 1) as u8),
        std::array::from_fn(|total| (total >= 1 && survive >> (total - 1) & 1 == 1) as u8),
    ];
    let rule = LifeRule {
        alive,
        color: *color,
        neighbourhood: *neighbourhood,
        next,
    };
    let listed: FxHashSet<IVec3> = worklist.iter().copied().collect();
    let mut chunks: BTreeSet<(i32, i32, i32)> = BTreeSet::new();
    for &c in &worklist {
        chunks.insert(zyx_key(c));
        let offsets = Neighbourhood::Moore.offsets();
        let around = |o: &IVec3| !listed.contains(&(c + *o)) && grid.chunk_overlaps(c + *o);
        if !offsets.iter().any(around) {
            continue;
        }
        let Some(bounds) = grid.world_chunk(c).and_then(|d| d.local_bounds()) else {
            continue;
        };
        for o in offsets.iter().filter(|o| around(o)) {
            if reaches(&bounds, *o) {
                chunks.insert(zyx_key(c + *o));
            }
        }
    }
    grid.begin_phase();
    let mut cache = FlagCache::default();
    let mut layer = i32::MIN;
    for (z, y, x) in chunks {
        if z != layer {
            cache.forget_below(z - 1);
            layer = z;
        }
        let cpos = IVec3::new(x, y, z);
        if grid.chunk_overlaps(cpos) {
            grid.visits += 1;
            life_chunk(grid, &rule, cpos, &mut cache);
        }
    }
    grid.end_phase();
}

/// Live flags of the chunks around the one being visited, with their buffers recycled.
#[derive(Default)]
struct FlagCache {
    flags: FxHashMap<IVec3, Option<Box<Flags>>>,
    spare: Vec<Box<Flags>>,
}

impl FlagCache {
    /// Drops the chunks below layer `z` (the keys ascend in z: they are never read again).
    fn forget_below(&mut self, z: i32) {
        let spare = &mut self.spare;
        self.flags.retain(|p, f| {
            if p.z >= z {
                return true;
            }
            if let Some(f) = f.take() {
                spare.push(f);
            }
            false
        });
    }

    fn get(&mut self, grid: &Grid<'_>, alive: &Matcher, cpos: IVec3) -> Option<&Flags> {
        if !self.flags.contains_key(&cpos) {
            let f = live_flags(grid, alive, cpos, &mut self.spare);
            self.flags.insert(cpos, f);
        }
        self.flags[&cpos].as_deref()
    }
}

/// Whether voxels within `bounds` (chunk-local) touch the side of the chunk towards `o`.
fn reaches(bounds: &VoxelBox, o: IVec3) -> bool {
    let side = |lo: i32, hi: i32, d: i32| match d {
        -1 => lo == 0,
        1 => hi == CHUNK_SIZE - 1,
        _ => true,
    };
    side(bounds.min.x, bounds.max.x, o.x)
        && side(bounds.min.y, bounds.max.y, o.y)
        && side(bounds.min.z, bounds.max.z, o.z)
}

/// Live flags of chunk `cpos` as the rule began, `None` when it has no live cell; in a buffer
/// from `spare`.
fn live_flags(
    grid: &Grid<'_>,
    alive: &Matcher,
    cpos: IVec3,
    spare: &mut Vec<Box<Flags>>,
) -> Option<Box<Flags>> {
    if !grid.chunk_overlaps(cpos) {
        return None;
    }
    let data = grid.world_chunk(cpos)?;
    if !data.any_color(|c| alive.matches(c)) {
        return None;
    }
    let mut out = spare.pop().unwrap_or_else(|| Box::new([0u8; CHUNK_VOLUME]));
    let inside = grid.bounds.contains_box(&VoxelBox::of_chunk(cpos));
    if let Some(c) = data.uniform_color()
        && inside
    {
        out.fill(alive.matches(c) as u8);
        return Some(out);
    }
    data.map_into(|c| alive.matches(c) as u8, &mut out);
    if !inside {
        let origin = cpos * CHUNK_SIZE;
        for (i, f) in out.iter_mut().enumerate() {
            *f &= grid.bounds.contains(origin + local(i)) as u8;
        }
    }
    Some(out)
}

/// Copies the live flags around chunk `cpos` into an 18³ block (index `(z·18 + y)·18 + x`,
/// the chunk's own cells at 1..=16 on each axis). Returns whether any cell is alive.
fn gather(
    grid: &Grid<'_>,
    alive: &Matcher,
    cpos: IVec3,
    cache: &mut FlagCache,
    block: &mut [u8; P * P * P],
) -> bool {
    block.fill(0);
    let mut any = false;
    // Source range (chunk-local) and destination start, per offset along one axis.
    let span = |d: i32| -> (usize, usize, usize) {
        match d {
            -1 => (15, 16, 0),
            0 => (0, 16, 1),
            _ => (0, 1, 17),
        }
    };
    for dz in -1..=1 {
        for dy in -1..=1 {
            for dx in -1..=1 {
                let n = cpos + IVec3::new(dx, dy, dz);
                let Some(f) = cache.get(grid, alive, n) else {
                    continue;
                };
                any = true;
                let (z0, z1, tz) = span(dz);
                let (y0, y1, ty) = span(dy);
                let (x0, x1, tx) = span(dx);
                for z in z0..z1 {
                    for y in y0..y1 {
                        let src = (z << 8) | (y << 4);
                        let dst = ((tz + z - z0) * P + ty + y - y0) * P + tx;
                        block[dst..dst + (x1 - x0)].copy_from_slice(&f[src + x0..src + x1]);
                    }
                }
            }
        }
    }
    any
}

fn life_chunk(grid: &mut Grid<'_>, rule: &LifeRule<'_>, cpos: IVec3, cache: &mut FlagCache) {
    let mut block = [0u8; P * P * P];
    if !gather(grid, rule.alive, cpos, cache, &mut block) {
        return;
    }
    let totals = totals(&block, rule.neighbourhood);
    let inside = grid.bounds.contains_box(&VoxelBox::of_chunk(cpos));
    let data = grid.world_chunk(cpos);
    // A chunk of nothing but empty cells and live cells of the birth colour: every non-live
    // cell may be born, and the result is two colours again.
    let pure = inside
        && rule.alive.matches(rule.color)
        && data.is_none_or(|d| !d.any_color(|c| !(c.is_empty() || c == rule.color)));
    let mut next = [0u8; CHUNK_VOLUME];
    let mut changed = 0u64;
    for z in 0..16 {
        for y in 0..16 {
            let row = ((z + 1) * P + y + 1) * P + 1;
            let out = (z << 8) | (y << 4);
            for x in 0..16 {
                let alive = block[row + x] as usize;
                let n = rule.next[alive][totals[out + x] as usize];
                next[out + x] = n;
                changed += (n != alive as u8) as u64;
            }
        }
    }
    if changed == 0 {
        return;
    }
    if pure {
        let new = ChunkData::from_two_colors(&next, Color::EMPTY, rule.color);
        grid.replace(cpos, (!new.is_empty()).then(|| Arc::new(new)), changed);
        return;
    }
    // Obstacles, other colours or the region's edge: only empty cells inside the bounds are
    // born, survivors keep their colour.
    let origin = cpos * CHUNK_SIZE;
    let s = grid.slot(cpos);
    let mut writes: Vec<(usize, Color)> = Vec::new();
    let cur = grid.cur(s);
    for (i, &n) in next.iter().enumerate() {
        let l = local(i);
        let alive = block[((l.z as usize + 1) * P + l.y as usize + 1) * P + l.x as usize + 1];
        if n == alive {
            continue;
        }
        if alive == 1 {
            writes.push((i, Color::EMPTY));
        } else if cur[i] == Color::EMPTY && (inside || grid.bounds.contains(origin + l)) {
            writes.push((i, rule.color));
        }
    }
    for (i, c) in writes {
        grid.write_local(s, i, c);
    }
}

/// Live cells in each cell's neighbourhood, the cell itself included, x-fastest.
fn totals(block: &[u8; P * P * P], neighbourhood: Neighbourhood) -> [u8; CHUNK_VOLUME] {
    let mut out = [0u8; CHUNK_VOLUME];
    match neighbourhood {
        Neighbourhood::VonNeumann => {
            for z in 0..16 {
                for y in 0..16 {
                    for x in 0..16 {
                        let c = ((z + 1) * P + y + 1) * P + x + 1;
                        out[(z << 8) | (y << 4) | x] = block[c]
                            + block[c - 1]
                            + block[c + 1]
                            + block[c - P]
                            + block[c + P]
                            + block[c - P * P]
                            + block[c + P * P];
                    }
                }
            }
        }
        Neighbourhood::Moore => {
            // Rows of three along x, for every padded (z, y).
            let mut sx = [0u8; P * P * 16];
            for (dst, row) in sx.chunks_exact_mut(16).zip(block.chunks_exact(P)) {
                for x in 0..16 {
                    dst[x] = row[x] + row[x + 1] + row[x + 2];
                }
            }
            // Then three rows along y.
            let mut sy = [0u8; P * 16 * 16];
            for z in 0..P {
                for y in 0..16 {
                    let a = (z * P + y) * 16;
                    let dst = &mut sy[(z * 16 + y) * 16..(z * 16 + y) * 16 + 16];
                    let (r0, r1, r2) = (&sx[a..a + 16], &sx[a + 16..a + 32], &sx[a + 32..a + 48]);
                    for x in 0..16 {
                        dst[x] = r0[x] + r1[x] + r2[x];
                    }
                }
            }
            // Then three layers along z.
            for z in 0..16 {
                let (l0, l1, l2) = (
                    &sy[z * 256..z * 256 + 256],
                    &sy[(z + 1) * 256..(z + 1) * 256 + 256],
                    &sy[(z + 2) * 256..(z + 2) * 256 + 256],
                );
                let dst = &mut out[z << 8..(z << 8) + 256];
                for yx in 0..256 {
                    dst[yx] = l0[yx] + l1[yx] + l2[yx];
                }
            }
        }
    }
    out
}
