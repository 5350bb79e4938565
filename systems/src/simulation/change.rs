//! [`RuleKind::Decay`] and [`RuleKind::Grow`]: voxels that change, vanish or spread on their
//! own, on ticks chosen by a [`Timing`].
//!
//! Both read the state the rule began with and write a second buffer, so chunks can be visited
//! in any order; two voxels growing into one cell write the same colour. A chunk whose voxels
//! may still fire later (a chance not taken yet, a timer running) stays pending.

use bevy_ecs::world::World;
use glam::IVec3;

use super::active::{ActiveQuery, RuleCtx, run_rules};
use super::fall::TARGET_SALT;
use super::grid::{Grid, WALL, local};
use super::random::roll;
use super::{RuleKind, Timers, Timing};
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

/// Decides, cell by cell in index order, which voxels of one chunk fire on the tick being
/// computed, carrying the chunk's `After` timers from the last visit to the next.
struct Clock<'c> {
    timing: Timing,
    ctx: &'c RuleCtx<'c>,
    old: std::iter::Peekable<std::vec::IntoIter<(u16, u64)>>,
    new: Vec<(u16, u64)>,
}

impl<'c> Clock<'c> {
    fn new(timing: Timing, ctx: &'c RuleCtx<'c>, timers: Vec<(u16, u64)>) -> Clock<'c> {
        Clock {
            timing,
            ctx,
            old: timers.into_iter().peekable(),
            new: Vec::new(),
        }
    }

    /// Whether the voxel at cell `i` (position `p`) fires now. Cells must come in ascending
    /// order; a cell not asked about loses its timer. With `again`, a fired timer restarts.
    fn fires(&mut self, i: usize, p: IVec3, again: bool) -> bool {
        match self.timing {
            Timing::Chance { per_2_32 } => {
                (roll(self.ctx.seed, self.ctx.tick, p, self.ctx.salt) >> 32) < per_2_32
            }
            Timing::After { ticks } => {
                let ticks = u64::from(ticks.max(1));
                while self.old.next_if(|&(j, _)| (j as usize) < i).is_some() {}
                let due = match self.old.next_if(|&(j, _)| j as usize == i) {
                    Some((_, due)) => due,
                    None => self.ctx.tick + ticks - 1,
                };
                if self.ctx.tick >= due {
                    if again {
                        self.new.push((i as u16, self.ctx.tick + ticks));
                    }
                    true
                } else {
                    self.new.push((i as u16, due));
                    false
                }
            }
        }
    }

    /// The timers running on after this visit.
    fn finish(self) -> Vec<(u16, u64)> {
        self.new
    }
}

fn decay(grid: &mut Grid<'_>, ctx: &RuleCtx<'_>, worklist: Vec<IVec3>, timers: &mut Timers) {
    let RuleKind::Decay {
        matches,
        into,
        timing,
    } = &ctx.rule.kind
    else {
        return;
    };
    let rule = ctx.salt as u32;
    let again = matches.matches(*into);
    grid.begin_phase();
    for cpos in worklist {
        grid.visits += 1;
        let s = grid.slot(cpos);
        let origin = cpos * CHUNK_SIZE;
        let mut clock = Clock::new(*timing, ctx, timers.take(rule, ctx.layer, cpos));
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
            if clock.fires(i, p, again) {
                grid.write_local(s, i, *into);
            } else {
                waiting = true;
            }
        }
        let running = clock.finish();
        if waiting || !running.is_empty() {
            grid.keep_pending(cpos);
        }
        timers.insert(rule, ctx.layer, cpos, running);
    }
    grid.end_phase();
}

fn grow(grid: &mut Grid<'_>, ctx: &RuleCtx<'_>, worklist: Vec<IVec3>, timers: &mut Timers) {
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
    let rule = ctx.salt as u32;
    let offsets = neighbourhood.offsets();
    grid.begin_phase();
    let mut targets: Vec<IVec3> = Vec::with_capacity(offsets.len());
    for cpos in worklist {
        grid.visits += 1;
        let s = grid.slot(cpos);
        let origin = cpos * CHUNK_SIZE;
        let mut clock = Clock::new(*timing, ctx, timers.take(rule, ctx.layer, cpos));
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
            // Nowhere to grow: nothing to count until a neighbour changes (and visits again).
            if targets.is_empty() {
                continue;
            }
            if clock.fires(i, p, true) {
                let k = roll(ctx.seed, ctx.tick, p, ctx.salt | TARGET_SALT) as usize;
                writes.push(targets[k % targets.len()]);
            } else {
                waiting = true;
            }
        }
        for t in writes {
            grid.write(t, *into);
        }
        let running = clock.finish();
        if waiting || !running.is_empty() {
            grid.keep_pending(cpos);
        }
        timers.insert(rule, ctx.layer, cpos, running);
    }
    grid.end_phase();
}
