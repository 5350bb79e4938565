//! The socket server: one world thread that owns the world and polls every socket.
//!
//! Measured on these 2-core machines (DESIGN.md), a mio event loop inside the world thread beat
//! thread-per-connection and channel designs: a request costs one wake-up and no lock. So the
//! loop here accepts, reads, parses, applies edits, journals them and writes replies itself;
//! only scripts leave the thread (they run on the script pool and come back over a channel,
//! waking the loop through a `mio::Waker`).
//!
//! Per loop iteration: run the simulation tick if it is due (the poll timeout is the next
//! tick's deadline: no extra thread), read and handle every ready connection (edits applied at
//! once, replies queued), let the journal make those edits durable as one group, then write
//! the replies. Ticks and edits thus interleave at tick boundaries, in `seq` order. A
//! connection whose unsent output passes `socket.max_output_bytes` is not read until it drains,
//! so a client that stops reading costs bounded memory and never stalls the others.
//!
//! Under `fsync: Always` the replies queued after the iteration's first edit are held until the
//! group sync succeeds, and the scripts and jobs asked for on the unsynced world start only
//! then; if it fails, the edits are taken back and those replies are withdrawn (`held.rs`).

mod connection;
mod held;
mod listener;

use std::io::Read;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use mio::net::{UnixListener, UnixStream};
use mio::{Events, Interest, Poll, Token, Waker};
use rustc_hash::FxHashMap;
use serde_json::value::RawValue;

use crate::config::Config;
use crate::journal::{FileStorage, JournalStorage};
use crate::methods::simulation::{SimClock, change_rules, record_steps, run_ticks};
use crate::methods::{self, Ctx, Job, NoJournal, Recorder, Reply, ServerFacts, scripts};
use crate::persist::Persistence;
use crate::replication::Replica;
use crate::rpc::{
    Frame, Incoming, Request, RpcError, codes, parse_frame, write_error, write_oversized,
    write_result,
};
use crate::script_host::WorldHost;
use crate::scripting::{PoolConfig, ScriptDone, ScriptJob, ScriptPool};
use connection::{Connection, Fill};
use held::{HeldReplies, HeldWork};
use systems::{EditLimits, VoxelBox, VoxelWorld, WorldSettings};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const SIGNAL: Token = Token(2);
const FIRST_CONNECTION: usize = 16;
/// Background jobs (file writes, renders) running at once; more are answered "busy".
const MAX_BACKGROUND_JOBS: usize = 4;
/// How long the loop keeps polling without sleeping after it handled an event.
const SPIN_AFTER_WORK: Duration = Duration::from_micros(50);

/// World settings from the configuration.
pub fn world_settings(config: &Config) -> WorldSettings {
    let w = &config.world;
    WorldSettings {
        limits: EditLimits {
            bounds: VoxelBox::from_corners(
                glam::IVec3::new(w.bounds_min.0, w.bounds_min.1, w.bounds_min.2),
                glam::IVec3::new(w.bounds_max.0, w.bounds_max.1, w.bounds_max.2),
            ),
            max_voxels: w.max_edit_voxels,
            flood_fill_limit: w.flood_fill_limit,
        },
        undo_depth: w.undo_depth,
    }
}

/// A server running on its own thread (for tests and embedding).
pub struct RunningServer {
    /// The socket it listens on.
    pub socket: PathBuf,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<anyhow::Result<()>>>,
}

impl RunningServer {
    /// Stops the server and waits for it to finish shutting down.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> anyhow::Result<()> {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| anyhow::anyhow!("server thread panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Binds the socket and runs the server on a new thread.
pub fn spawn(config: Config) -> anyhow::Result<RunningServer> {
    spawn_server(Server::new(config, false, Persistence::open)?)
}

/// [`spawn`] with the journal in `storage` instead of the configured file (the lock and the
/// snapshots stay in the data directory): for tests that make the real server's journal fail
/// (`FaultyStorage`). Everything else is the production server.
pub fn spawn_with_storage<S: JournalStorage + 'static>(
    config: Config,
    storage: S,
) -> anyhow::Result<RunningServer> {
    spawn_server(Server::new(config, false, move |config, world| {
        Persistence::open_with_storage(config, world, storage)
    })?)
}

fn spawn_server<S: JournalStorage + 'static>(server: Server<S>) -> anyhow::Result<RunningServer> {
    let socket = server.config.socket.path.clone();
    let stop = server.stop.clone();
    let waker = server.waker.clone();
    let thread = std::thread::Builder::new()
        .name("voxeld-world".into())
        .spawn(move || server.run())?;
    Ok(RunningServer {
        socket,
        stop,
        waker,
        thread: Some(thread),
    })
}

/// Binds the socket and serves until SIGINT or SIGTERM.
pub fn run(config: Config) -> anyhow::Result<()> {
    Server::new(config, true, Persistence::open)?.run()
}

/// Where a deferred reply goes.
struct PendingReply {
    connection: usize,
    id: Option<Box<RawValue>>,
    batch: Option<(u64, usize)>,
}

/// A background job's result, for the reply waiting under `ticket`.
struct JobDone {
    ticket: u64,
    result: Result<serde_json::Value, RpcError>,
}

/// A batch whose reply waits for scripts.
struct PendingBatch {
    connection: usize,
    parts: Vec<Option<Vec<u8>>>,
    remaining: usize,
}

struct Server<S: JournalStorage = FileStorage> {
    config: Config,
    poll: Poll,
    listener: UnixListener,
    waker: Arc<Waker>,
    signals: Option<(UnixStream, StdUnixStream)>,
    stop: Arc<AtomicBool>,
    connections: FxHashMap<usize, Connection>,
    next_token: usize,
    world: VoxelWorld,
    /// The journal and snapshots; `None` when `journal.enabled` is false.
    persistence: Option<Persistence<S>>,
    no_journal: NoJournal,
    started: Instant,
    requests: u64,
    pending: FxHashMap<u64, PendingReply>,
    batches: FxHashMap<u64, PendingBatch>,
    next_ticket: u64,
    /// Connections with input to handle or output to retry.
    ready: Vec<usize>,
    /// Scripts finished since start (to tell script traffic from plain requests).
    scripts_finished: u64,
    /// Connections that may have output to write this iteration.
    touched: Vec<usize>,
    /// Connections whose output the socket would not take: registered for write readiness.
    blocked: rustc_hash::FxHashSet<usize>,
    pool: Option<ScriptPool<WorldHost>>,
    /// Finished scripts. Unbounded on purpose: at most queue capacity + workers are in flight.
    done: flume::Receiver<ScriptDone<WorldHost>>,
    /// Which files the file methods may use.
    files: crate::files::FileAccess,
    /// Finished background jobs; at most [`MAX_BACKGROUND_JOBS`] are in flight.
    jobs_done: (flume::Sender<JobDone>, flume::Receiver<JobDone>),
    /// Background jobs running (or held, waiting for the group sync).
    jobs_running: usize,
    /// The world's `seq` after recovery (the undo history holds only later steps).
    started_seq: u64,
    /// `Always`: replies of this iteration that wait for its group sync.
    held: Vec<HeldReplies>,
    /// `Always`: parts of pending batches, `(batch, slot)`, that wait for this group sync.
    held_parts: Vec<(u64, usize)>,
    /// `Always`: scripts and jobs asked for on this iteration's unsynced world, by ticket.
    held_work: Vec<(u64, HeldWork)>,
    /// When the simulation ticks on its own.
    clock: SimClock,
    /// The next tick's deadline, while the simulation ticks on its own.
    next_tick: Option<Instant>,
    /// Journal replication (`config.replication`), when it is on.
    replica: Option<Replica>,
}

impl<S: JournalStorage + 'static> Server<S> {
    fn new(
        config: Config,
        handle_signals: bool,
        open_journal: impl FnOnce(&Config, &mut VoxelWorld) -> anyhow::Result<Persistence<S>>,
    ) -> anyhow::Result<Server<S>> {
        // Signals first: from the moment the socket exists, SIGTERM means a clean shutdown.
        let signals = if handle_signals {
            let (read, write) = StdUnixStream::pair()?;
            read.set_nonblocking(true)?;
            write.set_nonblocking(true)?;
            for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                signal_hook::low_level::pipe::register(sig, write.try_clone()?)?;
            }
            Some((read, write))
        } else {
            None
        };
        // The socket first: "another server is listening" is the clearest refusal. Nobody can
        // connect before the loop runs, and a failed recovery removes the socket again.
        let std_listener = listener::bind(&config.socket.path, config.socket.mode)?;
        let mut world = VoxelWorld::new(world_settings(&config));
        let mut replica = None;
        let mut persistence = if config.replication.enabled {
            match Replica::open(&config, &mut world, open_journal) {
                Ok((r, p)) => {
                    replica = Some(r);
                    Some(p)
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&config.socket.path);
                    return Err(e);
                }
            }
        } else if config.journal.enabled {
            match open_journal(&config, &mut world) {
                Ok(p) => Some(p),
                Err(e) => {
                    let _ = std::fs::remove_file(&config.socket.path);
                    return Err(e);
                }
            }
        } else {
            None
        };
        // The configured rules, recorded when they differ from those the journal left in force
        // (so a replay knows which rules each tick ran under).
        let recorder: &mut dyn Recorder = match &mut persistence {
            Some(p) => p,
            None => &mut NoJournal,
        };
        // A replicated world's rules come from its stream (set them with `set_simulation` on
        // the leader).
        if replica.is_none()
            && let Err(e) = change_rules(&mut world, recorder, config.rule_set())
        {
            let _ = std::fs::remove_file(&config.socket.path);
            anyhow::bail!("recording the simulation rules in the journal failed: {e}");
        }
        let started_seq = world.seq();
        let mut listener = UnixListener::from_std(std_listener);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        if let Some(r) = &replica {
            r.follow(&world, waker.clone());
        }
        let signals = match signals {
            Some((read, write)) => {
                let mut read = UnixStream::from_std(read);
                poll.registry()
                    .register(&mut read, SIGNAL, Interest::READABLE)?;
                Some((read, write))
            }
            None => None,
        };
        let (done_tx, done) = flume::unbounded();
        let wake = waker.clone();
        let pool = ScriptPool::new(
            PoolConfig {
                workers: config.scripts.workers,
                queue_capacity: config.scripts.queue_capacity,
            },
            done_tx,
            Arc::new(move || {
                let _ = wake.wake();
            }),
        );
        tracing::info!(socket = %config.socket.path.display(), "listening");
        Ok(Server {
            files: crate::files::FileAccess::new(&config),
            jobs_done: flume::bounded(MAX_BACKGROUND_JOBS),
            jobs_running: 0,
            poll,
            listener,
            waker,
            signals,
            stop: Arc::new(AtomicBool::new(false)),
            connections: FxHashMap::default(),
            next_token: FIRST_CONNECTION,
            world,
            persistence,
            no_journal: NoJournal,
            started: Instant::now(),
            requests: 0,
            pending: FxHashMap::default(),
            batches: FxHashMap::default(),
            next_ticket: 1,
            ready: Vec::new(),
            touched: Vec::new(),
            scripts_finished: 0,
            blocked: Default::default(),
            pool: Some(pool),
            done,
            started_seq,
            held: Vec::new(),
            held_parts: Vec::new(),
            held_work: Vec::new(),
            clock: SimClock::new(&config),
            next_tick: None,
            replica,
            config,
        })
    }

    fn run(mut self) -> anyhow::Result<()> {
        let mut events = Events::with_capacity(1024);
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
                    Some(Duration::ZERO)
                }
                _ => Some(Duration::from_secs(1)),
            };
            let timeout = timeout.map(|t| self.until_next_tick(t));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                break Err(e).context("polling");
            }
            let script_count = (self.pending.len(), self.scripts_finished);
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept(),
                    WAKER => {}
                    SIGNAL => {
                        if let Some((read, _)) = &mut self.signals {
                            let mut b = [0u8; 64];
                            while matches!(read.read(&mut b), Ok(n) if n > 0) {}
                        }
                        tracing::info!("signal received, shutting down");
                        self.stop.store(true, Ordering::SeqCst);
                    }
                    Token(t) => self.ready.push(t),
                }
            }
            if self.stop.load(Ordering::SeqCst) {
                break Ok(());
            }
            if let (Some(r), Some(p)) = (&mut self.replica, &mut self.persistence) {
                r.handle_events(&mut self.world, p);
            }
            let ticked = self.tick_if_due();
            while let Ok(done) = self.done.try_recv() {
                self.finish_script(done);
            }
            while let Ok(done) = self.jobs_done.1.try_recv() {
                self.finish_job(done);
            }
            let mut ready = std::mem::take(&mut self.ready);
            ready.sort_unstable();
            ready.dedup();
            for token in ready {
                self.service(token, &mut scratch);
            }
            let scripts_moved = script_count != (self.pending.len(), self.scripts_finished);
            self.settle();
            self.flush_all();
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
        result
    }

    fn shutdown(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.shutdown();
        }
        while let Ok(done) = self.done.try_recv() {
            self.finish_script(done);
        }
        // The last scripts' edits get their group sync like any other iteration's.
        self.settle();
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

    /// Ends an iteration before its replies are written: the journal's group sync, then what
    /// waited for it. On success the held replies are released and the held work starts; on
    /// failure the group's edits are already taken back, the held replies are withdrawn and the
    /// held work is refused, all with the journal error.
    fn settle(&mut self) {
        let synced = match &mut self.persistence {
            Some(p) => p
                .end_of_iteration(&mut self.world)
                .map_err(|reason| withdrawn_error(&reason, &self.world)),
            None => Ok(()),
        };
        // The leader's records go to the stream once the local journal has them; under
        // `ack: Stream` the replies held here wait for its ack.
        let synced = match (synced, &mut self.replica, &mut self.persistence) {
            (Ok(()), Some(r), Some(p)) => r.settle(&self.world, p),
            (other, _, _) => other,
        };
        let held = std::mem::take(&mut self.held);
        let held_parts = std::mem::take(&mut self.held_parts);
        let held_work = std::mem::take(&mut self.held_work);
        match synced {
            Ok(()) => {
                for (ticket, work) in held_work {
                    self.start_work(ticket, work);
                }
            }
            Err(error) => {
                // Newest first, so the ranges still to rewrite keep their offsets.
                for h in held.into_iter().rev() {
                    if let Some(conn) = self.connections.get_mut(&h.connection) {
                        let new =
                            held::withdraw(&conn.out[h.range.clone()], h.slots.as_deref(), &error);
                        conn.out.splice(h.range, new);
                    }
                }
                for (batch_id, slot) in held_parts {
                    if let Some(batch) = self.batches.get_mut(&batch_id)
                        && let Some(Some(part)) = batch.parts.get_mut(slot)
                    {
                        *part = held::withdraw(part, None, &error);
                    }
                }
                for (ticket, work) in held_work {
                    if matches!(work, HeldWork::Job(_)) {
                        self.jobs_running -= 1;
                    }
                    if let Some(pending) = self.pending.remove(&ticket) {
                        self.deliver(pending, Err(error.clone()), false);
                    }
                }
            }
        }
    }

    /// Whether buffers recorded in this iteration wait for their group sync (`Always`): what
    /// is answered or started now depends on them.
    fn group_pending(&self) -> bool {
        self.group_len() > 0
    }

    /// How many buffers wait for the group sync (or the stream's ack).
    fn group_len(&self) -> usize {
        // A replicating leader's records wait for the stream's ack too.
        self.persistence.as_ref().map_or(0, |p| {
            p.group_len() + self.replica.as_ref().map_or(0, |r| r.pending_len(p))
        })
    }

    /// Starts a script or job whose reply is deferred under `ticket` (already in `pending`);
    /// if it cannot start, its error is delivered.
    fn start_work(&mut self, ticket: u64, work: HeldWork) {
        let started = match work {
            HeldWork::Script(job) => self.submit_script(*job),
            HeldWork::Job(job) => self.spawn_job(ticket, job),
        };
        if let Err(e) = started
            && let Some(pending) = self.pending.remove(&ticket)
        {
            self.deliver(pending, Err(e), false);
        }
    }

    fn submit_script(&mut self, job: ScriptJob<WorldHost>) -> Result<(), RpcError> {
        let Some(pool) = &self.pool else {
            return Err(RpcError::server(
                codes::BUSY,
                "script worker pool shut down",
                None,
            ));
        };
        pool.submit(job).map_err(scripts::submit_error)
    }

    /// Runs `job` on its own thread; `jobs_running` already counts it.
    fn spawn_job(&mut self, ticket: u64, job: Job) -> Result<(), RpcError> {
        let tx = self.jobs_done.0.clone();
        let waker = self.waker.clone();
        let spawned = std::thread::Builder::new()
            .name("voxeld-job".into())
            .spawn(move || {
                let result = job.run();
                let _ = tx.send(JobDone { ticket, result });
                let _ = waker.wake();
            });
        spawned.map(drop).map_err(|e| {
            self.jobs_running -= 1;
            RpcError::internal(format!("cannot start a job: {e}"))
        })
    }

    /// `timeout`, cut to the next tick's deadline while the simulation ticks on its own.
    fn until_next_tick(&mut self, timeout: Duration) -> Duration {
        let Some(period) = self.tick_period() else {
            self.next_tick = None;
            return timeout;
        };
        let now = Instant::now();
        let due = *self.next_tick.get_or_insert(now + period);
        timeout.min(due.saturating_duration_since(now))
    }

    /// Runs one simulation tick when its deadline has passed. A tick that changed the world is
    /// recorded at once; quiet ones wait for the next request or record (they change nothing
    /// but the tick counter), so an idle server writes nothing.
    /// Returns whether it ticked.
    ///
    /// A failed journal stops the clock: no world change that the journal cannot record.
    fn tick_if_due(&mut self) -> bool {
        let Some(period) = self.tick_period() else {
            self.next_tick = None;
            return false;
        };
        let now = Instant::now();
        let due = *self.next_tick.get_or_insert(now + period);
        if now < due {
            return false;
        }
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
                return false;
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
        true
    }

    /// The time between ticks while the simulation ticks on its own and the journal takes
    /// them (`None` once it failed).
    fn tick_period(&self) -> Option<Duration> {
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
    fn record_steps(&mut self) {
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

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    if self.connections.len() >= self.config.socket.max_connections {
                        let mut line = Vec::new();
                        let error = RpcError::server(
                            codes::BUSY,
                            "too many connections",
                            Some(
                                serde_json::json!({ "max_connections": self.config.socket.max_connections }),
                            ),
                        );
                        write_error(&mut line, RawValue::NULL, &error);
                        let _ = std::io::Write::write(&mut stream, &line);
                        continue;
                    }
                    let token = self.next_token;
                    self.next_token += 1;
                    if self
                        .poll
                        .registry()
                        .register(&mut stream, Token(token), Interest::READABLE)
                        .is_err()
                    {
                        continue;
                    }
                    self.connections.insert(
                        token,
                        Connection::new(stream, self.config.socket.max_frame_bytes),
                    );
                    self.ready.push(token);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    return;
                }
            }
        }
    }

    /// Handles a connection's input until it would block or its output is full.
    fn service(&mut self, token: usize, scratch: &mut [u8]) {
        let Some(mut conn) = self.connections.remove(&token) else {
            return;
        };
        let cap = self.config.socket.max_output_bytes;
        loop {
            while conn.pending_out() < cap {
                let Some(frame) = conn.framer.next_frame() else {
                    break;
                };
                match frame {
                    Frame::Line(line) => {
                        let line = line.to_vec();
                        conn.pending_scripts += self.handle_line(token, &line, &mut conn.out);
                    }
                    Frame::Oversized => write_oversized(&mut conn.out),
                }
            }
            if conn.pending_out() >= cap || conn.eof {
                break;
            }
            match conn.fill(scratch) {
                Fill::Data | Fill::Closed => continue,
                Fill::WouldBlock => break,
            }
        }
        self.connections.insert(token, conn);
        self.touched.push(token);
    }

    /// Writes the replies of the connections touched in this iteration (and of those still
    /// blocked on a full socket), closes finished connections, and asks for write readiness
    /// only while output is stuck, so a plain request costs one wake-up.
    fn flush_all(&mut self) {
        let cap = self.config.socket.max_output_bytes;
        let mut tokens = std::mem::take(&mut self.touched);
        tokens.extend(self.blocked.iter().copied());
        tokens.sort_unstable();
        tokens.dedup();
        let mut dead = Vec::new();
        for token in tokens {
            let Some(conn) = self.connections.get_mut(&token) else {
                continue;
            };
            let was_full = conn.pending_out() >= cap;
            if conn.pending_out() > 0 && conn.flush().is_err() {
                dead.push(token);
                continue;
            }
            if conn.eof
                && conn.pending_out() == 0
                && conn.framer.buffered_len() == 0
                && conn.pending_scripts == 0
            {
                dead.push(token);
                continue;
            }
            if was_full && conn.pending_out() < cap {
                // Drained below the cap: read its input again.
                self.ready.push(token);
            }
            let stuck = conn.pending_out() > 0;
            if stuck != self.blocked.contains(&token) {
                let interest = if stuck {
                    Interest::READABLE | Interest::WRITABLE
                } else {
                    Interest::READABLE
                };
                if self
                    .poll
                    .registry()
                    .reregister(&mut conn.stream, Token(token), interest)
                    .is_err()
                {
                    dead.push(token);
                    continue;
                }
                if stuck {
                    self.blocked.insert(token);
                } else {
                    self.blocked.remove(&token);
                }
            }
        }
        for token in dead {
            self.blocked.remove(&token);
            if let Some(mut conn) = self.connections.remove(&token) {
                let _ = self.poll.registry().deregister(&mut conn.stream);
            }
        }
        if !self.ready.is_empty() {
            let _ = self.waker.wake();
        }
    }

    fn ctx(&mut self) -> Ctx<'_> {
        Ctx {
            world: &mut self.world,
            journal: match &mut self.persistence {
                Some(p) => p as &mut dyn Recorder,
                None => &mut self.no_journal,
            },
            started: self.started,
            facts: ServerFacts {
                connections: self.connections.len() + 1,
                requests: self.requests,
                scripts: self.pool.as_ref(),
                started_seq: self.started_seq,
                replication: self.replica.as_ref(),
            },
            files: &self.files,
            clock: &mut self.clock,
        }
    }

    /// Handles one frame; returns how many scripts it started (their replies come later).
    fn handle_line(&mut self, connection: usize, line: &[u8], out: &mut Vec<u8>) -> usize {
        let started = self.pending.len();
        for incoming in parse_frame(line) {
            match incoming {
                Incoming::Request(request) => {
                    if let Some(reply) = self.dispatch(connection, &request, None) {
                        let start = out.len();
                        write_reply(out, request.id, reply);
                        if self.group_pending() {
                            held::hold(&mut self.held, connection, start..out.len());
                        }
                    }
                }
                Incoming::Rejected(rejected) => write_error(out, rejected.id, &rejected.error),
                Incoming::Batch(entries) => {
                    let batch_id = self.next_ticket;
                    self.next_ticket += 1;
                    let mut parts: Vec<Option<Vec<u8>>> = Vec::with_capacity(entries.len());
                    // Which parts were answered while the group sync was pending.
                    let mut held_slots: Vec<usize> = Vec::new();
                    let mut waiting = 0;
                    for entry in entries {
                        match entry {
                            Ok(request) => {
                                let slot = parts.len();
                                match self.dispatch(connection, &request, Some((batch_id, slot))) {
                                    Some(reply) => {
                                        if request.id.is_some() {
                                            let mut part = Vec::new();
                                            write_reply(&mut part, request.id, reply);
                                            parts.push(Some(part));
                                            if self.group_pending() {
                                                held_slots.push(slot);
                                            }
                                        }
                                    }
                                    None => {
                                        if request.id.is_some() {
                                            parts.push(None);
                                            waiting += 1;
                                        }
                                    }
                                }
                            }
                            Err(rejected) => {
                                let mut part = Vec::new();
                                write_error(&mut part, rejected.id, &rejected.error);
                                parts.push(Some(part));
                            }
                        }
                    }
                    if waiting == 0 {
                        let start = out.len();
                        let mask = batch_mask(parts.len(), &held_slots);
                        write_batch(out, parts.into_iter().flatten());
                        if let Some(slots) = mask {
                            self.held.push(HeldReplies {
                                connection,
                                range: start..out.len(),
                                slots: Some(slots),
                            });
                        }
                    } else {
                        self.held_parts
                            .extend(held_slots.iter().map(|&slot| (batch_id, slot)));
                        self.batches.insert(
                            batch_id,
                            PendingBatch {
                                connection,
                                parts,
                                remaining: waiting,
                            },
                        );
                    }
                }
            }
        }
        self.pending.len() - started
    }

    /// Runs one request. `None`: the reply comes later (a script).
    fn dispatch(
        &mut self,
        connection: usize,
        request: &Request<'_>,
        batch: Option<(u64, usize)>,
    ) -> Option<Result<Reply, RpcError>> {
        self.requests += 1;
        let _span = tracing::trace_span!("request", method = %request.method).entered();
        // A reply may show the tick: quiet ticks not recorded yet are recorded first, so every
        // reply describes a recorded state (same seq, same hash, same tick as a replay).
        self.record_steps();
        let result = methods::call(&mut self.ctx(), &request.method, &request.params);
        match result {
            Ok(Reply::Script(script)) => {
                let ticket = self.next_ticket;
                self.next_ticket += 1;
                let job = match scripts::prepare(&self.world, script, &self.config.scripts, ticket)
                {
                    Ok(scripts::Prepared::Job(job)) => job,
                    Ok(scripts::Prepared::Failed(v)) => return Some(Ok(Reply::Value(v))),
                    Err(e) => return Some(Err(e)),
                };
                if self.group_pending() {
                    // It reads a world with unsynced edits: it starts after the group sync.
                    self.held_work.push((ticket, HeldWork::Script(job)));
                } else if let Err(e) = self.submit_script(*job) {
                    return Some(Err(e));
                }
                self.defer(ticket, connection, request, batch);
                None
            }
            Ok(Reply::Background(job)) => {
                if self.jobs_running >= MAX_BACKGROUND_JOBS {
                    return Some(Err(RpcError::server(
                        codes::BUSY,
                        "too many file and render jobs running; try again",
                        Some(serde_json::json!({ "max_jobs": MAX_BACKGROUND_JOBS })),
                    )));
                }
                let ticket = self.next_ticket;
                self.next_ticket += 1;
                self.jobs_running += 1;
                if self.group_pending() {
                    // Its snapshot holds unsynced edits: nothing is written before the sync.
                    self.held_work.push((ticket, HeldWork::Job(job)));
                } else if let Err(e) = self.spawn_job(ticket, job) {
                    return Some(Err(e));
                }
                self.defer(ticket, connection, request, batch);
                None
            }
            other => Some(other),
        }
    }

    /// Remembers where the reply of the work started under `ticket` goes.
    fn defer(
        &mut self,
        ticket: u64,
        connection: usize,
        request: &Request<'_>,
        batch: Option<(u64, usize)>,
    ) {
        let id = request.id.map(|id| id.to_owned());
        self.pending.insert(
            ticket,
            PendingReply {
                connection,
                id,
                batch,
            },
        );
    }

    /// Commits a finished script and sends its reply to whoever is still there to read it.
    fn finish_script(&mut self, done: ScriptDone<WorldHost>) {
        self.scripts_finished += 1;
        self.record_steps();
        let Some(pending) = self.pending.remove(&done.ticket) else {
            return;
        };
        // The reply is held when the script's commit joined the unsynced group (its snapshot
        // was synced: a script asked for on an unsynced world starts only after the sync).
        let before = self.group_len();
        let reply = scripts::complete(&mut self.ctx(), done);
        let held = self.group_len() > before;
        self.deliver(pending, reply, held);
    }

    /// Sends a finished background job's reply.
    fn finish_job(&mut self, done: JobDone) {
        self.jobs_running -= 1;
        if let Some(pending) = self.pending.remove(&done.ticket) {
            self.deliver(pending, done.result, false);
        }
    }

    /// Writes a deferred reply to its connection (or into its batch). `held`: the reply
    /// waits for this iteration's group sync.
    fn deliver(
        &mut self,
        pending: PendingReply,
        reply: Result<serde_json::Value, RpcError>,
        held: bool,
    ) {
        let Some(id) = pending.id.as_deref() else {
            self.release_script(pending.connection);
            return;
        };
        let mut line = Vec::new();
        match &reply {
            Ok(v) => write_result(&mut line, id, v),
            Err(e) => write_error(&mut line, id, e),
        }
        match pending.batch {
            None => {
                if let Some(conn) = self.connections.get_mut(&pending.connection) {
                    let start = conn.out.len();
                    conn.out.extend_from_slice(&line);
                    if held {
                        held::hold(&mut self.held, pending.connection, start..conn.out.len());
                    }
                }
            }
            Some((batch_id, slot)) => {
                if held {
                    self.held_parts.push((batch_id, slot));
                }
                let complete = match self.batches.get_mut(&batch_id) {
                    Some(batch) => {
                        batch.parts[slot] = Some(line);
                        batch.remaining -= 1;
                        batch.remaining == 0
                    }
                    None => false,
                };
                if complete
                    && let Some(batch) = self.batches.remove(&batch_id)
                    && let Some(conn) = self.connections.get_mut(&batch.connection)
                {
                    let held_slots: Vec<usize> = self
                        .held_parts
                        .iter()
                        .filter(|(b, _)| *b == batch_id)
                        .map(|&(_, slot)| slot)
                        .collect();
                    let mask = batch_mask(batch.parts.len(), &held_slots);
                    let start = conn.out.len();
                    write_batch(&mut conn.out, batch.parts.into_iter().flatten());
                    if let Some(slots) = mask {
                        self.held.push(HeldReplies {
                            connection: batch.connection,
                            range: start..conn.out.len(),
                            slots: Some(slots),
                        });
                    }
                }
            }
        }
        self.release_script(pending.connection);
    }

    fn release_script(&mut self, connection: usize) {
        self.touched.push(connection);
        if let Some(conn) = self.connections.get_mut(&connection) {
            conn.pending_scripts = conn.pending_scripts.saturating_sub(1);
        }
    }
}

fn write_reply(out: &mut Vec<u8>, id: Option<&RawValue>, reply: Result<Reply, RpcError>) {
    let Some(id) = id else { return };
    match reply {
        Ok(Reply::Value(v)) => write_result(out, id, &v),
        Ok(Reply::Raw(r)) => write_result(out, id, &*r),
        Ok(Reply::Script(_) | Reply::Background(_)) => {
            write_error(out, id, &RpcError::internal("deferred reply written early"))
        }
        Err(e) => write_error(out, id, &e),
    }
}

/// Which replies of a batch line with `len` parts are held (`None`: none is).
fn batch_mask(len: usize, held_slots: &[usize]) -> Option<Vec<bool>> {
    if held_slots.is_empty() {
        return None;
    }
    let mut mask = vec![false; len];
    for &slot in held_slots {
        if let Some(m) = mask.get_mut(slot) {
            *m = true;
        }
    }
    Some(mask)
}

/// The error a reply withdrawn after a failed group sync gets instead (`reason`: what failed;
/// `world`: as it is after the group was taken back).
fn withdrawn_error(reason: &str, world: &VoxelWorld) -> RpcError {
    RpcError::server(
        codes::JOURNAL,
        format!(
            "journal sync failed ({reason}): this reply was withdrawn because it came after edits that could not be made durable; those edits (this request's own, if it edited) were taken back and the world is as after the last successful sync. Edits are refused until the server is restarted; reads work, retry them"
        ),
        Some(serde_json::json!({
            "journal": "failed", "error": reason, "withdrawn": true,
            "seq": world.seq(), "recovery": methods::JOURNAL_RECOVERY,
        })),
    )
}

/// Writes a batch reply: the parts (each a reply line) as one JSON array line. An all-
/// notification batch writes nothing.
fn write_batch(out: &mut Vec<u8>, parts: impl Iterator<Item = Vec<u8>>) {
    let start = out.len();
    for part in parts {
        out.push(if out.len() == start { b'[' } else { b',' });
        let end = part.len() - usize::from(part.last() == Some(&b'\n'));
        out.extend_from_slice(&part[..end]);
    }
    if out.len() > start {
        out.extend_from_slice(b"]\n");
    }
}
