//! The world's schedule and its facade: how a bevy_ecs `World` becomes a voxel world.
//!
//! One [`VoxelWorld::update`] runs the schedule once: [`WorldSystems::Edit`] applies every
//! pending command buffer in order, [`WorldSystems::Simulate`] runs one simulation tick when a
//! step was requested (see [`crate::simulation`]), and [`WorldSystems::Publish`] publishes the
//! snapshot readers see.
//!
//! ```
//! use systems::{CommandBuffer, Color, Edit, Source, VoxelWorld, WorldSettings};
//! use glam::IVec3;
//!
//! let mut world = VoxelWorld::new(WorldSettings::default());
//! let mut buffer = CommandBuffer::new(Source::Rpc);
//! buffer.push(Edit::Set { pos: IVec3::new(1, 2, 3), color: Color::rgb(255, 0, 0) });
//! world.submit(7, buffer);
//! let applied = world.update();
//! assert_eq!(applied[0].ticket, 7);
//! assert_eq!(applied[0].result.as_ref().unwrap().changed_count, 1);
//! let snapshot = world.snapshot();
//! assert_eq!(snapshot.voxel(snapshot.active_layer, IVec3::new(1, 2, 3)), Color::rgb(255, 0, 0));
//! ```

use std::sync::Arc;

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::{IntoScheduleConfigs, Schedule, ScheduleLabel, SystemSet};

use crate::apply::{
    AppliedBuffers, DirtyChunks, PendingBuffers, UndoHistory, WorldLimits, WorldSeq,
    apply_command_buffers,
};
use crate::edit::{Applied, CommandBuffer, EditLimits, HistoryMode, PendingBuffer};
use crate::index::ChunkIndex;
use crate::layer::{ActiveLayer, LayerId, LayerIndex, LayerInfo};
use crate::simulation::{
    RuleSet, Rules, SimChanges, SimulationReport, Timers, add_simulation_systems,
    insert_simulation_resources,
};
use crate::snapshot::{PublishedSnapshot, WorldSnapshot, publish_snapshot};

/// Settings of the world, from the server configuration.
#[derive(Clone, Debug)]
pub struct WorldSettings {
    /// Limits every buffer must respect.
    pub limits: EditLimits,
    /// Undo steps kept.
    pub undo_depth: usize,
}

impl Default for WorldSettings {
    fn default() -> WorldSettings {
        WorldSettings {
            limits: EditLimits::default(),
            undo_depth: 256,
        }
    }
}

/// The phases of one update, in order.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorldSystems {
    /// Apply pending command buffers.
    Edit,
    /// Advance the simulation.
    Simulate,
    /// Publish the snapshot.
    Publish,
}

/// The label of the world's schedule.
#[derive(ScheduleLabel, Debug, Clone, PartialEq, Eq, Hash)]
pub struct WorldUpdate;

/// Simulation steps taken so far.
#[derive(Resource, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tick(pub u64);

/// Simulation steps requested: each update runs one and counts it down.
#[derive(Resource, Clone, Copy, Debug, Default)]
pub struct RequestedSteps(pub u64);

/// The tick counter as of the last step record: the ticks after it have no sequence number
/// yet (see [`VoxelWorld::stamp_steps`]).
#[derive(Resource, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StampedTick(pub u64);

/// A run of ticks given one sequence number, for one journal record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepStamp {
    /// The sequence number the run took.
    pub seq: u64,
    /// How many ticks it holds.
    pub ticks: u64,
}

/// Builds the schedule of one update.
pub fn build_schedule() -> Schedule {
    let mut schedule = Schedule::new(WorldUpdate);
    schedule.configure_sets(
        (
            WorldSystems::Edit,
            WorldSystems::Simulate,
            WorldSystems::Publish,
        )
            .chain(),
    );
    schedule.add_systems((
        apply_command_buffers.in_set(WorldSystems::Edit),
        publish_snapshot.in_set(WorldSystems::Publish),
    ));
    add_simulation_systems(&mut schedule);
    schedule
}

/// Creates a world with its resources and one layer, "Layer 1", active.
pub fn build_world(settings: &WorldSettings) -> World {
    let mut world = World::new();
    world.insert_resource(ChunkIndex::default());
    world.insert_resource(WorldLimits(settings.limits));
    world.insert_resource(PendingBuffers::default());
    world.insert_resource(AppliedBuffers::default());
    world.insert_resource(WorldSeq::default());
    world.insert_resource(DirtyChunks {
        layers: true,
        ..Default::default()
    });
    world.insert_resource(UndoHistory {
        depth: settings.undo_depth,
        ..Default::default()
    });
    world.insert_resource(PublishedSnapshot::default());
    world.insert_resource(crate::changes::ChangeLog::default());
    world.insert_resource(Tick::default());
    world.insert_resource(StampedTick::default());
    world.insert_resource(RequestedSteps::default());
    insert_simulation_resources(&mut world);
    let first = LayerId(1);
    let entity = world
        .spawn((
            first,
            LayerInfo {
                name: "Layer 1".into(),
                visible: true,
                order: 0,
            },
        ))
        .id();
    let mut index = LayerIndex::default();
    index.by_id.insert(first, entity);
    world.insert_resource(index);
    world.insert_resource(ActiveLayer(first));
    world
}

/// A voxel world: the bevy_ecs `World` with its schedule.
pub struct VoxelWorld {
    /// The ECS world; tests and the server may read resources directly.
    pub world: World,
    schedule: Schedule,
}

impl VoxelWorld {
    /// A new world with one layer, its first snapshot published.
    pub fn new(settings: WorldSettings) -> VoxelWorld {
        let mut w = VoxelWorld {
            world: build_world(&settings),
            schedule: build_schedule(),
        };
        w.update();
        w
    }

    /// Queues a buffer for the next update; `ticket` comes back in its [`Applied`].
    pub fn submit(&mut self, ticket: u64, buffer: CommandBuffer) {
        self.world
            .resource_mut::<PendingBuffers>()
            .0
            .push(PendingBuffer { ticket, buffer });
    }

    /// Applies every queued buffer in order, runs the requested simulation steps, publishes
    /// the snapshot and returns the buffers' results.
    pub fn update(&mut self) -> Vec<Applied> {
        self.schedule.run(&mut self.world);
        while self.world.resource::<RequestedSteps>().0 > 0 {
            self.schedule.run(&mut self.world);
        }
        std::mem::take(&mut self.world.resource_mut::<AppliedBuffers>().0)
    }

    /// Requests one simulation step in the next update.
    pub fn request_step(&mut self) {
        self.world.resource_mut::<RequestedSteps>().0 += 1;
    }

    /// Runs `ticks` simulation ticks now (queued buffers are applied first); returns what they
    /// did, summed. The ticks have no sequence number until [`VoxelWorld::stamp_steps`].
    pub fn step(&mut self, ticks: u64) -> SimulationReport {
        let mut total = SimulationReport::default();
        for _ in 0..ticks {
            self.world.resource_mut::<RequestedSteps>().0 = 1;
            self.schedule.run(&mut self.world);
            let r = *self.world.resource::<SimulationReport>();
            total.active_chunks += r.active_chunks;
            total.visited_chunks += r.visited_chunks;
            total.changed_chunks += r.changed_chunks;
            total.changed_voxels += r.changed_voxels;
        }
        total.tick = self.tick();
        total
    }

    /// What the last tick did.
    pub fn simulation_report(&self) -> SimulationReport {
        *self.world.resource::<SimulationReport>()
    }

    /// The rules in force.
    pub fn rules(&self) -> Arc<RuleSet> {
        self.world.resource::<Rules>().0.clone()
    }

    /// The rules in force, borrowed.
    pub fn rule_set(&self) -> &RuleSet {
        &self.world.resource::<Rules>().0
    }

    /// Replaces the rules (and drops the timers of the old ones); the next tick visits every
    /// chunk. Takes no sequence number (a recorded rule change takes one with
    /// [`VoxelWorld::advance_seq`]).
    pub fn set_rules(&mut self, rules: RuleSet) {
        self.world.resource_mut::<Rules>().0 = Arc::new(rules);
        self.world.resource_mut::<SimChanges>().activate_all();
        *self.world.resource_mut::<Timers>() = Timers::default();
        self.update();
    }

    /// The running `After` timers (not content, but part of what a snapshot file keeps).
    pub fn timers(&self) -> &Timers {
        self.world.resource::<Timers>()
    }

    /// Sets the running timers (recovery from a snapshot file, after the rules).
    pub fn set_timers(&mut self, timers: Timers) {
        *self.world.resource_mut::<Timers>() = timers;
    }

    /// Gives the ticks taken since the last stamp one sequence number, for one journal record;
    /// `None` when there are none.
    pub fn stamp_steps(&mut self) -> Option<StepStamp> {
        let tick = self.tick();
        let stamped = self.world.resource::<StampedTick>().0;
        if tick == stamped {
            return None;
        }
        self.world.resource_mut::<StampedTick>().0 = tick;
        let seq = self.advance_seq();
        Some(StepStamp {
            seq,
            ticks: tick - stamped,
        })
    }

    /// Takes a stamp back (its record could not be written): the ticks wait for the next one.
    pub fn unstamp_steps(&mut self, stamp: StepStamp) {
        self.world.resource_mut::<StampedTick>().0 -= stamp.ticks;
        self.set_seq(stamp.seq - 1);
        self.update();
    }

    /// Ticks taken that have no sequence number yet.
    pub fn unstamped_ticks(&self) -> u64 {
        self.tick() - self.world.resource::<StampedTick>().0
    }

    /// Takes the next sequence number for a record that is not a buffer (a step, a rule
    /// change) and publishes it; returns it.
    pub fn advance_seq(&mut self) -> u64 {
        let seq = self.seq() + 1;
        self.set_seq(seq);
        self.update();
        seq
    }

    /// Sets the tick counter (recovery from a snapshot), as stamped.
    pub fn set_tick(&mut self, tick: u64) {
        self.world.resource_mut::<Tick>().0 = tick;
        self.world.resource_mut::<StampedTick>().0 = tick;
        self.update();
    }

    /// Applies one buffer now and returns its result, with what it took out of the undo
    /// history ([`Applied::displaced`]), so [`VoxelWorld::revert_last`] can take it back exactly.
    pub fn apply(&mut self, buffer: CommandBuffer) -> Applied {
        self.submit(0, buffer);
        let mut applied = self.update().pop().expect("one buffer in, one result out");
        applied.displaced = std::mem::take(&mut self.world.resource_mut::<UndoHistory>().displaced);
        applied
    }

    /// Takes back the buffer just applied by [`VoxelWorld::apply`] (whose result was
    /// `applied`), when what follows it failed: the journal could not record it, say. The
    /// world, its sequence number and the undo and redo history return exactly to where they
    /// were before it. Several buffers are taken back newest first ([`VoxelWorld::revert_all`]).
    pub fn revert_last(&mut self, applied: Applied) {
        if applied.result.is_err() {
            return;
        }
        let Applied {
            history,
            effective,
            displaced,
            ..
        } = applied;
        let inverse = {
            let mut h = self.world.resource_mut::<UndoHistory>();
            match history {
                HistoryMode::Record | HistoryMode::Redo => h.undo.pop_back(),
                HistoryMode::Undo => h.redo.pop(),
                HistoryMode::Skip => None,
            }
        };
        let Some(mut inverse) = inverse.or(displaced.inverse) else {
            return;
        };
        let seq = self.seq();
        inverse.history = HistoryMode::Skip;
        self.apply(inverse);
        self.set_seq(seq - 1);
        {
            let mut h = self.world.resource_mut::<UndoHistory>();
            match history {
                HistoryMode::Undo => h.undo.extend(effective),
                HistoryMode::Redo => h.redo.extend(effective),
                HistoryMode::Record => {
                    h.redo = displaced.redo;
                    if let Some(step) = displaced.evicted {
                        h.undo.push_front(step);
                    }
                }
                HistoryMode::Skip => {}
            }
        }
        // Publish the reverted state with the restored sequence number.
        self.world
            .resource_mut::<crate::apply::DirtyChunks>()
            .layers = true;
        self.update();
    }

    /// Takes back buffers applied one by one with [`VoxelWorld::apply`], given oldest first (in
    /// the order they were applied): the newest is taken back first, so the world, `seq` and
    /// the history end exactly where they were before the oldest.
    pub fn revert_all(&mut self, applied: Vec<Applied>) {
        for applied in applied.into_iter().rev() {
            self.revert_last(applied);
        }
    }

    /// Turns the collection of changes for [`VoxelWorld::take_changes`] on or off (off drops
    /// what was collected).
    pub fn track_changes(&mut self, on: bool) {
        let mut log = self.world.resource_mut::<crate::changes::ChangeLog>();
        log.enabled = on;
        if !on {
            log.take();
        }
    }

    /// The chunks (and whether layer metadata) changed in published snapshots since the last
    /// call, while tracking is on.
    pub fn take_changes(&mut self) -> crate::Changes {
        self.world
            .resource_mut::<crate::changes::ChangeLog>()
            .take()
    }

    /// The latest published snapshot.
    pub fn snapshot(&self) -> Arc<WorldSnapshot> {
        self.world.resource::<PublishedSnapshot>().0.clone()
    }

    /// The ids `n` layer creations would get in a buffer applied now, with no deletion before
    /// them (what a script's [`ScratchWorld`](crate::ScratchWorld) must have predicted).
    pub fn next_layer_ids(&self, n: usize) -> Vec<LayerId> {
        self.world.resource::<LayerIndex>().next_free_ids(n)
    }

    /// Sequence number of the last applied buffer.
    pub fn seq(&self) -> u64 {
        self.world.resource::<WorldSeq>().0
    }

    /// Simulation steps taken.
    pub fn tick(&self) -> u64 {
        self.world.resource::<Tick>().0
    }

    /// Sets the sequence number (recovery from a snapshot file starts from its seq).
    pub fn set_seq(&mut self, seq: u64) {
        self.world.resource_mut::<WorldSeq>().0 = seq;
    }

    /// Heap bytes of all chunk storage plus the index (for memory targets and status).
    pub fn storage_bytes(&mut self) -> usize {
        let mut q = self.world.query::<&crate::apply::ChunkVoxels>();
        let chunks: usize = q
            .iter(&self.world)
            .map(|c| c.0.heap_bytes() + std::mem::size_of::<crate::storage::ChunkData>())
            .sum();
        let index = self.world.resource::<ChunkIndex>().map.capacity()
            * (std::mem::size_of::<(LayerId, glam::IVec3, Entity)>() + 1);
        chunks + index
    }
}
