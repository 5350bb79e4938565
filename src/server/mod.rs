//! The socket server: one world thread that owns the world and polls every socket.
//!
//! Measured on these 2-core machines (DESIGN.md), a mio event loop inside the world thread beat
//! thread-per-connection and channel designs: a request costs one wake-up and no lock. So the
//! loop accepts, reads, parses, applies edits, journals them and writes replies itself; only
//! scripts and background jobs leave the thread (they come back over a channel, waking the loop
//! through a `mio::Waker`).
//!
//! Where things are:
//! - `world_loop.rs`: the loop and its closed set of events (accept, I/O, signal, tick, script
//!   done, job done), the spin after work, shutdown.
//! - `connection.rs`: the one connection type, accepting, reading, writing, backpressure
//!   (and dropping a client that stops reading for `socket.slow_reader_timeout_ms`).
//! - `transport/`: one module per transport, each feeding that connection type.
//! - `requests.rs`: a frame in, replies out (batches, dispatch through the method table).
//! - `pending.rs`: replies that wait for scripts and jobs, and their delivery.
//! - `jobs.rs`: background jobs (saves, exports, renders) on their own threads.
//! - `subscriptions.rs`: who wants which notifications; writing them once per iteration.
//! - `auth.rs`: tokens, permissions, and the check every request passes.
//! - `ticks.rs`: the simulation clock.
//! - `held.rs`: under `fsync: Always`, the replies and work that wait for the group sync (if
//!   it fails, the edits are taken back and those replies are withdrawn).

mod auth;
mod connection;
mod held;
mod jobs;
mod pending;
mod requests;
mod subscriptions;
mod ticks;
mod transport;
mod world_loop;

use std::net::SocketAddr;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use mio::net::UnixStream;
use mio::{Interest, Poll, Token, Waker};
use rustc_hash::FxHashMap;

use crate::config::Config;
use crate::journal::{FileStorage, JournalStorage};
use crate::methods::simulation::{SimClock, change_rules};
use crate::methods::{Ctx, NoJournal, Recorder, ServerFacts};
use crate::persist::Persistence;
use crate::replication::Replica;
use crate::script_host::WorldHost;
use crate::scripting::{PoolConfig, ScriptDone, ScriptPool};
use connection::Connection;
use held::{HeldReplies, HeldWork};
use jobs::{JobDone, MAX_BACKGROUND_JOBS};
use pending::{PendingBatch, PendingReply};
use systems::{EditLimits, VoxelBox, VoxelWorld, WorldSettings};
use transport::Listener;

/// Wakes the loop when a script or job finished.
const WAKER: Token = Token(0);
/// The signal pipe.
const SIGNAL: Token = Token(1);
/// The first listener's token; the others follow.
const FIRST_LISTENER: usize = 2;
/// The first connection's token (tokens below are the loop's own).
const FIRST_CONNECTION: usize = 16;

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
    /// The TCP address it listens on, when `tcp.enabled` (port 0 in the config: the one chosen).
    pub tcp: Option<SocketAddr>,
    /// The WebSocket address it listens on, when `websocket.enabled`.
    pub websocket: Option<SocketAddr>,
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
    // The storage opens once (a replicated node that rebuilds after a divergence opens its
    // journal twice: not with an injected storage).
    let mut storage = Some(storage);
    spawn_server(Server::new(config, false, move |config, world| {
        let storage = storage
            .take()
            .ok_or_else(|| anyhow::anyhow!("the injected journal storage opens only once"))?;
        Persistence::open_with_storage(config, world, storage)
    })?)
}

fn spawn_server<S: JournalStorage + 'static>(server: Server<S>) -> anyhow::Result<RunningServer> {
    let socket = server.config.socket.path.clone();
    let (tcp, websocket) = (server.tcp_address, server.websocket_address);
    let stop = server.stop.clone();
    let waker = server.waker.clone();
    let thread = std::thread::Builder::new()
        .name("voxeld-world".into())
        .spawn(move || server.run().map(drop))?;
    Ok(RunningServer {
        socket,
        tcp,
        websocket,
        stop,
        waker,
        thread: Some(thread),
    })
}

/// How a server's loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// Stopped (a signal, or [`RunningServer::stop`]).
    Stopped,
    /// A replicated node whose history diverged from the stream's: started again, it sets
    /// the diverged data aside and follows (`replication.rejoin_when_diverged`).
    Rejoin,
}

/// Binds the socket and serves until SIGINT or SIGTERM. A replicated node that was fenced
/// starts its server again in this process to rejoin the stream as a follower.
pub fn run(config: Config) -> anyhow::Result<()> {
    loop {
        match Server::new(config.clone(), true, Persistence::open)?.run()? {
            Ended::Stopped => return Ok(()),
            Ended::Rejoin => tracing::warn!("replication: starting again to rejoin the stream"),
        }
    }
}

/// The TCP and WebSocket listeners the configuration enables, with their bound addresses.
fn network_listeners(
    config: &Config,
    tokens: &Arc<auth::Tokens>,
) -> anyhow::Result<(Vec<Listener>, Option<SocketAddr>, Option<SocketAddr>)> {
    let mut listeners = Vec::new();
    let mut tcp_address = None;
    let mut websocket_address = None;
    if config.tcp.enabled {
        let l = transport::tcp::bind(&config.tcp.address)?;
        tcp_address = Some(l.local_addr()?);
        tracing::info!(address = %l.local_addr()?, "listening (tcp)");
        listeners.push(Listener::Tcp(l));
    }
    if config.websocket.enabled {
        let l = transport::tcp::bind(&config.websocket.address)?;
        let address = l.local_addr()?;
        websocket_address = Some(address);
        tracing::info!(%address, "listening (websocket)");
        let settings = transport::websocket::Settings {
            allowed_origins: config.websocket.allowed_origins.clone(),
            port: address.port(),
            tokens: tokens.clone(),
            max_message_bytes: config.socket.max_frame_bytes,
        };
        listeners.push(Listener::WebSocket(l, Arc::new(settings)));
    }
    if tokens.required() {
        tracing::info!("network clients must present a token");
    } else if !listeners.is_empty() {
        tracing::warn!("no auth tokens configured: network clients may do everything");
    }
    Ok((listeners, tcp_address, websocket_address))
}

/// The world thread's state: the world, its journal, every socket and what waits for work.
struct Server<S: JournalStorage = FileStorage> {
    config: Config,
    poll: Poll,
    /// The transports' listeners; listener `i` polls as token `FIRST_LISTENER + i`.
    listeners: Vec<Listener>,
    waker: Arc<Waker>,
    signals: Option<(UnixStream, StdUnixStream)>,
    /// The signal registrations behind `signals` (undone when the server ends, so a server
    /// started again in the same process is the only one told).
    signal_ids: Vec<signal_hook::SigId>,
    stop: Arc<AtomicBool>,
    connections: FxHashMap<usize, Connection>,
    next_token: usize,
    world: VoxelWorld,
    /// The journal and snapshots; `None` when `journal.enabled` is false.
    persistence: Option<Persistence<S>>,
    no_journal: NoJournal,
    started: Instant,
    requests: u64,
    /// Replies that wait for scripts and jobs, by ticket.
    pending: FxHashMap<u64, PendingReply>,
    /// Batches that wait for scripts and jobs, by batch ticket.
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
    /// `ack: Stream`: connections with replies waiting for the stream's ack.
    stream_held: std::collections::BTreeSet<usize>,
    /// `ack: Stream`: parts of pending batches, `(batch, slot, seq)`, waiting for the ack of
    /// `seq`.
    stream_parts: Vec<(u64, usize, u64)>,
    /// When the simulation ticks on its own.
    clock: SimClock,
    /// Change notifications.
    subscriptions: subscriptions::Subscriptions,
    /// The tokens network clients authenticate with.
    tokens: Arc<auth::Tokens>,
    /// Where the TCP and WebSocket listeners are bound, when enabled.
    tcp_address: Option<SocketAddr>,
    websocket_address: Option<SocketAddr>,
    /// The next tick's deadline, while the simulation ticks on its own.
    next_tick: Option<Instant>,
    /// Journal replication (`config.replication`), when it is on.
    replica: Option<Replica>,
}

impl<S: JournalStorage + 'static> Server<S> {
    pub(super) fn new(
        config: Config,
        handle_signals: bool,
        mut open_journal: impl FnMut(&Config, &mut VoxelWorld) -> anyhow::Result<Persistence<S>>,
    ) -> anyhow::Result<Server<S>> {
        // Signals first: from the moment the socket exists, SIGTERM means a clean shutdown.
        let mut signal_ids = Vec::new();
        let signals = if handle_signals {
            let (read, write) = StdUnixStream::pair()?;
            read.set_nonblocking(true)?;
            write.set_nonblocking(true)?;
            for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                signal_ids.push(signal_hook::low_level::pipe::register(
                    sig,
                    write.try_clone()?,
                )?);
            }
            Some((read, write))
        } else {
            None
        };
        // The socket first: "another server is listening" is the clearest refusal. Nobody can
        // connect before the loop runs, and a failed recovery removes the socket again.
        let tokens = Arc::new(auth::Tokens::load(&config)?);
        let std_listener = transport::unix::bind(&config.socket.path, config.socket.mode)?;
        let mut listeners = vec![Listener::Unix(mio::net::UnixListener::from_std(
            std_listener,
        ))];
        let network = network_listeners(&config, &tokens);
        let (tcp_address, websocket_address) = match network {
            Ok((mut more, tcp, ws)) => {
                listeners.append(&mut more);
                (tcp, ws)
            }
            Err(e) => {
                let _ = std::fs::remove_file(&config.socket.path);
                return Err(e);
            }
        };
        let mut world = VoxelWorld::new(world_settings(&config));
        let mut replica = None;
        let mut persistence = if config.replication.enabled {
            match Replica::open(&config, &mut world, &mut open_journal) {
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
        let poll = Poll::new()?;
        for (i, listener) in listeners.iter_mut().enumerate() {
            poll.registry()
                .register(listener, Token(FIRST_LISTENER + i), Interest::READABLE)?;
        }
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
            listeners,
            waker,
            signals,
            signal_ids,
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
            stream_held: Default::default(),
            stream_parts: Vec::new(),
            clock: SimClock::new(&config),
            subscriptions: Default::default(),
            tokens,
            tcp_address,
            websocket_address,
            next_tick: None,
            replica,
            config,
        })
    }

    pub(super) fn ctx(&mut self) -> Ctx<'_> {
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
}
