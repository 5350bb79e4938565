//! The simulation methods (`goxel.get_simulation`, `goxel.set_simulation`, `goxel.step`) and
//! how ticks and rule changes reach the journal.
//!
//! A run of ticks becomes one Step record with the next `seq` ([`record_steps`]), written
//! before any other record and before any reply that could show it; a rule change becomes a
//! Meta record ([`change_rules`]), so replay runs the same rules whatever the config says then.
//! `running` and `tick_rate` only decide *when* the server ticks; the ticks themselves are in
//! the journal, so they are not recorded.
//!
//! A failed journal ([`Recorder::refusal`]) refuses steps and rule changes like edits: no
//! tick runs and no rule changes that the journal could not record. Under `fsync: Always`
//! steps and rule changes are held for the group sync like buffers ([`Held`]): a rule change
//! whose sync fails is taken back; a step cannot be (a tick has no inverse), so its ticks stay
//! in memory only, the journal fails and no reply that saw them is sent (see [`Held::Steps`]).

use std::time::Duration;

use serde_json::{Value, json};
use systems::simulation::RuleSet;
use systems::{Source, VoxelWorld};

use super::{Ctx, Held, Recorder, Reply, journal_failed};
use crate::codec::{encode_rules_record, encode_steps};
use crate::config::{ConfigError, RuleConfig, validate_rules};
use crate::journal::RecordKind;
use crate::rpc::{Params, RpcError, codes};

/// Most ticks one `goxel.step` runs (the world thread answers nothing meanwhile).
pub const MAX_STEP_TICKS: u64 = 10_000;

/// When the server ticks on its own; `goxel.set_simulation` switches it.
#[derive(Clone, Copy, Debug)]
pub struct SimClock {
    /// Whether the server ticks on its own.
    pub running: bool,
    /// Ticks per second while running (0: only on `goxel.step`).
    pub tick_rate_hz: u32,
    /// Wall time the last tick took (the world's report has the counts).
    pub last_tick: Duration,
}

impl SimClock {
    /// The clock a configuration starts with.
    pub fn new(config: &crate::config::Config) -> SimClock {
        SimClock {
            running: config.simulation.running,
            tick_rate_hz: config.tick_rate_hz,
            last_tick: Duration::ZERO,
        }
    }

    /// The time between two ticks, when the server ticks on its own with `rules`.
    pub fn period(&self, rules: &RuleSet) -> Option<Duration> {
        (self.running && self.tick_rate_hz > 0 && !rules.is_empty())
            .then(|| Duration::from_secs_f64(1.0 / f64::from(self.tick_rate_hz)))
    }
}

/// Gives the ticks taken since the last record one `seq` and records them as one Step record.
/// On failure the ticks stay unrecorded (they are in memory; the next record tries again). A
/// failed journal refuses them (`Err`, nothing stamped).
pub fn record_steps(world: &mut VoxelWorld, journal: &mut dyn Recorder) -> Result<(), String> {
    if world.unstamped_ticks() == 0 {
        return Ok(());
    }
    if let Some(reason) = journal.refusal() {
        return Err(reason.to_string());
    }
    let Some(stamp) = world.stamp_steps() else {
        return Ok(());
    };
    journal
        .record(
            RecordKind::Step,
            stamp.seq,
            Source::System,
            &encode_steps(stamp.ticks),
        )
        .inspect_err(|_| world.unstamp_steps(stamp))?;
    journal.hold(Held::Steps {
        seq: stamp.seq,
        ticks: stamp.ticks,
    });
    Ok(())
}

/// Runs `ticks` ticks on `world` if the journal can take them: refused (nothing runs) when it
/// failed; under `Always` the held group is synced first, so the ticks never run on top of
/// changes that might still have to be taken back ([`Recorder::sync_held`]).
pub fn run_ticks(
    world: &mut VoxelWorld,
    journal: &mut dyn Recorder,
    ticks: u64,
) -> Result<systems::simulation::SimulationReport, String> {
    if let Some(reason) = journal.refusal() {
        return Err(reason.to_string());
    }
    journal.sync_held(world)?;
    Ok(world.step(ticks))
}

/// Puts `rules` in force and records the change (after any unrecorded ticks). Nothing changes
/// when they are the rules already in force, or when the record cannot be written.
pub fn change_rules(
    world: &mut VoxelWorld,
    journal: &mut dyn Recorder,
    rules: RuleSet,
) -> Result<(), String> {
    if *world.rules() == rules {
        return Ok(());
    }
    if let Some(reason) = journal.refusal() {
        return Err(reason.to_string());
    }
    record_steps(world, journal)?;
    let old = (*world.rules()).clone();
    let payload = encode_rules_record(&rules);
    world.set_rules(rules);
    let seq = world.advance_seq();
    journal
        .record(RecordKind::Meta, seq, Source::System, &payload)
        .inspect_err(|_| {
            world.set_rules(old.clone());
            world.set_seq(seq - 1);
            world.update();
        })?;
    journal.hold(Held::Rules { old, seq });
    Ok(())
}

fn journal_error(message: String) -> RpcError {
    RpcError::server(
        codes::JOURNAL,
        format!("journal write failed: {message}"),
        None,
    )
}

/// The reply of `get_simulation` and `set_simulation`.
fn state(ctx: &Ctx<'_>) -> Value {
    let rules = ctx.world.rules();
    let r = ctx.world.simulation_report();
    let configs: Vec<RuleConfig> = rules.rules.iter().map(RuleConfig::of).collect();
    json!({
        "running": ctx.clock.running,
        "tick_rate": ctx.clock.tick_rate_hz,
        "ticking": ctx.clock.period(&rules).is_some(),
        "tick": ctx.world.tick(),
        "seq": ctx.world.seq(),
        "seed": rules.seed,
        "rules": configs,
        "active_chunks": r.active_chunks,
        "last_tick": {
            "tick": r.tick,
            "active_chunks": r.active_chunks,
            "visited_chunks": r.visited_chunks,
            "changed_chunks": r.changed_chunks,
            "changed_voxels": r.changed_voxels,
            "duration_us": ctx.clock.last_tick.as_micros() as u64,
        },
    })
}

/// `goxel.get_simulation` → the clock, the tick, the rules and what the last tick cost.
pub fn get_simulation(ctx: &mut Ctx<'_>, _params: &Params<'_>) -> Result<Reply, RpcError> {
    Ok(Reply::Value(state(ctx)))
}

/// `goxel.set_simulation {running?, tick_rate?, rules?, seed?}`: switches the clock and, with
/// `rules` or `seed`, replaces the rule set (recorded in the journal). Replies as
/// `get_simulation`.
pub fn set_simulation(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let running: Option<bool> = params.optional("running", 0)?;
    let tick_rate = params.integer_in("tick_rate", 1, 0, 1000)?;
    let rules: Option<Vec<RuleConfig>> = params.optional("rules", 2)?;
    let seed = params.integer::<u64>("seed", 3)?;
    if let Some(rules) = &rules {
        validate_rules(rules, "rules").map_err(|e| match e {
            ConfigError::Invalid { field, reason, .. } => RpcError::invalid_params(&field, reason),
            other => RpcError::invalid_params("rules", other.to_string()),
        })?;
    }
    if rules.is_some() || seed.is_some() {
        let current = ctx.world.rules();
        let next = RuleSet {
            seed: seed.unwrap_or(current.seed),
            bounds: current.bounds,
            rules: match &rules {
                Some(r) => r.iter().map(RuleConfig::rule).collect(),
                None => current.rules.clone(),
            },
        };
        if let Some(error) = ctx.journal.not_leader() {
            return Err(error.clone());
        }
        if let Some(reason) = ctx.journal.refusal() {
            return Err(journal_failed(reason));
        }
        change_rules(ctx.world, ctx.journal, next).map_err(journal_error)?;
    }
    if let Some(running) = running {
        ctx.clock.running = running;
    }
    if let Some(rate) = tick_rate {
        ctx.clock.tick_rate_hz = rate as u32;
    }
    Ok(Reply::Value(state(ctx)))
}

/// `goxel.step {ticks = 1}`: runs `ticks` ticks now and records them; replies with the tick,
/// the seq and what the ticks did.
pub fn step(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let ticks = params
        .integer_in("ticks", 0, 1, MAX_STEP_TICKS as i64)?
        .unwrap_or(1) as u64;
    if let Some(error) = ctx.journal.not_leader() {
        return Err(error.clone());
    }
    if let Some(reason) = ctx.journal.refusal() {
        return Err(journal_failed(reason));
    }
    record_steps(ctx.world, ctx.journal).map_err(journal_error)?;
    let started = std::time::Instant::now();
    let r = run_ticks(ctx.world, ctx.journal, ticks).map_err(journal_error)?;
    ctx.clock.last_tick = started.elapsed() / ticks as u32;
    record_steps(ctx.world, ctx.journal).map_err(|e| {
        journal_error(format!(
            "{e}; the {ticks} ticks ran and are recorded with the next record"
        ))
    })?;
    Ok(Reply::Value(json!({
        "tick": ctx.world.tick(),
        "seq": ctx.world.seq(),
        "ticks": ticks,
        "changed_voxels": r.changed_voxels,
        "changed_chunks": r.changed_chunks,
        "active_chunks": ctx.world.simulation_report().active_chunks,
        "world_hash": ctx.world.snapshot().hash_hex(),
    })))
}
