//! The world loop: one mio loop in the world thread, driven by a closed set of [`Event`]s.
//!
//! Per iteration: poll (the timeout is the next tick's deadline), turn what happened into
//! events — connections to accept, connections with I/O, a signal, a due tick, finished scripts,
//! finished background jobs — and handle each; then read and handle every ready connection
//! (edits applied at once, replies queued), let the journal make the iteration's edits durable
//! as one group (`held.rs`), and write the replies. Ticks and edits thus interleave at tick
//! boundaries, in `seq` order.
//!
//! Right after plain requests the loop polls without sleeping for [`SPIN_AFTER_WORK`]: on these
//! VMs a thread that sleeps is slow to wake (ARCHITECTURE.md has the measurements). It does not
//! spin while scripts start or finish, when the script workers need the cores more.

use std::io::Read;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use mio::{Events, Token};

use super::jobs::JobDone;
use super::{Ended, FIRST_CONNECTION, FIRST_LISTENER, SIGNAL, Server, WAKER};
use crate::journal::JournalStorage;
use crate::replication;
use crate::script_host::WorldHost;
use crate::scripting::ScriptDone;

/// How long the loop keeps polling without sleeping after it handled an event.
const SPIN_AFTER_WORK: Duration = Duration::from_micros(50);

/// Everything that drives the world loop. The loop owns the world and every socket, so each of
/// these is handled in the world thread, in the order the loop gathered them.
pub(super) enum Event {
    /// Listener `index` has connections waiting.
    Accept(usize),
    /// A connection is readable (or writable again).
    Io(usize),
    /// SIGINT or SIGTERM: shut down cleanly.
    Signal,
    /// The simulation tick's deadline passed.
    Tick,
    /// A script finished on the pool.
    ScriptDone(Box<ScriptDone<WorldHost>>),
    /// A background job (save, export, render) finished.
    JobDone(JobDone),
    /// The replication thread reported (records to apply, the lease taken or lost).
    Replication(replication::Event),
}

impl<S: JournalStorage + 'static> Server<S> {
    /// Serves until stopped (a signal, or [`RunningServer::stop`](super::RunningServer::stop)).
    pub(super) fn run(mut self) -> anyhow::Result<Ended> {
        let mut events = Events::with_capacity(1024);
        let mut queue: Vec<Event> = Vec::new();
        let mut scratch = vec![0u8; 64 << 10];
        let mut busy_until: Option<Instant> = None;
        let result = loop {
            // Right after work, poll without sleeping for a short while: on these VMs a thread
            // that sleeps is slow to wake (measured: 20 k sequential req/s when the loop stays
            // awake between a reply and the next request, 14 k when it sleeps at once).
            let timeout = match busy_until {
                Some(t) if Instant::now() < t => {
                    // Let a script worker sharing this core run meanwhile.
                    std::thread::yield_now();
                    Duration::ZERO
                }
                _ => Duration::from_secs(1),
            };
            let mut timeout = self.until_next_tick(timeout);
            if let Some(due) = self.subscriptions.fanout_deadline() {
                timeout = timeout.min(due.saturating_duration_since(Instant::now()));
            }
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                break Err(e).context("polling");
            }
            let script_count = (self.pending.len(), self.scripts_finished);
            for event in events.iter() {
                queue.push(match event.token() {
                    // A script or job finished: its event is gathered below.
                    WAKER => continue,
                    SIGNAL => Event::Signal,
                    Token(t) if t < FIRST_CONNECTION => Event::Accept(t - FIRST_LISTENER),
                    Token(t) => Event::Io(t),
                });
            }
            self.handle_all(&mut queue);
            if self.stop.load(Ordering::SeqCst) {
                break Ok(Ended::Stopped);
            }
            let ticked = self.tick_due();
            if ticked {
                queue.push(Event::Tick);
            }
            queue.extend(
                self.done
                    .try_iter()
                    .map(|done| Event::ScriptDone(Box::new(done))),
            );
            queue.extend(self.jobs_done.1.try_iter().map(Event::JobDone));
            if let Some(r) = &self.replica {
                queue.extend(r.events().try_iter().map(Event::Replication));
            }
            self.handle_all(&mut queue);
            let mut ready = std::mem::take(&mut self.ready);
            ready.sort_unstable();
            ready.dedup();
            for token in ready {
                self.service(token, &mut scratch);
            }
            let scripts_moved = script_count != (self.pending.len(), self.scripts_finished);
            self.settle();
            let fanout = Instant::now();
            if self.notify() {
                self.flush_all();
                self.subscriptions.fanout_took(fanout.elapsed());
            } else {
                self.flush_all();
            }
            if self.replica.as_ref().is_some_and(|r| r.wants_rejoin()) {
                tracing::warn!(
                    "replication: this node's history diverged from the stream's (it was fenced); the server stops and starts again to set its own records aside and follow"
                );
                break Ok(Ended::Rejoin);
            }
            // Spin after plain requests only: when scripts started or finished, the workers
            // need the cores more than this loop needs a fast wake-up.
            if scripts_moved {
                busy_until = None;
            } else if !events.is_empty() || ticked {
                // After a tick too: requests that arrived during it are answered without a
                // sleep and wake-up in between.
                busy_until = Some(Instant::now() + SPIN_AFTER_WORK);
            }
        };
        self.shutdown();
        for id in self.signal_ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
        result
    }

    /// Handles the gathered events in order.
    fn handle_all(&mut self, queue: &mut Vec<Event>) {
        for event in queue.drain(..) {
            self.handle(event);
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Accept(index) => self.accept(index),
            // Read after every event is in: a connection is serviced once per iteration.
            Event::Io(token) => self.ready.push(token),
            Event::Signal => {
                if let Some((read, _)) = &mut self.signals {
                    let mut b = [0u8; 64];
                    while matches!(read.read(&mut b), Ok(n) if n > 0) {}
                }
                tracing::info!("signal received, shutting down");
                self.stop.store(true, Ordering::SeqCst);
            }
            Event::Tick => self.tick(),
            Event::ScriptDone(done) => self.finish_script(*done),
            Event::JobDone(done) => self.finish_job(done),
            Event::Replication(event) => {
                let outcome = match (&mut self.replica, &mut self.persistence) {
                    (Some(r), Some(p)) => r.handle(event, &mut self.world, p),
                    _ => None,
                };
                if let Some(outcome) = outcome {
                    self.stream_outcome(outcome);
                }
            }
        }
    }

    /// Finishes what was accepted: the scripts in flight, their group sync, a save in
    /// progress, the unrecorded ticks, the journal's shutdown snapshot, the last replies.
    pub(super) fn shutdown(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.shutdown();
        }
        while let Ok(done) = self.done.try_recv() {
            self.finish_script(done);
        }
        // The last scripts' edits get their group sync like any other iteration's.
        self.settle();
        // And, replicating, the stream's ack (the replies waiting for it go out or are
        // withdrawn); then the lease goes, so a follower takes over at once.
        let mut outcomes = Vec::new();
        if let (Some(r), Some(p)) = (&mut self.replica, &mut self.persistence) {
            r.drain(&mut self.world, p, |o| outcomes.push(o));
            r.hand_over();
        }
        for outcome in outcomes {
            self.stream_outcome(outcome);
        }
        // A save in progress finishes before the server goes.
        while self.jobs_running > 0 {
            match self.jobs_done.1.recv_timeout(Duration::from_secs(60)) {
                Ok(done) => self.finish_job(done),
                Err(_) => break,
            }
        }
        self.record_steps();
        if let Some(p) = &mut self.persistence {
            p.shutdown(&self.world);
        }
        self.flush_all();
        let _ = std::fs::remove_file(&self.config.socket.path);
        tracing::info!("stopped");
    }
}
