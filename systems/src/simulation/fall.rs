//! [`RuleKind::Fall`]: matching voxels move down into empty space; blocked ones may slide.
//!
//! Two phases per tick. **Fall**: a voxel falls one cell when the cell below is empty or its
//! voxel falls too, so a column falls as a whole; chunks are visited bottom-up (ascending z) so
//! that chain is known, and a chunk whose top layer falls pulls the chunk above into the phase.
//! **Slide** (with `slide`): a voxel that did not move and rests on something picks one of the
//! four sides at random; it moves diagonally down that way if the side cell and the cell below
//! it are empty, and if it wins that target against the other voxels that picked it (a random
//! order per target). Both phases read the state at their start, so the result does not
//! depend on the order chunks are visited in. A voxel that could slide but did not keeps its
//! chunk pending: it tries again next tick.

use std::collections::BTreeSet;

use bevy_ecs::world::World;
use glam::IVec3;
use rustc_hash::{FxHashMap, FxHashSet};

use super::active::{ActiveQuery, RuleCtx, run_rules};
use super::grid::{Grid, local};
use super::random::roll;
use super::{Matcher, RuleKind};
use crate::color::Color;
use crate::coords::{CHUNK_SIZE, zyx_key};

/// The four horizontal directions, in the order random choices index them.
pub(crate) const SIDES: [IVec3; 4] = [
    IVec3::new(1, 0, 0),
    IVec3::new(-1, 0, 0),
    IVec3::new(0, 1, 0),
    IVec3::new(0, -1, 0),
];

/// Salt bit for the order in which a target hears its claimants.
pub(crate) const TARGET_SALT: u64 = 1 << 31;

/// The `Fall` rules' system.
pub(crate) fn fall_voxels(world: &mut World, active: &mut ActiveQuery<'_, '_>) {
    run_rules(world, active, |k| matches!(k, RuleKind::Fall { .. }), run);
}

fn run(grid: &mut Grid<'_>, ctx: &RuleCtx<'_>, worklist: Vec<IVec3>) {
    let RuleKind::Fall { matches, slide } = &ctx.rule.kind else {
        return;
    };
    let (visited, written) = fall_phase(grid, matches, worklist);
    if *slide {
        let chunks = second_phase_chunks(grid, matches, visited, written);
        grid.begin_phase();
        for cpos in chunks {
            slide_chunk(grid, ctx, matches, cpos);
        }
        grid.end_phase();
    }
}

/// The fall phase (shared with `Flow`): returns the chunks visited and the chunks written.
pub(crate) fn fall_phase(
    grid: &mut Grid<'_>,
    matches: &Matcher,
    worklist: Vec<IVec3>,
) -> (Vec<IVec3>, Vec<IVec3>) {
    grid.begin_phase();
    let mut queue: BTreeSet<(i32, i32, i32)> = worklist.iter().map(|&p| zyx_key(p)).collect();
    // Voxels of each visited chunk's top layer that fall (bit x + 16 y): the chunk above
    // needs them for its chain.
    let mut tops: FxHashMap<IVec3, [u64; 4]> = FxHashMap::default();
    let mut visited = Vec::new();
    while let Some((z, y, x)) = queue.pop_first() {
        let cpos = IVec3::new(x, y, z);
        visited.push(cpos);
        grid.visits += 1;
        let below = tops.get(&(cpos - IVec3::Z)).copied().unwrap_or([0; 4]);
        let top = fall_chunk(grid, matches, cpos, &below);
        if top != [0; 4] {
            tops.insert(cpos, top);
            let above = cpos + IVec3::Z;
            if grid.exists(above) {
                // Above the current key: it is visited later in this loop.
                queue.insert(zyx_key(above));
            }
        }
    }
    let written = grid.end_phase();
    (visited, written)
}

/// The chunks a second phase visits: those the first visited, and the neighbours of those it
/// changed (a cell emptied there may open a move), if they hold a matching voxel.
pub(crate) fn second_phase_chunks(
    grid: &Grid<'_>,
    matches: &Matcher,
    visited: Vec<IVec3>,
    written: Vec<IVec3>,
) -> Vec<IVec3> {
    let mut set: FxHashSet<IVec3> = visited.into_iter().collect();
    for p in written {
        for z in -1..=1 {
            for y in -1..=1 {
                for x in -1..=1 {
                    set.insert(p + IVec3::new(x, y, z));
                }
            }
        }
    }
    let mut out: Vec<IVec3> = set
        .into_iter()
        .filter(|&p| grid.chunk_overlaps(p) && holds(grid, matches, p))
        .collect();
    out.sort_unstable_by_key(|p| zyx_key(*p));
    out
}

/// Whether chunk `cpos` holds a matching voxel in the current state.
fn holds(grid: &Grid<'_>, matches: &Matcher, cpos: IVec3) -> bool {
    match grid.existing_slot(cpos) {
        Some(s) => grid.cur(s).iter().any(|&c| matches.matches(c)),
        None => grid
            .world_chunk(cpos)
            .is_some_and(|d| d.any_color(|c| matches.matches(c))),
    }
}

#[inline]
fn bit(bits: &[u64], i: usize) -> bool {
    bits[i >> 6] & (1 << (i & 63)) != 0
}

/// Moves the falling voxels of one chunk; returns which voxels of its top layer fell.
fn fall_chunk(grid: &mut Grid<'_>, matches: &Matcher, cpos: IVec3, below: &[u64; 4]) -> [u64; 4] {
    let s = grid.slot(cpos);
    let origin = cpos * CHUNK_SIZE;
    let inside = grid.chunk_inside(cpos);
    // The layer under the chunk, as the phase began.
    let mut under_free = [false; 256];
    for (j, free) in under_free.iter_mut().enumerate() {
        let j = j as i32;
        *free = grid.get(origin + IVec3::new(j & 15, j >> 4, -1)) == Color::EMPTY;
    }
    let mut falls = [0u64; 64];
    let mut any = false;
    {
        let cur = grid.cur(s);
        for i in 0..crate::coords::CHUNK_VOLUME {
            let c = cur[i];
            if !matches.matches(c) {
                continue;
            }
            if !inside && !grid.bounds.contains(origin + local(i)) {
                continue;
            }
            let go = if i >= 256 {
                let b = i - 256;
                bit(&falls, b)
                    || (cur[b] == Color::EMPTY
                        && (inside || grid.bounds.contains(origin + local(b))))
            } else {
                bit(below, i) || under_free[i]
            };
            if go {
                falls[i >> 6] |= 1 << (i & 63);
                any = true;
            }
        }
    }
    if !any {
        return [0; 4];
    }
    // Ascending order: a cell left empty is written before the voxel above moves into it.
    for (w, &word) in falls.iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            let i = w * 64 + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let c = grid.cur(s)[i];
            grid.write_local(s, i, Color::EMPTY);
            if i >= 256 {
                grid.write_local(s, i - 256, c);
                grid.mark_moved_local(s, i - 256);
            } else {
                let p = origin + local(i) - IVec3::Z;
                grid.write(p, c);
                grid.mark_moved(p);
            }
        }
    }
    [falls[60], falls[61], falls[62], falls[63]]
}

/// Whether the voxel at `q` rests on something and has not moved this tick.
fn resting(grid: &Grid<'_>, matches: &Matcher, q: IVec3) -> bool {
    matches.matches(grid.get(q)) && !grid.moved(q) && grid.get(q - IVec3::Z) != Color::EMPTY
}

/// The side a voxel at `q` would slide to this tick.
fn preferred(ctx: &RuleCtx<'_>, q: IVec3) -> IVec3 {
    SIDES[(roll(ctx.seed, ctx.tick, q, ctx.salt) % 4) as usize]
}

/// Slides the voxels of one chunk.
fn slide_chunk(grid: &mut Grid<'_>, ctx: &RuleCtx<'_>, matches: &Matcher, cpos: IVec3) {
    grid.visits += 1;
    let s = grid.slot(cpos);
    let origin = cpos * CHUNK_SIZE;
    let mut moves: Vec<(usize, IVec3, Color)> = Vec::new();
    let mut pending = false;
    for i in 0..crate::coords::CHUNK_VOLUME {
        let c = grid.cur(s)[i];
        if !matches.matches(c) || grid.moved_local(s, i) {
            continue;
        }
        let p = origin + local(i);
        if !grid.bounds.contains(p) || grid.get(p - IVec3::Z) == Color::EMPTY {
            continue;
        }
        let open = |d: IVec3| {
            grid.get(p + d) == Color::EMPTY && grid.get(p + d - IVec3::Z) == Color::EMPTY
        };
        if !SIDES.iter().any(|&d| open(d)) {
            continue;
        }
        let d = preferred(ctx, p);
        if !open(d) {
            pending = true;
            continue;
        }
        let side = p + d;
        let target = side - IVec3::Z;
        let start = roll(ctx.seed, ctx.tick, target, ctx.salt | TARGET_SALT) as usize;
        let winner = (0..4).map(|k| SIDES[(start + k) % 4]).find(|&from| {
            let q = side - from;
            resting(grid, matches, q) && preferred(ctx, q) == from
        });
        if winner == Some(d) {
            moves.push((i, target, c));
        } else {
            pending = true;
        }
    }
    for (i, target, c) in moves {
        grid.write_local(s, i, Color::EMPTY);
        grid.write(target, c);
        grid.mark_moved(target);
    }
    if pending {
        grid.keep_pending(cpos);
    }
}
