//! [`RuleKind::Decay`] and [`RuleKind::Grow`]: voxels that change, vanish or spread on their
//! own, on ticks chosen by a [`Timing`].
//!
//! Both read the state the rule began with and write a second buffer, so chunks can be visited
//! in any order; two voxels growing into one cell write the same colour. A chunk whose voxels
//! may still fire later stays pending.

use bevy_ecs::world::World;
use glam::IVec3;

use super::active::{ActiveQuery, RuleCtx, run_rules};
use super::fall::TARGET_SALT;
use super::grid::{Grid, WALL, local};
use super::random::roll;
use super::{RuleKind, Timing};
use crate::color::Color;
use crate::coords::CHUNK_SIZE;

/// The `Decay` rules' system.
pub(crate) fn decay_voxels(world: &mut World, active: &mut ActiveQuery<'_, '_>) {
    run_rules(
        world,
        active,
        |k| matches!(k, RuleKind::Decay { .. }),
        decay,
    );
}

/// The `Grow` rules' system.
pub(crate) fn grow_voxels(world: &mut World, active: &mut ActiveQuery<'_, '_>) {
    run_rules(world, active, |k| matches!(k, RuleKind::Grow { .. }), grow);
}

/// Whether `timing` fires for the voxel at `p` on the tick being computed.
pub(crate) fn fires(timing: Timing, ctx: &RuleCtx<'_>, p: IVec3) -> bool {
    match timing {
        Timing::Chance { per_2_32 } => (roll(ctx.seed, ctx.tick, p, ctx.salt) >> 32) < per_2_32,
        Timing::Every { ticks } => {
            let ticks = u64::from(ticks.max(1));
            let phase = roll(ctx.seed, 0, p, ctx.salt) % ticks;
            (ctx.tick % ticks + phase).is_multiple_of(ticks)
        }
    }
}

fn decay(grid: &mut Grid<'_>, ctx: &RuleCtx<'_>, worklist: Vec<IVec3>) {
    let RuleKind::Decay {
        matches,
        into,
        timing,
    } = &ctx.rule.kind
    else {
        return;
    };
    grid.begin_phase();
    for cpos in worklist {
        grid.visits += 1;
        let s = grid.slot(cpos);
        let origin = cpos * CHUNK_SIZE;
        let mut waiting = false;
        for i in 0..crate::coords::CHUNK_VOLUME {
            let c = grid.cur(s)[i];
            if !matches.matches(c) {
                continue;
            }
            let p = origin + local(i);
            if !grid.bounds.contains(p) {
                continue;
            }
            if fires(*timing, ctx, p) {
                grid.write_local(s, i, *into);
            } else {
                waiting = true;
            }
        }
        if waiting {
            grid.keep_pending(cpos);
        }
    }
    grid.end_phase();
}

fn grow(grid: &mut Grid<'_>, ctx: &RuleCtx<'_>, worklist: Vec<IVec3>) {
    let RuleKind::Grow {
        matches,
        into,
        onto,
        neighbourhood,
        timing,
    } = &ctx.rule.kind
    else {
        return;
    };
    let offsets = neighbourhood.offsets();
    grid.begin_phase();
    let mut targets: Vec<IVec3> = Vec::with_capacity(offsets.len());
    for cpos in worklist {
        grid.visits += 1;
        let s = grid.slot(cpos);
        let origin = cpos * CHUNK_SIZE;
        let mut waiting = false;
        let mut writes: Vec<IVec3> = Vec::new();
        for i in 0..crate::coords::CHUNK_VOLUME {
            if !matches.matches(grid.cur(s)[i]) {
                continue;
            }
            let p = origin + local(i);
            if !grid.bounds.contains(p) {
                continue;
            }
            targets.clear();
            for &o in offsets {
                let t = grid.get(p + o);
                let open = match onto {
                    None => t == Color::EMPTY,
                    Some(m) => t != WALL && m.matches(t),
                };
                if open {
                    targets.push(p + o);
                }
            }
            if targets.is_empty() {
                continue;
            }
            if fires(*timing, ctx, p) {
                let k = roll(ctx.seed, ctx.tick, p, ctx.salt | TARGET_SALT) as usize;
                writes.push(targets[k % targets.len()]);
            } else {
                waiting = true;
            }
        }
        for t in writes {
            grid.write(t, *into);
        }
        if waiting {
            grid.keep_pending(cpos);
        }
    }
    grid.end_phase();
}
