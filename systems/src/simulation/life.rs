//! [`RuleKind::Life`]: a 3D outer-totalistic cellular automaton, double-buffered.
//!
//! Every cell's next state depends only on its neighbourhood in the state the rule began with.
//! A chunk is visited with a one-cell shell around it: live flags are gathered into an 18³
//! block, neighbour counts come from separable sums (rows of three along x, then y, then z),
//! and only the cells that change are written. Chunks next to a visited chunk whose voxels
//! reach that side are visited too, for births there (they may not exist yet).

use std::collections::BTreeSet;

use bevy_ecs::world::World;
use glam::IVec3;
use rustc_hash::FxHashMap;

use super::active::{ActiveQuery, RuleCtx, run_rules};
use super::grid::{Grid, local};
use super::{Matcher, Neighbourhood, RuleKind};
use crate::color::Color;
use crate::coords::{CHUNK_SIZE, CHUNK_VOLUME, VoxelBox, zyx_key};

/// Edge of the gathered block: a chunk and its one-cell shell.
const P: usize = 18;

/// The `Life` rules' system.
pub(crate) fn step_life(world: &mut World, active: &mut ActiveQuery<'_, '_>) {
    run_rules(world, active, |k| matches!(k, RuleKind::Life { .. }), run);
}

struct LifeRule<'a> {
    alive: &'a Matcher,
    color: Color,
    birth: u32,
    survive: u32,
    neighbourhood: Neighbourhood,
}

fn run(grid: &mut Grid<'_>, ctx: &RuleCtx<'_>, worklist: Vec<IVec3>) {
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
    let rule = LifeRule {
        alive,
        color: *color,
        birth: *birth,
        survive: *survive,
        neighbourhood: *neighbourhood,
    };
    let mut chunks: BTreeSet<(i32, i32, i32)> = BTreeSet::new();
    for &c in &worklist {
        let Some(bounds) = grid.world_chunk(c).and_then(|d| d.local_bounds()) else {
            continue;
        };
        for &o in Neighbourhood::Moore.offsets() {
            if reaches(&bounds, o) {
                chunks.insert(zyx_key(c + o));
            }
        }
        chunks.insert(zyx_key(c));
    }
    grid.begin_phase();
    let mut flags: FxHashMap<IVec3, Option<Box<[u8; CHUNK_VOLUME]>>> = FxHashMap::default();
    let mut layer = i32::MIN;
    for (z, y, x) in chunks {
        if z != layer {
            // Chunks two layers down are never read again (the keys ascend in z).
            flags.retain(|p, _| p.z >= z - 1);
            layer = z;
        }
        let cpos = IVec3::new(x, y, z);
        if grid.chunk_overlaps(cpos) {
            grid.visits += 1;
            life_chunk(grid, &rule, cpos, &mut flags);
        }
    }
    grid.end_phase();
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

/// Live flags (0 or 1) of chunk `cpos` as the rule began, `None` when it has no live cell.
fn live_flags(grid: &Grid<'_>, alive: &Matcher, cpos: IVec3) -> Option<Box<[u8; CHUNK_VOLUME]>> {
    let data = grid.world_chunk(cpos)?;
    if !data.any_color(|c| alive.matches(c)) {
        return None;
    }
    let mut out = Box::new([0u8; CHUNK_VOLUME]);
    let inside = grid.bounds.contains_box(&VoxelBox::of_chunk(cpos));
    let origin = cpos * CHUNK_SIZE;
    if let Some(c) = data.uniform_color()
        && alive.matches(c)
        && inside
    {
        out.fill(1);
        return Some(out);
    }
    let dense = data.to_dense();
    for (i, (f, &c)) in out.iter_mut().zip(dense.iter()).enumerate() {
        *f = (alive.matches(c) && (inside || grid.bounds.contains(origin + local(i)))) as u8;
    }
    Some(out)
}

/// Copies the live flags around chunk `cpos` into an 18³ block (index `(z·18 + y)·18 + x`,
/// the chunk's own cells at 1..=16 on each axis).
fn gather(
    grid: &Grid<'_>,
    alive: &Matcher,
    cpos: IVec3,
    flags: &mut FxHashMap<IVec3, Option<Box<[u8; CHUNK_VOLUME]>>>,
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
                let f = flags.entry(n).or_insert_with(|| live_flags(grid, alive, n));
                let Some(f) = f else { continue };
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

fn life_chunk(
    grid: &mut Grid<'_>,
    rule: &LifeRule<'_>,
    cpos: IVec3,
    flags: &mut FxHashMap<IVec3, Option<Box<[u8; CHUNK_VOLUME]>>>,
) {
    let mut block = Box::new([0u8; P * P * P]);
    if !gather(grid, rule.alive, cpos, flags, &mut block) {
        return;
    }
    let counts = neighbour_counts(&block, rule.neighbourhood);
    let inside = grid.bounds.contains_box(&VoxelBox::of_chunk(cpos));
    let origin = cpos * CHUNK_SIZE;
    let data = grid.world_chunk(cpos);
    let mut writes: Vec<(usize, Color)> = Vec::new();
    for i in 0..CHUNK_VOLUME {
        let l = local(i);
        let center = block[((l.z as usize + 1) * P + l.y as usize + 1) * P + l.x as usize + 1];
        let n = counts[i];
        if center == 1 {
            if rule.survive >> n & 1 == 0 {
                writes.push((i, Color::EMPTY));
            }
        } else if rule.birth >> n & 1 == 1
            && data.is_none_or(|d| d.get(i) == Color::EMPTY)
            && (inside || grid.bounds.contains(origin + l))
        {
            writes.push((i, rule.color));
        }
    }
    if writes.is_empty() {
        return;
    }
    let s = grid.slot(cpos);
    for (i, c) in writes {
        grid.write_local(s, i, c);
    }
}

/// Live neighbours of each of the chunk's cells, x-fastest.
fn neighbour_counts(
    block: &[u8; P * P * P],
    neighbourhood: Neighbourhood,
) -> Box<[u8; CHUNK_VOLUME]> {
    let mut out = Box::new([0u8; CHUNK_VOLUME]);
    match neighbourhood {
        Neighbourhood::VonNeumann => {
            for z in 0..16 {
                for y in 0..16 {
                    for x in 0..16 {
                        let c = ((z + 1) * P + y + 1) * P + x + 1;
                        out[(z << 8) | (y << 4) | x] = block[c - 1]
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
            let mut sx = vec![0u8; P * P * 16];
            for zy in 0..P * P {
                let row = &block[zy * P..zy * P + P];
                let dst = &mut sx[zy * 16..zy * 16 + 16];
                for x in 0..16 {
                    dst[x] = row[x] + row[x + 1] + row[x + 2];
                }
            }
            // Then three rows along y.
            let mut sy = vec![0u8; P * 16 * 16];
            for z in 0..P {
                for y in 0..16 {
                    let a = (z * P + y) * 16;
                    let dst = (z * 16 + y) * 16;
                    for x in 0..16 {
                        sy[dst + x] = sx[a + x] + sx[a + 16 + x] + sx[a + 32 + x];
                    }
                }
            }
            // Then three layers along z, minus the cell itself.
            for z in 0..16 {
                for yx in 0..256 {
                    let c = ((z + 1) * P + (yx >> 4) + 1) * P + (yx & 15) + 1;
                    out[(z << 8) | yx] =
                        sy[z * 256 + yx] + sy[(z + 1) * 256 + yx] + sy[(z + 2) * 256 + yx]
                            - block[c];
                }
            }
        }
    }
    out
}
