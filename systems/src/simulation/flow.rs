//! [`RuleKind::Flow`]: a fluid falls, then runs sideways towards the nearest drop.
//!
//! The fall phase is [`RuleKind::Fall`]'s. In the spread phase a fluid voxel that did not move
//! and rests on something searches its own level, breadth first through empty cells, at most
//! `spread` steps (±x, ±y) far, for a drop (an empty cell above an empty cell); it moves one
//! cell along a shortest way to the nearest one (ties broken at random), if it wins that cell
//! against the other voxels that chose it. With no drop in reach it stays, so fluid in a basin
//! narrower than `spread` comes to rest level to within one voxel.

use bevy_ecs::world::World;
use glam::IVec3;
use rustc_hash::{FxHashMap, FxHashSet};

use super::active::{ActiveQuery, RuleCtx, run_rules};
use super::fall::{SIDES, TARGET_SALT, candidates, fall_phase, second_phase_chunks};
use super::grid::{Grid, local};
use super::random::roll;
use super::{Matcher, RuleKind, Timers};
use crate::color::Color;
use crate::coords::CHUNK_SIZE;

/// The `Flow` rules' system.
pub(crate) fn flow_fluids(world: &mut World, active: &mut ActiveQuery<'_, '_>) {
    run_rules(world, active, |k| matches!(k, RuleKind::Flow { .. }), run);
}

fn run(grid: &mut Grid<'_>, ctx: &RuleCtx<'_>, worklist: Vec<IVec3>, _: &mut Timers) {
    let RuleKind::Flow { matches, spread } = &ctx.rule.kind else {
        return;
    };
    let fell = fall_phase(grid, matches, worklist);
    let chunks = second_phase_chunks(grid, matches, &fell);
    grid.begin_phase();
    // Choices read only the phase's starting state, so each is computed once.
    let mut choices = FxHashMap::default();
    for cpos in chunks {
        let resting = fell.resting.get(&cpos).map(|r| &**r);
        spread_chunk(grid, ctx, matches, *spread, cpos, resting, &mut choices);
    }
    grid.end_phase();
}

type Choices = FxHashMap<IVec3, Option<IVec3>>;

fn choice_memo(
    grid: &Grid<'_>,
    ctx: &RuleCtx<'_>,
    matches: &Matcher,
    spread: u32,
    q: IVec3,
    memo: &mut Choices,
) -> Option<IVec3> {
    *memo
        .entry(q)
        .or_insert_with(|| choice(grid, ctx, matches, spread, q))
}

/// The side the fluid voxel at `q` moves to this tick, if it rests and has a drop in reach:
/// the first step of a shortest way (breadth first, sides in an order rotated at random) to
/// the nearest drop.
fn choice(
    grid: &Grid<'_>,
    ctx: &RuleCtx<'_>,
    matches: &Matcher,
    spread: u32,
    q: IVec3,
) -> Option<IVec3> {
    if !matches.matches(grid.get(q)) || grid.moved(q) || grid.get(q - IVec3::Z) == Color::EMPTY {
        return None;
    }
    let start = roll(ctx.seed, ctx.tick, q, ctx.salt) as usize;
    let mut seen: FxHashSet<IVec3> = FxHashSet::default();
    seen.insert(q);
    let mut frontier: Vec<(IVec3, IVec3)> = Vec::new();
    for k in 0..4 {
        let d = SIDES[(start + k) % 4];
        let cell = q + d;
        seen.insert(cell);
        if grid.get(cell) != Color::EMPTY {
            continue;
        }
        if grid.get(cell - IVec3::Z) == Color::EMPTY {
            return Some(d);
        }
        frontier.push((cell, d));
    }
    for _ in 1..spread {
        let mut next = Vec::new();
        for &(cell, first) in &frontier {
            for d in SIDES {
                let n = cell + d;
                if !seen.insert(n) || grid.get(n) != Color::EMPTY {
                    continue;
                }
                if grid.get(n - IVec3::Z) == Color::EMPTY {
                    return Some(first);
                }
                next.push((n, first));
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    None
}

fn spread_chunk(
    grid: &mut Grid<'_>,
    ctx: &RuleCtx<'_>,
    matches: &Matcher,
    spread: u32,
    cpos: IVec3,
    resting: Option<&[u64; 64]>,
    memo: &mut Choices,
) {
    grid.visits += 1;
    let s = grid.slot(cpos);
    let origin = cpos * CHUNK_SIZE;
    let mut moves: Vec<(usize, IVec3, Color)> = Vec::new();
    let mut pending = false;
    for i in candidates(resting) {
        let c = grid.cur(s)[i];
        if !matches.matches(c) {
            continue;
        }
        let p = origin + local(i);
        if !grid.bounds.contains(p) {
            continue;
        }
        let Some(d) = choice_memo(grid, ctx, matches, spread, p, memo) else {
            continue;
        };
        let side = p + d;
        let start = roll(ctx.seed, ctx.tick, side, ctx.salt | TARGET_SALT) as usize;
        let winner = (0..4)
            .map(|k| SIDES[(start + k) % 4])
            .find(|&from| choice_memo(grid, ctx, matches, spread, side - from, memo) == Some(from));
        if winner == Some(d) {
            moves.push((i, side, c));
        } else {
            pending = true;
        }
    }
    grid.commit_moves(s, cpos, moves, pending);
}
