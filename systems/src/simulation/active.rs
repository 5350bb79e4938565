//! Active chunks: which chunks a tick visits, and how a rule's changes go back into the world.
//!
//! [`begin_tick`] marks the chunks changed since the last tick and their neighbours, plus the
//! pending ones, with [`Active`], keeping only those holding a voxel some rule acts from. Each
//! rule system visits the marked chunks of its layers ([`run_rules`]), commits what it changed
//! through the same copy-on-write as edits (new `Arc`s, dirty chunks for the snapshot, so the
//! per-chunk digest cache of the world hash stays right) and marks the neighbourhood of its
//! changes, so the rules after it in the same tick see them.

use std::collections::BTreeMap;
use std::sync::Arc;

use bevy_ecs::entity::Entity;
use bevy_ecs::prelude::*;
use bevy_ecs::query::QueryState;
use glam::IVec3;
use rustc_hash::FxHashSet;

use super::grid::{DensePool, Grid};
use super::{
    Active, Rule, RuleKind, RuleSet, Rules, SimChanges, SimulationReport, SimulationSettings,
    Timers,
};
use crate::apply::{ChunkVoxels, DirtyChunks, UndoHistory};
use crate::coords::{ChunkPos, VoxelBox};
use crate::edit::{CommandBuffer, Edit};
use crate::index::ChunkIndex;
use crate::layer::LayerId;
use crate::schedule::{RequestedSteps, Tick};
use crate::storage::ChunkData;

/// The query every rule system uses to find its chunks.
pub(crate) type ActiveQuery<'w, 's> = QueryState<(&'w LayerId, &'w ChunkPos), With<Active>>;

/// Adds the chunks edits changed to the simulation's change set (runs on every update).
pub fn collect_edit_changes(
    dirty: Res<DirtyChunks>,
    rules: Res<Rules>,
    mut changes: ResMut<SimChanges>,
) {
    if rules.0.is_empty() || changes.all {
        return;
    }
    changes.since_tick.extend(dirty.chunks.iter().copied());
}

/// Marks the chunks this tick visits.
pub(crate) fn begin_tick(world: &mut World, marked: &mut QueryState<Entity, With<Active>>) {
    let stale: Vec<Entity> = marked.iter(world).collect();
    for e in stale {
        world.entity_mut(e).remove::<Active>();
    }
    *world.resource_mut::<SimulationReport>() = SimulationReport::default();
    let rules = world.resource::<Rules>().0.clone();
    let full = world.resource::<SimulationSettings>().full_scan;
    let mut changes = world.resource_mut::<SimChanges>();
    let all = std::mem::take(&mut changes.all) || full;
    let since = std::mem::take(&mut changes.since_tick);
    let pending = std::mem::take(&mut changes.pending);
    if rules.is_empty() {
        return;
    }
    let candidates: Vec<(LayerId, IVec3)> = if all {
        world.resource::<ChunkIndex>().map.keys().copied().collect()
    } else {
        let mut set = neighbourhood(since.iter().copied());
        set.extend(pending);
        set.into_iter().collect()
    };
    mark(world, &rules, candidates);
}

/// Counts the tick and hands the rest of the requested steps to the next update.
pub(crate) fn end_tick(
    mut tick: ResMut<Tick>,
    mut steps: ResMut<RequestedSteps>,
    mut report: ResMut<SimulationReport>,
) {
    tick.0 += 1;
    steps.0 -= 1;
    report.tick = tick.0;
}

/// Every chunk position within one chunk of the given ones (the 3×3×3 block around each).
fn neighbourhood(chunks: impl Iterator<Item = (LayerId, IVec3)>) -> FxHashSet<(LayerId, IVec3)> {
    let mut out = FxHashSet::default();
    for (layer, p) in chunks {
        for z in -1..=1 {
            for y in -1..=1 {
                for x in -1..=1 {
                    out.insert((layer, p + IVec3::new(x, y, z)));
                }
            }
        }
    }
    out
}

/// Whether some rule acts from a voxel of chunk `pos` of `layer`.
fn relevant(rules: &RuleSet, layer: LayerId, pos: IVec3, data: &ChunkData) -> bool {
    rules.rules.iter().any(|r| {
        r.layer.is_none_or(|l| l == layer)
            && r.region
                .is_none_or(|b| b.intersect(&VoxelBox::of_chunk(pos)).is_some())
            && data.any_color(|c| r.kind.source().matches(c))
    })
}

/// Marks the candidates that exist and that some rule acts in.
fn mark(world: &mut World, rules: &RuleSet, candidates: Vec<(LayerId, IVec3)>) {
    let mut newly: Vec<Entity> = Vec::new();
    {
        let index = world.resource::<ChunkIndex>();
        for (layer, pos) in candidates {
            let Some(e) = index.get(layer, pos) else {
                continue;
            };
            let Ok(entity) = world.get_entity(e) else {
                continue;
            };
            if entity.contains::<Active>() {
                continue;
            }
            let Some(data) = entity.get::<ChunkVoxels>() else {
                continue;
            };
            if relevant(rules, layer, pos, &data.0) {
                newly.push(e);
            }
        }
    }
    world.resource_mut::<SimulationReport>().active_chunks += newly.len() as u64;
    for e in newly {
        world.entity_mut(e).insert(Active);
    }
}

/// What a rule's kernel is given besides its grid.
pub(crate) struct RuleCtx<'r> {
    /// The rule.
    pub rule: &'r Rule,
    /// The rule set's seed.
    pub seed: u64,
    /// The tick being computed (the tick counter after it).
    pub tick: u64,
    /// The rule's index in its rule set: keeps two rules' random choices apart.
    pub salt: u64,
    /// The layer the rule acts on now.
    pub layer: LayerId,
}

/// A rule kind's kernel: visits the worklist (active chunks of one layer holding a voxel the
/// rule acts from, sorted z, y, x) and writes its changes into the grid; `After` timers in
/// the [`Timers`].
pub(crate) type Kernel = fn(&mut Grid<'_>, &RuleCtx<'_>, Vec<IVec3>, &mut Timers);

/// Runs every rule that `wants`, in rule-set order, each on every layer it covers (ascending
/// id) through `kernel`, committing each rule's changes before the next rule runs.
pub(crate) fn run_rules(
    world: &mut World,
    active: &mut ActiveQuery<'_, '_>,
    wants: fn(&RuleKind) -> bool,
    kernel: Kernel,
) {
    let rules = world.resource::<Rules>().0.clone();
    if !rules.rules.iter().any(|r| wants(&r.kind)) {
        return;
    }
    let tick = world.resource::<Tick>().0 + 1;
    let world_bounds = rules.bounds;
    let mut timers = std::mem::take(&mut *world.resource_mut::<Timers>());
    for (salt, rule) in rules.rules.iter().enumerate() {
        if !wants(&rule.kind) {
            continue;
        }
        // The chunks this rule visits; its timers anywhere else are stale (a chunk with a
        // running timer is pending, so it is visited while it still holds a voxel that counts).
        let mut visited: FxHashSet<(LayerId, IVec3)> = FxHashSet::default();
        if let Some(bounds) = rule
            .region
            .map_or(Some(world_bounds), |r| r.intersect(&world_bounds))
        {
            let mut by_layer: BTreeMap<LayerId, Vec<IVec3>> = BTreeMap::new();
            for (layer, pos) in active.iter(world) {
                if rule.layer.is_none_or(|l| l == *layer) {
                    by_layer.entry(*layer).or_default().push(pos.0);
                }
            }
            for (layer, mut positions) in by_layer {
                let ctx = RuleCtx {
                    rule,
                    seed: rules.seed,
                    tick,
                    salt: salt as u64,
                    layer,
                };
                let source = rule.kind.source();
                let pool = std::mem::take(&mut world.resource_mut::<DensePool>().0);
                let (changed, pending, visits, pool) = {
                    let mut grid = Grid::new(world, layer, bounds, pool);
                    positions.retain(|&p| {
                        grid.chunk_overlaps(p)
                            && grid
                                .world_chunk(p)
                                .is_some_and(|d| d.any_color(|c| source.matches(c)))
                    });
                    if !positions.is_empty() {
                        positions.sort_unstable_by_key(|p| crate::coords::zyx_key(*p));
                        visited.extend(positions.iter().map(|&p| (layer, p)));
                        kernel(&mut grid, &ctx, positions, &mut timers);
                    }
                    grid.finish()
                };
                world.resource_mut::<DensePool>().0 = pool;
                commit(world, &rules, layer, changed, pending, visits);
            }
        }
        timers.retain_visited(salt as u32, |layer, p| visited.contains(&(layer, p)));
    }
    *world.resource_mut::<Timers>() = timers;
}

/// Writes a rule's changes into the world, records them for the snapshot and the next tick,
/// and marks their neighbourhood for the rules after it.
fn commit(
    world: &mut World,
    rules: &RuleSet,
    layer: LayerId,
    changed: Vec<super::grid::Changed>,
    pending: FxHashSet<IVec3>,
    visits: u64,
) {
    let mut report = *world.resource::<SimulationReport>();
    report.visited_chunks += visits;
    let mut positions: FxHashSet<IVec3> = FxHashSet::default();
    for ch in changed {
        report.changed_chunks += 1;
        report.changed_voxels += ch.changed_voxels;
        positions.insert(ch.pos);
        write_chunk(world, layer, ch.pos, ch.entity, ch.data);
    }
    *world.resource_mut::<SimulationReport>() = report;
    {
        let mut changes = world.resource_mut::<SimChanges>();
        changes
            .pending
            .extend(pending.into_iter().map(|p| (layer, p)));
        changes
            .since_tick
            .extend(positions.iter().map(|&p| (layer, p)));
    }
    if positions.is_empty() {
        return;
    }
    {
        let mut dirty = world.resource_mut::<DirtyChunks>();
        dirty.chunks.extend(positions.iter().map(|&p| (layer, p)));
    }
    forget_history(world, layer, &positions);
    let around = neighbourhood(positions.iter().map(|&p| (layer, p)));
    mark(world, rules, around.into_iter().collect());
}

fn write_chunk(
    world: &mut World,
    layer: LayerId,
    pos: IVec3,
    entity: Option<Entity>,
    data: Option<Arc<ChunkData>>,
) {
    match (entity, data) {
        (Some(e), Some(d)) => {
            if let Some(mut c) = world.get_mut::<ChunkVoxels>(e) {
                c.0 = d;
            }
        }
        (Some(e), None) => {
            world.despawn(e);
            world.resource_mut::<ChunkIndex>().map.remove(&(layer, pos));
        }
        (None, Some(d)) => {
            let e = world.spawn((layer, ChunkPos(pos), ChunkVoxels(d))).id();
            world
                .resource_mut::<ChunkIndex>()
                .map
                .insert((layer, pos), e);
        }
        (None, None) => {}
    }
}

/// Drops the undo steps that would restore a chunk the simulation changed, with every older
/// one (undo is a stack), and the redo steps if any of them would.
fn forget_history(world: &mut World, layer: LayerId, changed: &FxHashSet<IVec3>) {
    let mut history = world.resource_mut::<UndoHistory>();
    if history.undo.is_empty() && history.redo.is_empty() {
        return;
    }
    let touches = |b: &CommandBuffer| {
        b.edits.iter().any(|e| {
            matches!(e, Edit::RestoreChunk { layer: l, pos, .. } if *l == layer && changed.contains(pos))
        })
    };
    if let Some(newest) = history.undo.iter().rposition(touches) {
        history.undo.drain(..=newest);
    }
    if history.redo.iter().any(touches) {
        history.redo.clear();
    }
}
