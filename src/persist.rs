//! Persistence around the world: recovery at start-up (newest snapshot + journal tail), the
//! journal [`Recorder`] the methods write through, snapshot policy, and journal replay.
//!
//! Guarantees (see also `docs/journal-format.md`): every applied buffer is handed to the OS by
//! a `write` before its reply is queued, so a killed process loses nothing acknowledged under
//! any fsync policy. `Always` adds one fsync per world-loop iteration, shared by every request
//! of that iteration (group commit, [`SyncMode::Group`]) and done before their replies are
//! written; `EverySec` syncs at most a second late; `Never` leaves it to the OS.
//!
//! # A failed fsync
//! Under `Always` the buffers of the iteration are held ([`Recorder::hold`]) until the group
//! sync. If it fails, [`Persistence::end_of_iteration`] takes them back (newest first, world,
//! `seq` and undo history exactly as after the last good sync), the writer cuts their records
//! out of the file, and the caller answers the group's requests with the journal error. Under
//! every policy a failed fsync then fails the journal: it refuses every edit
//! ([`Recorder::refusal`]) until the server is restarted, which reopens and rescans the file.
//! The fsync is never retried, because after a failure the kernel may have dropped the data
//! and a retry would report success without it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::{Context, bail};
use glam::IVec3;
use systems::apply::WorldLimits;
use systems::simulation::Timers;
use systems::{EditLimits, Source, VoxelBox, VoxelWorld, WorldSnapshot};

use crate::codec::{
    Meta, decode_buffer, decode_meta, decode_steps, decode_world, encode_snapshot_payload,
};
use crate::config::{Config, FsyncPolicy};
use crate::journal::{
    self, FileStorage, JournalStorage, JournalWriter, Record, RecordKind, Scan, SyncMode,
    read_snapshot, snapshot_file::write_snapshot_file,
};
use crate::methods::{Held, JOURNAL_RECOVERY, JournalState, Recorder};
use crate::replication::OwnedRecord;
use crate::rpc::RpcError;

/// Buffers submitted per world update while replaying (one snapshot publication per group).
const REPLAY_GROUP: usize = 4096;

/// The journal and snapshots of a running server, with the journal in `S` (a file; tests use
/// a storage that fails on demand, through [`Persistence::open_with_storage`]).
pub struct Persistence<S: JournalStorage = FileStorage> {
    /// Held for the server's lifetime: one server per data directory.
    _lock: std::fs::File,
    writer: JournalWriter<S>,
    /// The configured policy (for status and messages; the writer has its [`SyncMode`]).
    policy: FsyncPolicy,
    /// `Always`: the changes recorded since the last group sync, oldest first. Taken back if
    /// the sync fails (as far as they can be: [`Held`]).
    group: Vec<Held>,
    /// A group sync done during the iteration ([`Recorder::sync_held`]) failed: the reason,
    /// for [`Persistence::end_of_iteration`] to report.
    group_failure: Option<String>,
    /// Simulation ticks whose group sync failed are still in the world (a tick has no
    /// inverse): the world holds changes the journal does not, so no snapshot is written.
    diverged: bool,
    /// Whether the failure of the journal was logged (it is logged once).
    failure_logged: bool,
    snapshot_path: PathBuf,
    every_records: u64,
    on_shutdown: bool,
    records_since_snapshot: u64,
    snapshot_thread: Option<JoinHandle<()>>,
    /// Replication hook: while `Some`, every record written is also copied here for the
    /// leader to publish (`src/replication/`).
    tap: Option<Vec<OwnedRecord>>,
    /// Replication hook: why this node takes no edits (a read replica, or a leader that
    /// stepped down): the reason for [`Recorder::refusal`] and the error edits get.
    replica_refusal: Option<(String, RpcError)>,
}

fn journal_source(s: Source) -> journal::Source {
    match s {
        Source::Rpc => journal::Source::Rpc,
        Source::Script => journal::Source::Script,
        Source::Undo => journal::Source::Undo,
        Source::Redo => journal::Source::Redo,
        Source::System => journal::Source::System,
    }
}

impl Persistence<FileStorage> {
    /// Opens the journal of `config`, recovering `world` from the newest snapshot and the
    /// journal records after it. A torn tail is cut (and logged); corruption in the middle of
    /// the journal stops start-up with an error naming its byte offset.
    pub fn open(config: &Config, world: &mut VoxelWorld) -> anyhow::Result<Persistence> {
        let lock = lock_data_dir(config)?;
        let journal_path = config.journal_path();
        let storage = FileStorage::open(&journal_path)
            .with_context(|| format!("opening journal {}", journal_path.display()))?;
        Self::open_parts(
            config,
            world,
            lock,
            storage,
            |storage, journal_end, from| {
                // The journal ends before the snapshot (it was cut by a repair): the snapshot holds
                // everything, but new records could not follow the old ones. Keep the old journal
                // aside for inspection and start a new one after the snapshot.
                let aside = journal_path.with_extension(format!("vxj.behind-snapshot-{from}"));
                drop(storage);
                std::fs::rename(&journal_path, &aside)
                    .with_context(|| format!("moving {} aside", journal_path.display()))?;
                tracing::warn!(
                    journal_end, snapshot_seq = from, moved_to = %aside.display(),
                    "journal ends before the snapshot; starting a new journal after the snapshot"
                );
                FileStorage::open(&journal_path)
                    .with_context(|| format!("opening journal {}", journal_path.display()))
            },
        )
    }
}

impl<S: JournalStorage> Persistence<S> {
    /// [`Persistence::open`] with the journal in `storage` instead of the configured file;
    /// the lock and the snapshots stay in the data directory. For tests that make the journal
    /// fail under the real server ([`crate::server::spawn_with_storage`]). A journal that ends
    /// before the snapshot is an error here (the file version sets it aside).
    pub fn open_with_storage(
        config: &Config,
        world: &mut VoxelWorld,
        storage: S,
    ) -> anyhow::Result<Persistence<S>> {
        let lock = lock_data_dir(config)?;
        Self::open_parts(config, world, lock, storage, |_, end, from| {
            bail!("the journal ends at seq {end}, before the snapshot at seq {from}")
        })
    }

    fn open_parts(
        config: &Config,
        world: &mut VoxelWorld,
        lock: std::fs::File,
        storage: S,
        set_aside: impl FnOnce(S, u64, u64) -> anyhow::Result<S>,
    ) -> anyhow::Result<Persistence<S>> {
        let journal_path = config.journal_path();
        let snapshot_path = config.snapshot_path();
        let mode = config.journal.fsync.sync_mode();
        let (mut writer, mut scan) = JournalWriter::open(storage, mode)
            .with_context(|| format!("opening journal {}", journal_path.display()))?;
        let from = load_snapshot(world, &snapshot_path)?;
        if let Some(range) = scan.seq_range()
            && *range.end() < from
        {
            let storage = set_aside(writer.into_storage(), *range.end(), from)?;
            (writer, scan) = JournalWriter::open(storage, mode)
                .with_context(|| format!("opening journal {}", journal_path.display()))?;
        }
        let replayed = replay_records(world, &scan, from, None)
            .with_context(|| format!("replaying journal {}", journal_path.display()))?;
        tracing::info!(
            journal = %journal_path.display(), snapshot_seq = from, replayed, seq = world.seq(),
            hash = %world.snapshot().hash_hex(), "recovered"
        );
        Ok(Persistence {
            _lock: lock,
            writer,
            policy: config.journal.fsync,
            group: Vec::new(),
            group_failure: None,
            diverged: false,
            failure_logged: false,
            snapshot_path,
            every_records: config.journal.snapshot.every_records,
            on_shutdown: config.journal.snapshot.on_shutdown,
            records_since_snapshot: replayed,
            snapshot_thread: None,
            tap: None,
            replica_refusal: None,
        })
    }

    /// How many changes (buffers, steps, rule changes) recorded in this iteration wait for their group sync (`Always`; 0
    /// otherwise): while any does, replies written depend on them and must not be sent unless
    /// the sync succeeds.
    pub fn group_len(&self) -> usize {
        self.group.len()
    }

    /// Called once per world-loop iteration, before replies are written: the group sync of
    /// `Always`, the late sync of `EverySec`, and the snapshot policy.
    ///
    /// `Err(reason)`: the group sync failed, and the changes recorded in this iteration were
    /// taken back out of `world` (as far as they can be: [`Held`]) and of the journal file;
    /// the caller must answer their requests (and every reply that saw them) with the journal
    /// error instead of their results. The journal has failed and refuses edits and ticks
    /// from now on.
    pub fn end_of_iteration(&mut self, world: &mut VoxelWorld) -> Result<(), String> {
        let mut outcome = match self.group_failure.take() {
            Some(reason) => Err(reason),
            None => Ok(()),
        };
        if self.writer.failure().is_none() {
            let synced = match self.writer.mode() {
                SyncMode::Group => self.writer.sync(),
                _ => self.writer.tick().map(|_| ()),
            };
            if synced.is_err() {
                outcome = self.take_back_group(world);
            }
            self.group.clear();
            self.log_failure();
        }
        // A snapshot covers what has a seq: ticks without one would be taken twice by a replay.
        if self.writer.failure().is_none()
            && self.every_records > 0
            && self.records_since_snapshot >= self.every_records
            && world.unstamped_ticks() == 0
        {
            let finished = self
                .snapshot_thread
                .as_ref()
                .is_none_or(|t| t.is_finished());
            if finished {
                self.records_since_snapshot = 0;
                let snapshot = world.snapshot();
                let timers = world.timers().clone();
                let path = self.snapshot_path.clone();
                // The snapshot is immutable: encode and write it off the world thread.
                self.snapshot_thread = Some(std::thread::spawn(move || {
                    if let Err(e) = save_snapshot(&snapshot, &timers, &path) {
                        tracing::error!(error = %e, "writing snapshot failed");
                    }
                }));
            }
        }
        outcome
    }

    /// Syncs the journal and writes the shutdown snapshot.
    pub fn shutdown(&mut self, world: &VoxelWorld) {
        if let Some(t) = self.snapshot_thread.take() {
            let _ = t.join();
        }
        if self.writer.failure().is_none()
            && let Err(e) = self.writer.sync()
        {
            tracing::error!(error = %e, "final journal sync failed");
        }
        if self.diverged {
            tracing::error!(
                "no shutdown snapshot: the world holds simulation ticks the failed journal lost"
            );
        } else if self.on_shutdown
            && let Err(e) = save_snapshot(&world.snapshot(), world.timers(), &self.snapshot_path)
        {
            tracing::error!(error = %e, "writing shutdown snapshot failed");
        }
    }

    /// Replication: starts (`true`) or stops copying every record written for the leader to
    /// publish.
    pub fn set_tap(&mut self, on: bool) {
        self.tap = on.then(Vec::new);
    }

    /// Replication: the records written since the last call (while the tap is on).
    pub fn take_tapped(&mut self) -> Vec<OwnedRecord> {
        self.tap.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Replication: how many records wait in the tap.
    pub fn tapped_len(&self) -> usize {
        self.tap.as_ref().map_or(0, Vec::len)
    }

    /// Replication: refuse every edit with `error` (`reason` for logs and ticks), or take
    /// edits again (`None`).
    pub fn set_replica_refusal(&mut self, refusal: Option<(String, RpcError)>) {
        self.replica_refusal = refusal;
    }

    /// Replication: appends records a leader published (already applied to the world) to the
    /// local journal, as they are.
    pub fn append_replicated(&mut self, records: &[OwnedRecord]) -> Result<(), String> {
        for r in records {
            self.writer
                .append(&r.as_record())
                .map_err(|e| e.to_string())?;
        }
        let committed = self.writer.commit().map_err(|e| e.to_string());
        self.log_failure();
        committed?;
        self.records_since_snapshot += records.len() as u64;
        Ok(())
    }

    /// The journal writer (tests look at its storage).
    pub fn writer(&self) -> &JournalWriter<S> {
        &self.writer
    }

    /// The journal writer, mutably (tests plan faults through its storage).
    pub fn writer_mut(&mut self) -> &mut JournalWriter<S> {
        &mut self.writer
    }

    /// The group sync failed: takes the held group back out of `world`, newest first. Buffers
    /// and rule changes go back exactly; a step cannot ([`Held::Steps`]), so taking back stops
    /// there (a step only heads its group: [`Recorder::sync_held`]) and the world is marked
    /// diverged. `Err(reason)` when anything was held (its replies must be withdrawn).
    fn take_back_group(&mut self, world: &mut VoxelWorld) -> Result<(), String> {
        let group = std::mem::take(&mut self.group);
        if group.is_empty() {
            return Ok(());
        }
        self.records_since_snapshot = self
            .records_since_snapshot
            .saturating_sub(group.len() as u64);
        let count = group.len();
        let mut kept_ticks = 0;
        for held in group.into_iter().rev() {
            match held {
                Held::Buffer(applied) => world.revert_last(applied),
                Held::Rules { old, seq } => {
                    world.set_rules(old);
                    world.set_seq(seq - 1);
                    world.update();
                }
                Held::Steps { ticks, .. } => {
                    kept_ticks += ticks;
                    self.diverged = true;
                }
            }
        }
        if kept_ticks > 0 {
            tracing::error!(
                ticks = kept_ticks,
                tick = world.tick(),
                seq = world.seq(),
                "journal group sync failed after simulation ticks: a tick cannot be taken back, so the world keeps them in memory only; they are not durable, no reply that saw them is sent, and a restart replays the journal without them"
            );
        }
        tracing::error!(
            taken_back = count, seq = world.seq(), hash = %world.snapshot().hash_hex(),
            "journal group sync failed; the iteration's changes were taken back and are answered with the journal error"
        );
        Err(self.writer.failure().unwrap_or("fsync failed").to_string())
    }

    /// Logs the failure of the journal, once.
    fn log_failure(&mut self) {
        if let Some(error) = self.writer.failure()
            && !self.failure_logged
        {
            self.failure_logged = true;
            tracing::error!(
                error,
                fsync = self.policy.name(),
                recovery = JOURNAL_RECOVERY,
                "the journal failed: every edit is refused from now on, reads keep working"
            );
        }
    }
}

fn lock_data_dir(config: &Config) -> anyhow::Result<std::fs::File> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let lock_path = config.data_dir.join("voxeld.lock");
    let lock = std::fs::File::create(&lock_path)
        .with_context(|| format!("creating {}", lock_path.display()))?;
    if lock.try_lock().is_err() {
        bail!(
            "data directory {} is in use by another voxeld (lock {}); give each server its own --data-dir",
            config.data_dir.display(),
            lock_path.display()
        );
    }
    Ok(lock)
}

impl<S: JournalStorage> Recorder for Persistence<S> {
    fn record(
        &mut self,
        kind: RecordKind,
        seq: u64,
        source: Source,
        payload: &[u8],
    ) -> Result<(), String> {
        let record = Record {
            kind,
            seq,
            source: journal_source(source),
            payload,
        };
        self.writer.append(&record).map_err(|e| e.to_string())?;
        let committed = self.writer.commit().map_err(|e| {
            format!(
                "{e}: {}",
                std::error::Error::source(&e)
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            )
        });
        self.log_failure();
        committed?;
        self.records_since_snapshot += 1;
        if let Some(tap) = &mut self.tap {
            tap.push(OwnedRecord {
                kind,
                seq,
                source: journal_source(source),
                payload: payload.to_vec(),
            });
        }
        Ok(())
    }

    fn refusal(&self) -> Option<&str> {
        self.writer.failure().or(self
            .replica_refusal
            .as_ref()
            .map(|(reason, _)| reason.as_str()))
    }

    fn not_leader(&self) -> Option<&RpcError> {
        self.replica_refusal.as_ref().map(|(_, error)| error)
    }

    fn hold(&mut self, change: Held) {
        if self.writer.mode() == SyncMode::Group {
            self.group.push(change);
        }
    }

    fn sync_held(&mut self, world: &mut VoxelWorld) -> Result<(), String> {
        if self.group.is_empty() || self.writer.failure().is_some() {
            return Ok(());
        }
        let synced = self.writer.sync();
        let outcome = if synced.is_err() {
            self.take_back_group(world)
        } else {
            self.group.clear();
            Ok(())
        };
        self.log_failure();
        if let Err(reason) = &outcome {
            self.group_failure = Some(reason.clone());
        }
        outcome
    }

    fn state(&self) -> JournalState<'_> {
        let fsync = self.policy.name();
        match self.writer.failure() {
            None => JournalState::Ok { fsync },
            Some(error) => JournalState::Failed { fsync, error },
        }
    }
}

/// Writes `snapshot`, with the simulation's running `timers`, atomically to `path`.
pub fn save_snapshot(
    snapshot: &Arc<WorldSnapshot>,
    timers: &Timers,
    path: &Path,
) -> anyhow::Result<()> {
    let mut payload = Vec::new();
    encode_snapshot_payload(snapshot, timers, &mut payload);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    write_snapshot_file(path, snapshot.seq, &payload)
        .with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(path = %path.display(), seq = snapshot.seq, bytes = payload.len(), "snapshot written");
    Ok(())
}

/// Loads the snapshot at `path` into a fresh `world`, if the file exists; returns its seq (0
/// without a snapshot).
pub fn load_snapshot(world: &mut VoxelWorld, path: &Path) -> anyhow::Result<u64> {
    if !path.exists() {
        return Ok(0);
    }
    let (seq, payload) =
        read_snapshot(path).with_context(|| format!("reading snapshot {}", path.display()))?;
    let image =
        decode_world(&payload).with_context(|| format!("decoding snapshot {}", path.display()))?;
    if image.seq != seq {
        bail!(
            "snapshot {} says seq {} outside and {} inside",
            path.display(),
            seq,
            image.seq
        );
    }
    let applied = world.apply(image.restore);
    if let Err(e) = applied.result {
        bail!("snapshot {} does not apply: {e}", path.display());
    }
    if let Some((tick, rules)) = image.simulation {
        world.set_rules(rules);
        world.set_tick(tick);
        world.set_timers(image.timers);
    }
    world.set_seq(seq);
    world.update();
    Ok(seq)
}

/// Applies the records of `scan` with seq in `(after, until]` to `world`, in order: buffers,
/// runs of simulation steps (re-run under the rules then in force) and rule changes. Returns
/// how many were applied. Each must land on its recorded seq.
pub fn replay_records(
    world: &mut VoxelWorld,
    scan: &Scan,
    after: u64,
    until: Option<u64>,
) -> anyhow::Result<u64> {
    replay_records_with_progress(world, scan, after, until, &mut |_| {})
}

/// [`replay_records`], calling `progress` with the number of records applied so far after each
/// group of records (for a progress bar).
pub fn replay_records_with_progress(
    world: &mut VoxelWorld,
    scan: &Scan,
    after: u64,
    until: Option<u64>,
    progress: &mut dyn FnMut(u64),
) -> anyhow::Result<u64> {
    // Every recorded buffer was accepted under the limits of its day; replay must not judge it
    // again by today's (a lowered limit would otherwise make history unreplayable).
    let unlimited = EditLimits {
        bounds: VoxelBox {
            min: IVec3::splat(i32::MIN),
            max: IVec3::splat(i32::MAX),
        },
        max_voxels: u64::MAX,
        flood_fill_limit: u64::MAX,
    };
    let limits = std::mem::replace(&mut world.world.resource_mut::<WorldLimits>().0, unlimited);
    let result = replay_unchecked(world, scan.records(), after, until, progress);
    world.world.resource_mut::<WorldLimits>().0 = limits;
    result
}

/// Applies records a replication leader published (consecutive, after the world's seq) the
/// way recovery replays the journal; returns how many were applied.
pub fn replay_replicated(world: &mut VoxelWorld, records: &[OwnedRecord]) -> anyhow::Result<u64> {
    let unlimited = EditLimits {
        bounds: VoxelBox {
            min: IVec3::splat(i32::MIN),
            max: IVec3::splat(i32::MAX),
        },
        max_voxels: u64::MAX,
        flood_fill_limit: u64::MAX,
    };
    let limits = std::mem::replace(&mut world.world.resource_mut::<WorldLimits>().0, unlimited);
    let after = world.seq();
    let records = records.iter().map(|r| (r.seq, r.as_record()));
    let result = replay_unchecked(world, records, after, None, &mut |_| {});
    world.world.resource_mut::<WorldLimits>().0 = limits;
    result
}

/// Replays `records` (with where each is, for messages: a byte offset or a stream sequence).
fn replay_unchecked<'r>(
    world: &mut VoxelWorld,
    records: impl Iterator<Item = (u64, Record<'r>)>,
    after: u64,
    until: Option<u64>,
    progress: &mut dyn FnMut(u64),
) -> anyhow::Result<u64> {
    let mut pending: Vec<u64> = Vec::new();
    let mut applied = 0;
    let mut others = 0;
    let mut flush = |world: &mut VoxelWorld, pending: &mut Vec<u64>| -> anyhow::Result<()> {
        for result in world.update() {
            let expected = pending[result.ticket as usize];
            match result.result {
                Ok(outcome) if outcome.seq == expected => {}
                Ok(outcome) => bail!("record seq {expected} replayed as seq {}", outcome.seq),
                Err(e) => bail!("record seq {expected} does not apply: {e}"),
            }
        }
        applied += pending.len() as u64;
        pending.clear();
        progress(applied);
        Ok(())
    };
    for (offset, record) in records {
        if record.seq <= after {
            continue;
        }
        if until.is_some_and(|u| record.seq > u) {
            break;
        }
        match record.kind {
            RecordKind::Buffer => {
                let buffer = decode_buffer(record.payload).with_context(|| {
                    format!("record seq {} at byte offset {offset}", record.seq)
                })?;
                world.submit(pending.len() as u64, buffer);
                pending.push(record.seq);
                if pending.len() >= REPLAY_GROUP {
                    flush(world, &mut pending)?;
                }
            }
            RecordKind::Step => {
                flush(world, &mut pending)?;
                let ticks = decode_steps(record.payload).with_context(|| {
                    format!("record seq {} at byte offset {offset}", record.seq)
                })?;
                world.step(ticks);
                let stamp = world.stamp_steps();
                let seq = stamp.map_or(world.seq(), |s| s.seq);
                if seq != record.seq {
                    bail!("step record seq {} replayed as seq {seq}", record.seq);
                }
                others += 1;
            }
            RecordKind::Meta => {
                flush(world, &mut pending)?;
                let meta = decode_meta(record.payload).with_context(|| {
                    format!("record seq {} at byte offset {offset}", record.seq)
                })?;
                if let Meta::Rules(rules) = meta {
                    world.set_rules(rules);
                }
                let seq = world.advance_seq();
                if seq != record.seq {
                    bail!("meta record seq {} replayed as seq {seq}", record.seq);
                }
                others += 1;
            }
        }
    }
    flush(world, &mut pending)?;
    world.update();
    Ok(applied + others)
}
