//! The simulation: rules that change the world on each tick, over the active chunks only.
//!
//! A [`RuleSet`] is data (the server reads it from RON); each rule kind is one system in
//! [`WorldSystems::Simulate`](crate::WorldSystems::Simulate), and one tick is one run of those
//! systems. Ticks are taken only when asked for ([`VoxelWorld::step`](crate::VoxelWorld::step)):
//! the world has no clock.
//!
//! ```
//! use systems::simulation::{Matcher, Rule, RuleKind, RuleSet};
//! use systems::{Color, CommandBuffer, Edit, Source, VoxelWorld, WorldSettings};
//! use glam::IVec3;
//!
//! let sand = Color::rgb(194, 178, 128);
//! let mut world = VoxelWorld::new(WorldSettings::default());
//! world.set_rules(RuleSet {
//!     seed: 1,
//!     rules: vec![Rule::new(RuleKind::Fall { matches: Matcher::colors([sand]), slide: false })],
//!     ..RuleSet::default()
//! });
//! let mut buffer = CommandBuffer::new(Source::Rpc);
//! buffer.push(Edit::Set { pos: IVec3::new(0, 0, 3), color: sand });
//! buffer.push(Edit::Set { pos: IVec3::new(0, 0, 0), color: Color::rgb(9, 9, 9) });
//! world.apply(buffer);
//! world.step(5);
//! let s = world.snapshot();
//! assert_eq!(s.voxel(s.active_layer, IVec3::new(0, 0, 1)), sand, "it lands on the stone");
//! assert_eq!(world.tick(), 5);
//! assert_eq!(world.simulation_report().active_chunks, 0, "a settled world is quiet");
//! ```
//!
//! # Determinism
//!
//! A tick's result depends only on the world (its voxels and the [`Timers`] of `After` rules),
//! the rule set and the tick number. Rules apply in
//! a fixed order (the system order: [`Fall`](RuleKind::Fall), [`Flow`](RuleKind::Flow),
//! [`Life`](RuleKind::Life), [`Decay`](RuleKind::Decay), [`Grow`](RuleKind::Grow); rules of one
//! kind in rule-set order), each layer separately, by ascending id. Inside a rule, every
//! decision reads the state as it stood when the rule (or its phase) began and writes a second
//! buffer, so the order chunks are visited in does not matter; the one chain that is ordered on
//! purpose is a falling column, resolved bottom-up so a column falls as a whole. Randomness is
//! [`random::roll`]: a hash of (seed, tick, position, rule), never a clock.
//!
//! # Active chunks
//!
//! A rule can change a voxel only if something near it changed since the rule last ran, or if
//! it left something undone on purpose (a move lost to a neighbour, a voxel that may still
//! decay: the chunk is *pending*). So each tick visits the chunks marked [`Active`]: those
//! changed since the last tick (by edits or by the simulation) and their 26 neighbours, plus
//! the pending ones, and of those only the chunks holding a voxel some rule matches. A column
//! that falls through several chunks pulls the chunks above it in as it goes, and a rule sees
//! the changes of the rules before it in the same tick. The result is exactly that of visiting
//! every chunk on every tick (the tests check this against [`SimulationSettings::full_scan`]),
//! so the active set is only an optimisation: a world recovered from a snapshot, where every
//! chunk starts active, continues exactly as the live one did. A quiet world costs nothing.
//!
//! # Undo
//!
//! Steps are not undoable: undo covers client edits. An undo step restores whole chunks, so a
//! tick that changes a chunk drops the undo steps that would restore it (and all older ones),
//! and the redo steps likewise; undo never takes back the simulation's moves.

mod active;
mod change;
mod fall;
mod flow;
mod grid;
mod life;
pub mod random;
mod timers;

use std::sync::Arc;

use bevy_ecs::component::Component;
use bevy_ecs::prelude::*;
use bevy_ecs::schedule::{IntoScheduleConfigs, Schedule, SystemSet};
use glam::IVec3;
use rustc_hash::FxHashSet;

use crate::color::Color;
use crate::coords::VoxelBox;
use crate::layer::LayerId;
use crate::schedule::{RequestedSteps, WorldSystems};

pub use active::collect_edit_changes;
pub use timers::Timers;

/// Every rule the simulation runs, and the seed of its randomness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSet {
    /// Seeds [`random::roll`].
    pub seed: u64,
    /// The walls of the world for the rules: nothing moves, grows or is born outside. Part of
    /// the rule set (and so of its journal record), not read from the edit limits, so a replay
    /// under other limits runs the same simulation.
    pub bounds: VoxelBox,
    /// The rules; those of one kind apply in this order.
    pub rules: Vec<Rule>,
}

impl Default for RuleSet {
    fn default() -> RuleSet {
        RuleSet {
            seed: 0,
            bounds: crate::edit::EditLimits::default().bounds,
            rules: Vec::new(),
        }
    }
}

impl RuleSet {
    /// Whether there is no rule at all.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// One rule: what it does, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The layer it acts on; `None`: every layer (each on its own).
    pub layer: Option<LayerId>,
    /// The box it acts in; cells outside are walls to it: never read as matching, never
    /// written, never entered. `None`: the whole world (the rule set's bounds are walls).
    pub region: Option<VoxelBox>,
    /// What it does.
    pub kind: RuleKind,
}

impl Rule {
    /// A rule acting everywhere.
    pub fn new(kind: RuleKind) -> Rule {
        Rule {
            layer: None,
            region: None,
            kind,
        }
    }
}

/// What a rule does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleKind {
    /// Matching voxels move down into empty cells; a column falls as a whole. With `slide`, a
    /// voxel that cannot fall moves diagonally down (one of ±x, ±y, then down) into an empty
    /// cell whose cell above is empty too, so sand forms piles.
    Fall {
        /// The material.
        matches: Matcher,
        /// Whether blocked voxels slide diagonally down.
        slide: bool,
    },
    /// A fluid: matching voxels fall like [`RuleKind::Fall`]; one that cannot fall moves one
    /// cell sideways towards the nearest drop (an empty cell with an empty cell below) at most
    /// `spread` cells away along ±x or ±y, through empty cells only. So fluid runs off edges and
    /// levels out in a basin (to within one voxel), and then stops.
    Flow {
        /// The fluid.
        matches: Matcher,
        /// How far a voxel looks for a drop, in cells (≥ 1).
        spread: u32,
    },
    /// A 3D outer-totalistic cellular automaton. Matching voxels are alive; an empty cell with a
    /// number of live neighbours in `birth` becomes `color`, a live cell with a number in
    /// `survive` stays (keeping its colour) and any other live cell becomes empty. Other voxels
    /// are obstacles: not alive, never changed.
    Life {
        /// Which voxels are alive.
        alive: Matcher,
        /// The colour of newborn cells.
        color: Color,
        /// Bit `n` set: an empty cell with `n` live neighbours is born (bit 0 is never set).
        birth: u32,
        /// Bit `n` set: a live cell with `n` live neighbours survives.
        survive: u32,
        /// Which cells are neighbours.
        neighbourhood: Neighbourhood,
    },
    /// Matching voxels change into `into` (the empty colour: they vanish), each on a tick chosen
    /// by `timing`: at random, or a number of ticks after it appeared.
    Decay {
        /// What decays.
        matches: Matcher,
        /// What it becomes.
        into: Color,
        /// When.
        timing: Timing,
    },
    /// Matching voxels spawn `into` in one neighbour cell that `onto` matches (`None`: an empty
    /// cell), chosen at random among those; the voxel itself stays.
    Grow {
        /// What grows.
        matches: Matcher,
        /// What it spawns.
        into: Color,
        /// Which cells it may spawn into; `None`: empty cells.
        onto: Option<Matcher>,
        /// Which cells are neighbours.
        neighbourhood: Neighbourhood,
        /// When.
        timing: Timing,
    },
}

impl RuleKind {
    /// The voxels this rule acts from: a chunk without any is never visited for it.
    pub fn source(&self) -> &Matcher {
        match self {
            RuleKind::Fall { matches, .. }
            | RuleKind::Flow { matches, .. }
            | RuleKind::Decay { matches, .. }
            | RuleKind::Grow { matches, .. } => matches,
            RuleKind::Life { alive, .. } => alive,
        }
    }

    /// The kind's name, as the configuration spells it.
    pub fn name(&self) -> &'static str {
        match self {
            RuleKind::Fall { .. } => "Fall",
            RuleKind::Flow { .. } => "Flow",
            RuleKind::Life { .. } => "Life",
            RuleKind::Decay { .. } => "Decay",
            RuleKind::Grow { .. } => "Grow",
        }
    }
}

/// Which voxels a rule matches. Never matches the empty colour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Matcher {
    /// Every non-empty voxel.
    Any,
    /// Voxels of exactly these colours.
    Colors(Box<[Color]>),
}

impl Matcher {
    /// A matcher for these colours (empty ones are dropped, duplicates removed).
    pub fn colors(colors: impl IntoIterator<Item = Color>) -> Matcher {
        let mut v: Vec<Color> = colors
            .into_iter()
            .map(Color::canonical)
            .filter(|c| !c.is_empty())
            .collect();
        v.sort_unstable();
        v.dedup();
        Matcher::Colors(v.into_boxed_slice())
    }

    /// Whether `c` matches.
    #[inline]
    pub fn matches(&self, c: Color) -> bool {
        match self {
            // Alpha 0 is empty (and the walls of `grid` have alpha 0 too).
            Matcher::Any => c.0[3] != 0,
            Matcher::Colors(v) => v.contains(&c),
        }
    }
}

/// Which cells count as neighbours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Neighbourhood {
    /// The 26 cells of the 3×3×3 cube around a cell.
    Moore,
    /// The 6 face neighbours.
    VonNeumann,
}

impl Neighbourhood {
    /// How many neighbours a cell has.
    pub fn size(self) -> u32 {
        match self {
            Neighbourhood::Moore => 26,
            Neighbourhood::VonNeumann => 6,
        }
    }

    /// The neighbour offsets, in a fixed order (z, then y, then x).
    pub fn offsets(self) -> &'static [IVec3] {
        const fn moore() -> [IVec3; 26] {
            let mut out = [IVec3::ZERO; 26];
            let mut n = 0;
            let mut z = -1;
            while z <= 1 {
                let mut y = -1;
                while y <= 1 {
                    let mut x = -1;
                    while x <= 1 {
                        if x != 0 || y != 0 || z != 0 {
                            out[n] = IVec3::new(x, y, z);
                            n += 1;
                        }
                        x += 1;
                    }
                    y += 1;
                }
                z += 1;
            }
            out
        }
        static MOORE: [IVec3; 26] = moore();
        static VON_NEUMANN: [IVec3; 6] = [
            IVec3::new(0, 0, -1),
            IVec3::new(0, -1, 0),
            IVec3::new(-1, 0, 0),
            IVec3::new(1, 0, 0),
            IVec3::new(0, 1, 0),
            IVec3::new(0, 0, 1),
        ];
        match self {
            Neighbourhood::Moore => &MOORE,
            Neighbourhood::VonNeumann => &VON_NEUMANN,
        }
    }
}

/// When a [`RuleKind::Decay`] or [`RuleKind::Grow`] fires for a voxel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timing {
    /// On each tick with probability `per_2_32 / 2³²`, decided by [`random::roll`].
    Chance {
        /// The probability, scaled by 2³² (1..=2³²).
        per_2_32: u64,
    },
    /// `ticks` ticks after the rule first saw the voxel (on that tick itself for 1), and again
    /// every `ticks` ticks while it still matches; a [`RuleKind::Grow`] voxel counts only
    /// while it has a cell to grow into. Kept in [`Timers`].
    After {
        /// The delay (≥ 1).
        ticks: u32,
    },
}

impl Timing {
    /// The probability `p` (0 < p ≤ 1) as a [`Timing::Chance`].
    pub fn chance(p: f64) -> Timing {
        let scaled = (p.clamp(0.0, 1.0) * (1u64 << 32) as f64).round() as u64;
        Timing::Chance {
            per_2_32: scaled.clamp(1, 1 << 32),
        }
    }
}

/// How the simulation runs, apart from its rules.
#[derive(Resource, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimulationSettings {
    /// Visit every chunk on every tick instead of the active ones: the reference the active-set
    /// optimisation is tested against. Slow; never set outside tests and benchmarks.
    pub full_scan: bool,
}

/// The rules in force.
#[derive(Resource, Clone, Debug, Default)]
pub struct Rules(pub Arc<RuleSet>);

/// Marks a chunk entity to be visited by the rules in the current tick.
#[derive(Component, Clone, Copy, Debug, Default)]
#[component(storage = "SparseSet")]
pub struct Active;

/// What the last tick did and cost. Deterministic: counts, never times.
#[derive(Resource, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimulationReport {
    /// The tick it was (the tick counter after it).
    pub tick: u64,
    /// Chunks marked [`Active`] during the tick.
    pub active_chunks: u64,
    /// Chunk visits by the rules (a chunk visited by two rules counts twice).
    pub visited_chunks: u64,
    /// Chunks the tick changed.
    pub changed_chunks: u64,
    /// Voxels the tick changed.
    pub changed_voxels: u64,
}

/// Chunks changed since the simulation last looked: by edits between ticks, by the rules of
/// the current and the last tick. Their neighbourhoods are what the next rules must visit.
#[derive(Resource, Debug, Default)]
pub struct SimChanges {
    /// Changed since the last tick began, for the next tick.
    pub(crate) since_tick: FxHashSet<(LayerId, IVec3)>,
    /// Chunks that asked to be visited again next tick.
    pub(crate) pending: FxHashSet<(LayerId, IVec3)>,
    /// Every chunk is active on the next tick (a new world, new rules).
    pub(crate) all: bool,
}

impl SimChanges {
    /// Marks every chunk active for the next tick.
    pub fn activate_all(&mut self) {
        self.all = true;
    }
}

/// The systems of one tick, in [`WorldSystems::Simulate`].
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SimulationSystems;

/// Adds the simulation systems to the world's schedule: they run in
/// [`WorldSystems::Simulate`] when a step was requested, in this order.
pub fn add_simulation_systems(schedule: &mut Schedule) {
    schedule.configure_sets(
        SimulationSystems
            .in_set(WorldSystems::Simulate)
            .run_if(step_requested),
    );
    schedule.add_systems(
        (
            collect_edit_changes.in_set(WorldSystems::Simulate),
            (
                active::begin_tick,
                fall::fall_voxels,
                flow::flow_fluids,
                life::step_life,
                change::decay_voxels,
                change::grow_voxels,
                active::end_tick,
            )
                .chain()
                .in_set(SimulationSystems),
        )
            .chain(),
    );
}

/// Inserts the simulation's resources.
pub fn insert_simulation_resources(world: &mut World) {
    world.insert_resource(Rules::default());
    world.insert_resource(SimulationSettings::default());
    world.insert_resource(SimulationReport::default());
    world.insert_resource(grid::DensePool::default());
    world.insert_resource(Timers::default());
    world.insert_resource(SimChanges {
        all: true,
        ..Default::default()
    });
}

fn step_requested(steps: Res<RequestedSteps>) -> bool {
    steps.0 > 0
}
