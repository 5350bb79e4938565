//! Journal replication over NATS JetStream: one leader, read replicas, fail-over
//! (`docs/replication.md`). Off by default; without a `replication` section nothing here runs.
//!
//! The journal of deterministic records is already a replicated-log design, so replication
//! ships journal records: the leader publishes each record it journaled to a stream (message
//! id `world/seq`, expected last sequence `seq - 1`, so stream sequence = world `seq`; a record
//! another leader got in first fences this one), and followers apply the stream in order
//! through the journal's replay path and journal it locally. Leadership is a lease in a
//! JetStream key-value bucket; a follower that is caught up takes a free lease and first
//! appends an epoch record (fencing any old leader that still thinks it leads), then takes
//! edits. Snapshots go to the JetStream object store, so a new node starts from the newest one
//! plus the stream after it.
//!
//! Threads: the NATS client runs on its own thread with a small tokio runtime ([`client`]);
//! the world loop holds a [`Replica`] and exchanges commands and events with it over channels
//! (events wake the loop through its `mio::Waker`). Under `ack: Stream` the leader's replies
//! wait for the stream's ack like replies wait for the group fsync under `fsync: Always`, but
//! without blocking the loop: each iteration's records are published in the background and
//! the replies that depend on them stay in their connections' output (`StreamHold`) until
//! the ack arrives as an event, so the loop keeps reading, applying and publishing while
//! earlier records are on their way ([`Replica::settle`], [`Outcome`]).

pub mod client;
pub mod wire;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use mio::Waker;
use serde_json::{Value, json};
use systems::VoxelWorld;

pub use client::{Client, Event, PublishFailure, StreamState};
pub use wire::{LeaseHolder, Names, OwnedRecord};

use crate::codec::encode_snapshot_payload;
use crate::config::{Config, ReplicationAck, ReplicationConfig};
use crate::journal::snapshot_file::{decode_snapshot, encode_snapshot};
use crate::journal::{JournalStorage, RecordKind, Source};
use crate::persist::{Persistence, replay_replicated};
use crate::rpc::{RpcError, codes};

/// Tag of the epoch record a new leader appends before it takes edits (a Meta record: replay
/// skips tags it does not know, so it only takes a `seq`).
pub const EPOCH_TAG: [u8; 4] = *b"LEAD";

/// What this node does in the replicated world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Applies the stream, serves reads, refuses edits.
    Follower,
    /// Takes edits and publishes them.
    Leader,
    /// Stopped: the stream refused this node's records (another leader appended first) or the
    /// stream could not be followed; it serves reads of what it has, refuses edits and applies
    /// nothing more until it is restarted.
    Stopped(String),
}

impl Role {
    fn name(&self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::Leader => "leader",
            Role::Stopped(_) => "stopped",
        }
    }
}

/// What an event means for the replies waiting on the stream.
#[derive(Debug)]
pub enum Outcome {
    /// The stream holds every record up to this seq: replies waiting for them go out.
    Acked(u64),
    /// The stream did not take this node's records: every waiting reply is withdrawn with
    /// this error (the node stopped).
    Refused(RpcError),
}

/// The world loop's side of replication.
pub struct Replica {
    client: Client,
    config: ReplicationConfig,
    holder: LeaseHolder,
    role: Role,
    /// The lease revision this node leads under (0 while it never led).
    epoch: u64,
    /// Who holds the lease, as last seen.
    leader: Option<LeaseHolder>,
    /// The snapshot this node started from, when it came from the object store.
    started_from_snapshot: Option<u64>,
    /// Where start-up moved a diverged data directory's contents.
    moved_aside: Option<String>,
    /// This node's history is proven to differ from the stream's (fenced, or another
    /// leader's records arrived over its own unacknowledged ones).
    diverged: bool,
    /// The last record this node knows the stream holds.
    stream_seq: u64,
    /// The last record of this node's own the stream acknowledged, or that it applied from
    /// the stream: the local world up to here is the stream's.
    confirmed_seq: u64,
    /// The last record published and not yet known acknowledged (`ack: Stream`), and since
    /// when the oldest unacknowledged publish waits.
    awaited_seq: u64,
    awaited_since: Option<Instant>,
    /// How long a publish may wait for its ack before the stream counts as unavailable.
    ack_deadline: Duration,
    /// When the last records were applied from the stream (followers).
    last_applied: Option<Instant>,
    records_since_snapshot: u64,
    /// The newest snapshot this node put into the object store.
    snapshot_seq: Option<u64>,
    snapshot_thread: Option<std::thread::JoinHandle<()>>,
}

/// When the data directory is empty and the stream no longer starts at seq 1: fetches the
/// newest object-store snapshot into the snapshot path; returns its seq.
fn fetch_snapshot_if_fresh(
    config: &Config,
    client: &Client,
    state: &StreamState,
) -> anyhow::Result<Option<u64>> {
    let fresh = !config.journal_path().exists()
        && !config.journal_dir().exists()
        && !config.snapshot_path().exists();
    if !fresh || state.first_seq <= 1 {
        return Ok(None);
    }
    let Some(bytes) = client.fetch_snapshot()? else {
        return Ok(None);
    };
    let (seq, _) = decode_snapshot(&bytes).context("the object-store snapshot")?;
    let path = config.snapshot_path();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(seq, path = %path.display(), "started from the object-store snapshot");
    Ok(Some(seq))
}

/// Why a node at `seq` whose newest journal record is `last` cannot follow the stream as it
/// is (`None`: its history is a prefix of the stream's, as far as the stream still holds it).
fn divergence(
    client: &Client,
    state: &StreamState,
    seq: u64,
    last: Option<OwnedRecord>,
) -> anyhow::Result<Option<String>> {
    if seq > state.last_seq {
        return Ok(Some(format!(
            "this node's journal reaches seq {seq} but the replication stream ends at {}: it holds records no other node has (a leader that crashed or was fenced before they were replicated)",
            state.last_seq
        )));
    }
    let Some(last) = last.filter(|r| r.seq == seq && seq >= state.first_seq) else {
        // Nothing to compare: an empty journal, or its last record is only in a snapshot, or
        // the stream was purged past it.
        return Ok(None);
    };
    match client.record_at(seq)? {
        Some(theirs) if theirs != last.encode() => Ok(Some(format!(
            "this node's record {seq} differs from the replication stream's: another leader appended there while this node held records the stream never took"
        ))),
        _ => Ok(None),
    }
}

/// Moves the journal, snapshot and archive of a diverged node into
/// `DATA/diverged-<seq>-<unix seconds>/` (kept for inspection; the lock file stays).
fn move_data_aside(config: &Config, seq: u64) -> anyhow::Result<std::path::PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let aside = config.data_dir.join(format!("diverged-{seq}-{stamp}"));
    std::fs::create_dir_all(&aside).with_context(|| format!("creating {}", aside.display()))?;
    for path in [
        config.journal_dir(),
        config.journal_path(),
        config.snapshot_path(),
        config.archive_dir(),
    ] {
        if !path.exists() {
            continue;
        }
        let name = path
            .file_name()
            .map_or_else(|| "data".into(), |n| n.to_owned());
        let to = aside.join(name);
        std::fs::rename(&path, &to)
            .with_context(|| format!("moving {} to {}", path.display(), to.display()))?;
    }
    Ok(aside)
}

impl Replica {
    /// Connects to NATS, and when the data directory is empty fetches the newest snapshot
    /// from the object store into it; then opens the local journal with `open` (recovering
    /// `world`) and checks it is a prefix of the stream. A node whose history diverged from
    /// the stream (a leader that crashed or was fenced with records the stream never took)
    /// moves its data aside and rebuilds from the stream under `ack: Stream` (none of those
    /// records was acknowledged); under `ack: LocalJournal` it refuses to start, since they
    /// may have been. The node starts as a follower.
    pub fn open<S: JournalStorage>(
        config: &Config,
        world: &mut VoxelWorld,
        mut open: impl FnMut(&Config, &mut VoxelWorld) -> anyhow::Result<Persistence<S>>,
    ) -> anyhow::Result<(Replica, Persistence<S>)> {
        let rc = &config.replication;
        let node = if rc.node.is_empty() {
            config.socket.path.display().to_string()
        } else {
            rc.node.clone()
        };
        let holder = LeaseHolder {
            node,
            socket: config.socket.path.display().to_string(),
        };
        let client = Client::connect(rc, holder.clone())?;
        let state = client.stream_state()?;
        let mut started_from_snapshot = fetch_snapshot_if_fresh(config, &client, &state)?;
        let mut persistence = open(config, world)?;
        let mut moved_aside = None;
        let recovered = persistence.take_recovered_last();
        if let Some(reason) = divergence(&client, &state, world.seq(), recovered)? {
            if rc.ack != ReplicationAck::Stream {
                bail!(
                    "{reason}. Under `ack: LocalJournal` those records may have been acknowledged, so this node does not discard them by itself: move its data directory ({}) aside and start it again to rebuild it from the stream",
                    config.data_dir.display()
                );
            }
            drop(persistence);
            let aside = move_data_aside(config, world.seq())?;
            tracing::warn!(
                reason, moved_to = %aside.display(),
                "replication: this node's history diverged from the stream; its data was moved aside (none of the records only it had was acknowledged under ack: Stream) and it rebuilds from the stream"
            );
            *world = VoxelWorld::new(crate::server::world_settings(config));
            started_from_snapshot = fetch_snapshot_if_fresh(config, &client, &state)?;
            persistence = open(config, world)?;
            moved_aside = Some(aside.display().to_string());
        }
        let seq = world.seq();
        if state.last_seq > 0 && state.first_seq > seq + 1 {
            bail!(
                "the replication stream starts at seq {} but this node is at seq {seq}: the records between are only in the object-store snapshot. Start it with an empty data directory ({}) to begin from that snapshot",
                state.first_seq,
                config.data_dir.display()
            );
        }
        let replica = Replica {
            client,
            config: rc.clone(),
            holder,
            role: Role::Follower,
            epoch: 0,
            leader: None,
            started_from_snapshot,
            moved_aside,
            diverged: false,
            stream_seq: state.last_seq,
            confirmed_seq: seq,
            awaited_seq: seq,
            awaited_since: None,
            ack_deadline: Duration::from_millis(rc.ack_timeout_ms * 2 + 1000),
            last_applied: None,
            records_since_snapshot: 0,
            snapshot_seq: None,
            snapshot_thread: None,
        };
        let mut persistence = persistence;
        replica.refresh_refusal(&mut persistence);
        tracing::info!(
            node = %replica.holder.node, seq, stream_last = state.last_seq,
            "replication: following"
        );
        Ok((replica, persistence))
    }

    /// Starts consuming the stream after the world's seq and competing for the lease; events
    /// wake the loop through `waker`.
    pub fn follow(&self, world: &VoxelWorld, waker: Arc<Waker>) {
        self.client.follow(world.seq(), waker);
    }

    /// Whether this node takes edits.
    pub fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }

    /// How many records replies written now wait for (`ack: Stream`: those recorded since
    /// the last publish and those published and not yet acknowledged; 0 otherwise).
    pub fn pending_len<S: JournalStorage>(&self, persistence: &Persistence<S>) -> usize {
        if self.config.ack != ReplicationAck::Stream {
            return 0;
        }
        let tapped = if self.role == Role::Leader {
            persistence.tapped_len()
        } else {
            0
        };
        tapped + self.in_flight() as usize
    }

    /// Records published and not yet acknowledged.
    pub fn in_flight(&self) -> u64 {
        self.awaited_seq.saturating_sub(self.confirmed_seq)
    }

    /// What the NATS thread reported (the world loop gathers them as its events).
    pub fn events(&self) -> &flume::Receiver<Event> {
        self.client.events()
    }

    /// Handles what the NATS thread reported: applies records (follower), takes or loses the
    /// lease, and says what acks and refusals mean for the replies waiting on the stream.
    pub fn handle<S: JournalStorage>(
        &mut self,
        event: Event,
        world: &mut VoxelWorld,
        persistence: &mut Persistence<S>,
    ) -> Option<Outcome> {
        let mut outcome = None;
        match event {
            Event::Records(records) => self.on_records(world, persistence, records),
            Event::Leader { epoch, last_seq } => {
                self.take_over(world, persistence, epoch, last_seq)
            }
            Event::LeaseLost(reason) => {
                if self.role == Role::Leader {
                    tracing::warn!(reason, "replication: lease lost, stepping down");
                    self.role = Role::Follower;
                    persistence.set_tap(false);
                }
            }
            Event::LeaderIs(holder) => {
                tracing::info!(leader = %holder.node, "replication: leader");
                self.leader = Some(holder);
            }
            Event::Published(Ok(seq)) => {
                self.stream_seq = self.stream_seq.max(seq);
                self.confirmed_seq = self.confirmed_seq.max(seq);
                self.awaited_since = (self.in_flight() > 0).then(Instant::now);
                outcome = Some(Outcome::Acked(self.confirmed_seq));
            }
            Event::Published(Err(failure)) => {
                let reason = failure.to_string();
                self.stop(reason.clone());
                // Fenced: another leader's record holds this place, so this node's own
                // unreplicated records will never be the stream's; a restart sets them aside.
                self.diverged |= matches!(failure, PublishFailure::Fenced { .. });
                outcome = Some(self.refuse_waiting(&reason));
            }
            Event::SnapshotPut(seq) => self.snapshot_seq = Some(seq),
            Event::Failed(reason) => {
                tracing::error!(reason, "replication");
                if reason.starts_with("stream message") {
                    self.stop(reason);
                }
            }
        }
        if let Role::Stopped(reason) = &self.role
            && self.in_flight() > 0
        {
            // Stopped for another reason with records still on their way: whatever the
            // stream does with them now, this node will not follow it.
            let reason = reason.clone();
            outcome = Some(self.refuse_waiting(&reason));
        }
        self.refresh_refusal(persistence);
        outcome
    }

    /// Gives up on the records in flight: the replies waiting for them get `Refused`.
    fn refuse_waiting(&mut self, reason: &str) -> Outcome {
        self.awaited_seq = self.confirmed_seq;
        self.awaited_since = None;
        Outcome::Refused(self.withdrawn_error(reason))
    }

    /// The stream has not acknowledged a publish within the ack deadline (the NATS thread is
    /// stuck or gone): the node stops and the waiting replies are withdrawn. Checked by the
    /// loop every iteration (it wakes at least once a second).
    pub fn check_overdue<S: JournalStorage>(
        &mut self,
        persistence: &mut Persistence<S>,
    ) -> Option<Outcome> {
        let since = self.awaited_since?;
        if self.in_flight() == 0 || since.elapsed() < self.ack_deadline {
            return None;
        }
        let reason = format!(
            "no acknowledgement from the stream within {} ms",
            self.ack_deadline.as_millis()
        );
        self.stop(reason.clone());
        self.refresh_refusal(persistence);
        Some(self.refuse_waiting(&reason))
    }

    fn on_records<S: JournalStorage>(
        &mut self,
        world: &mut VoxelWorld,
        persistence: &mut Persistence<S>,
        records: Vec<OwnedRecord>,
    ) {
        if let Some(last) = records.last() {
            self.stream_seq = self.stream_seq.max(last.seq);
        }
        let new: Vec<OwnedRecord> = records
            .into_iter()
            .filter(|r| r.seq > world.seq())
            .collect();
        if new.is_empty() {
            return;
        }
        if world.seq() > self.confirmed_seq {
            // Another leader's records arrived while this node holds records of its own the
            // stream has not confirmed: the two histories differ from `confirmed_seq + 1`.
            self.diverged = true;
            return self.stop(format!(
                "another leader appended to the stream (from seq {}) while this node held records {}..={} the stream had not acknowledged; its world differs from the stream's after seq {}",
                new[0].seq,
                self.confirmed_seq + 1,
                world.seq(),
                self.confirmed_seq
            ));
        }
        match self.role {
            Role::Stopped(_) => return,
            Role::Leader => {
                // Another leader appended: this node is not the leader any more.
                tracing::warn!(
                    seq = new[0].seq,
                    "replication: another leader appended to the stream; stepping down"
                );
                self.role = Role::Follower;
                persistence.set_tap(false);
                self.client
                    .step_down(Some(Duration::from_millis(self.config.lease_ttl_ms)));
            }
            Role::Follower => {}
        }
        if new[0].seq != world.seq() + 1 {
            return self.stop(format!(
                "the stream continues at seq {} but this node is at seq {}",
                new[0].seq,
                world.seq()
            ));
        }
        if let Err(e) = replay_replicated(world, &new) {
            return self.stop(format!("applying the stream failed: {e:#}"));
        }
        if let Err(e) = persistence.append_replicated(&new) {
            return self.stop(format!("journaling the stream locally failed: {e}"));
        }
        self.confirmed_seq = world.seq();
        self.awaited_seq = self.awaited_seq.max(self.confirmed_seq);
        self.last_applied = Some(Instant::now());
    }

    /// The lease was taken with every record up to `last_seq` delivered: once they are all
    /// applied, append the epoch record (fencing an old leader) and take edits.
    fn take_over<S: JournalStorage>(
        &mut self,
        world: &mut VoxelWorld,
        persistence: &mut Persistence<S>,
        epoch: u64,
        last_seq: u64,
    ) {
        let retry = Some(Duration::from_millis(self.config.lease_ttl_ms / 3));
        if self.role != Role::Follower || world.seq() != last_seq {
            self.client.step_down(retry);
            return;
        }
        let mut payload = EPOCH_TAG.to_vec();
        payload.extend_from_slice(&epoch.to_le_bytes());
        payload.extend_from_slice(self.holder.node.as_bytes());
        let marker = OwnedRecord {
            kind: RecordKind::Meta,
            seq: last_seq + 1,
            source: Source::System,
            payload,
        };
        match self.client.publish_and_wait(vec![marker.clone()], epoch) {
            Ok(_) => {}
            Err(failure) => {
                tracing::warn!(%failure, "replication: taking over failed; following again");
                self.client.step_down(retry);
                return;
            }
        }
        if let Err(e) = replay_replicated(world, std::slice::from_ref(&marker)) {
            return self.stop(format!("applying the epoch record failed: {e:#}"));
        }
        if let Err(e) = persistence.append_replicated(std::slice::from_ref(&marker)) {
            return self.stop(format!("journaling the epoch record failed: {e}"));
        }
        self.stream_seq = marker.seq;
        self.confirmed_seq = marker.seq;
        self.awaited_seq = marker.seq;
        self.epoch = epoch;
        self.role = Role::Leader;
        self.leader = Some(self.holder.clone());
        persistence.set_tap(true);
        tracing::info!(
            node = %self.holder.node, epoch, seq = world.seq(),
            "replication: leading"
        );
    }

    /// Ends a loop iteration, after the local journal's sync: a leader publishes the records
    /// of the iteration in the background. `Ok(Some(seq))`: under `ack: Stream`, the replies
    /// written in this iteration wait until the stream acknowledged `seq` (an
    /// [`Outcome`] of a later event says when). `Err`: this iteration's records will not be
    /// replicated (the node stopped leading before they went out); its replies must be
    /// withdrawn with the error.
    pub fn settle<S: JournalStorage>(
        &mut self,
        world: &VoxelWorld,
        persistence: &mut Persistence<S>,
    ) -> Result<Option<u64>, RpcError> {
        if self.role != Role::Leader {
            let unsent = persistence.take_tapped();
            if !unsent.is_empty() {
                // Recorded while leading, after the lease was lost or the node stopped in
                // this iteration: they never reach the stream.
                let reason = format!(
                    "this node stopped leading before records {}..={} were published",
                    unsent[0].seq,
                    unsent[unsent.len() - 1].seq
                );
                if !matches!(self.role, Role::Stopped(_)) {
                    self.stop(reason.clone());
                }
                self.refresh_refusal(persistence);
                return Err(self.withdrawn_error(&reason));
            }
            return Ok(self.awaited());
        }
        let records = persistence.take_tapped();
        if !records.is_empty() {
            self.records_since_snapshot += records.len() as u64;
            let last = records[records.len() - 1].seq;
            self.client.publish(records, self.epoch);
            if self.config.ack == ReplicationAck::Stream {
                self.awaited_seq = last;
                self.awaited_since.get_or_insert_with(Instant::now);
            }
            self.maybe_snapshot(world);
        }
        Ok(self.awaited())
    }

    /// Whether the server should restart to rejoin: its history diverged from the stream's,
    /// nothing waits for the stream any more, and under `ack: Stream` (none of its own
    /// records was acknowledged) with `rejoin_when_diverged` on. The restart's start-up
    /// moves the diverged data aside and follows ([`Replica::open`]).
    pub fn wants_rejoin(&self) -> bool {
        self.diverged
            && self.in_flight() == 0
            && self.config.ack == ReplicationAck::Stream
            && self.config.rejoin_when_diverged
    }

    /// The record replies written now wait for, while some are unacknowledged.
    pub fn awaited(&self) -> Option<u64> {
        (self.config.ack == ReplicationAck::Stream && self.in_flight() > 0)
            .then_some(self.awaited_seq)
    }

    /// At shutdown, after [`Replica::drain`]: a leader gives its lease up at once, so a
    /// caught-up follower takes over within its lease poll instead of after the TTL.
    pub fn hand_over(&mut self) {
        if self.role != Role::Leader {
            return;
        }
        self.role = Role::Stopped("shut down".into());
        if self.client.hand_over() {
            tracing::info!(node = %self.holder.node, "replication: lease handed over at shutdown");
        } else {
            tracing::warn!(node = %self.holder.node, "replication: the lease could not be handed over at shutdown; it expires after its TTL");
        }
    }

    /// Waits (up to the ack deadline) for the records in flight at shutdown, handing each
    /// event to `on_outcome`.
    pub fn drain<S: JournalStorage>(
        &mut self,
        world: &mut VoxelWorld,
        persistence: &mut Persistence<S>,
        mut on_outcome: impl FnMut(Outcome),
    ) {
        let deadline = Instant::now() + self.ack_deadline;
        while self.in_flight() > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.client.events().recv_timeout(left) {
                Ok(event) => {
                    if let Some(o) = self.handle(event, world, persistence) {
                        on_outcome(o);
                    }
                }
                Err(_) => {
                    let reason = "no acknowledgement from the stream before shutdown".to_string();
                    self.stop(reason.clone());
                    on_outcome(self.refuse_waiting(&reason));
                    return;
                }
            }
        }
    }

    /// Puts a snapshot into the object store every `snapshot_every_records` records.
    fn maybe_snapshot(&mut self, world: &VoxelWorld) {
        let every = self.config.snapshot_every_records;
        if every == 0 || self.records_since_snapshot < every || world.unstamped_ticks() > 0 {
            return;
        }
        if self
            .snapshot_thread
            .as_ref()
            .is_some_and(|t| !t.is_finished())
        {
            return;
        }
        self.records_since_snapshot = 0;
        let snapshot = world.snapshot();
        let timers = world.timers().clone();
        let put = self.client.snapshot_sender();
        // Encoding runs off the loop; the upload is the NATS thread's.
        self.snapshot_thread = Some(std::thread::spawn(move || {
            let mut payload = Vec::new();
            encode_snapshot_payload(&snapshot, &timers, &mut payload);
            put(snapshot.seq, encode_snapshot(snapshot.seq, &payload));
        }));
    }

    /// Stops this node: no more edits, no more records applied.
    fn stop(&mut self, reason: String) {
        if matches!(self.role, Role::Stopped(_)) {
            return;
        }
        tracing::error!(
            reason, node = %self.holder.node,
            "replication: this node stopped; it serves reads of what it has and refuses edits until it is restarted (docs/replication.md)"
        );
        if self.role == Role::Leader {
            self.client.step_down(None);
        }
        self.role = Role::Stopped(reason);
    }

    /// Keeps the journal's edit refusal in step with the role.
    fn refresh_refusal<S: JournalStorage>(&self, persistence: &mut Persistence<S>) {
        if self.role == Role::Leader {
            persistence.set_replica_refusal(None);
            return;
        }
        persistence.set_tap(false);
        let error = self.not_leader_error();
        persistence.set_replica_refusal(Some((error.message.clone(), error)));
    }

    /// The error of an edit sent to a node that does not lead.
    pub fn not_leader_error(&self) -> RpcError {
        let leader = self
            .leader
            .as_ref()
            .filter(|l| *l != &self.holder || self.role == Role::Leader);
        let message = match (&self.role, leader) {
            (Role::Stopped(reason), _) => format!(
                "this node ({}) stopped replicating and takes no edits: {reason}",
                self.holder.node
            ),
            (_, Some(l)) => format!(
                "this node ({}) is a read replica; send edits to the leader {} (socket {})",
                self.holder.node, l.node, l.socket
            ),
            (_, None) => format!(
                "this node ({}) is a read replica and no leader is known yet; retry shortly",
                self.holder.node
            ),
        };
        RpcError::server(
            codes::NOT_LEADER,
            message,
            Some(json!({
                "role": self.role.name(),
                "node": self.holder.node,
                "leader": leader.map(|l| l.node.clone()),
                "leader_socket": leader.map(|l| l.socket.clone()),
            })),
        )
    }

    fn withdrawn_error(&self, reason: &str) -> RpcError {
        RpcError::server(
            codes::NOT_LEADER,
            format!(
                "the replication stream did not take this edit ({reason}); it is not replicated and this node ({}) stepped down and takes no edits. This reply was withdrawn; send edits to the current leader",
                self.holder.node
            ),
            Some(json!({
                "role": self.role.name(), "node": self.holder.node, "withdrawn": true,
                "error": reason,
            })),
        )
    }

    /// `replication` in `goxel.get_status`.
    pub fn status(&self, world: &VoxelWorld) -> Value {
        json!({
            "role": self.role.name(),
            "node": self.holder.node,
            "world": self.config.world,
            "epoch": self.epoch,
            "leader": self.leader.as_ref().map(|l| l.node.clone()),
            "leader_socket": self.leader.as_ref().map(|l| l.socket.clone()),
            "stream_seq": self.stream_seq,
            "as_of_seq": world.seq(),
            "lag_records": self.stream_seq.saturating_sub(world.seq()),
            "ack": match self.config.ack {
                ReplicationAck::Stream => "Stream",
                ReplicationAck::LocalJournal => "LocalJournal",
            },
            "stopped": match &self.role { Role::Stopped(r) => Value::from(r.as_str()), _ => Value::Null },
            "started_from_snapshot": self.started_from_snapshot,
            "moved_aside": self.moved_aside,
            "snapshot_seq": self.snapshot_seq,
        })
    }
}
