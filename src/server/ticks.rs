//! The simulation clock inside the world loop: the poll timeout is the next tick's deadline (no
//! extra thread), a due tick runs between requests, and ticks reach the journal as Step records.

use std::time::{Duration, Instant};

use super::Server;
use crate::journal::JournalStorage;
use crate::methods::Recorder;
use crate::methods::simulation::{record_steps, run_ticks};

impl<S: JournalStorage + 'static> Server<S> {
    /// `timeout`, cut to the next tick's deadline while the simulation ticks on its own.
    pub(super) fn until_next_tick(&mut self, timeout: Duration) -> Duration {
        let Some(period) = self.tick_period() else {
            self.next_tick = None;
            return timeout;
        };
        let now = Instant::now();
        let due = *self.next_tick.get_or_insert(now + period);
        timeout.min(due.saturating_duration_since(now))
    }

    /// Whether the next tick's deadline has passed (the loop then handles an `Event::Tick`).
    pub(super) fn tick_due(&mut self) -> bool {
        let Some(period) = self.tick_period() else {
            self.next_tick = None;
            return false;
        };
        let now = Instant::now();
        let due = *self.next_tick.get_or_insert(now + period);
        now >= due
    }

    /// Runs one simulation tick (its deadline passed). A tick that changed the world is
    /// recorded at once; quiet ones wait for the next request or record (they change nothing
    /// but the tick counter), so an idle server writes nothing.
    ///
    /// A failed journal stops the clock: no world change that the journal cannot record.
    pub(super) fn tick(&mut self) {
        let Some(period) = self.tick_period() else {
            self.next_tick = None;
            return;
        };
        let now = Instant::now();
        let due = self.next_tick.unwrap_or(now);
        let _span = tracing::debug_span!("tick", tick = self.world.tick() + 1).entered();
        let started = Instant::now();
        let recorder: &mut dyn Recorder = match &mut self.persistence {
            Some(p) => p,
            None => &mut self.no_journal,
        };
        let report = match run_ticks(&mut self.world, recorder, 1) {
            Ok(report) => report,
            Err(e) => {
                tracing::debug!(error = %e, "tick refused by the journal");
                self.next_tick = None;
                return;
            }
        };
        self.clock.last_tick = started.elapsed();
        // A fixed rate; after a stall, the next tick is a period away (no burst to catch up).
        let next = due + period;
        self.next_tick = Some(if next <= now { now + period } else { next });
        tracing::trace!(
            active_chunks = report.active_chunks,
            changed_voxels = report.changed_voxels,
            micros = self.clock.last_tick.as_micros() as u64,
            "ticked"
        );
        if report.changed_voxels > 0 {
            self.record_steps();
        }
    }

    /// The time between ticks while the simulation ticks on its own and the journal takes
    /// them (`None` once it failed).
    pub(super) fn tick_period(&self) -> Option<Duration> {
        if self
            .persistence
            .as_ref()
            .is_some_and(|p| p.refusal().is_some())
        {
            return None;
        }
        self.clock.period(self.world.rule_set())
    }

    /// Records the ticks not recorded yet (one Step record).
    pub(super) fn record_steps(&mut self) {
        if self.world.unstamped_ticks() == 0 {
            return;
        }
        let recorder: &mut dyn Recorder = match &mut self.persistence {
            Some(p) => p,
            None => &mut self.no_journal,
        };
        if let Err(e) = record_steps(&mut self.world, recorder) {
            tracing::error!(error = %e, "journal write of simulation steps failed; retried with the next record");
        }
    }
}
