//! Persistence around the world: recovery at start-up (newest snapshot + the journal
//! segments after it), the journal [`Recorder`] the methods write through, the snapshot policy,
//! rotation and retirement of segments, and journal replay.
//!
//! # Bounded journal
//! The journal is a directory of segments ([`crate::journal::segments`]). At each periodic
//! snapshot the loop starts a new segment at the snapshot's `seq + 1`, writes the snapshot off
//! the world thread, and once it is durable deletes the segments it covers (or archives them,
//! `journal.retain`). The order, and why a crash at any point recovers the last acknowledged
//! seq, is in `docs/journal-format.md` ("Segments").
//!
//! # A failed write
//! A write that fails (a full disk) is cut back out by the writer; the edit is refused,
//! `get_status` says `write_error`, and the next edit tries again, so edits resume when space
//! returns. Unlike a failed fsync (below), nothing is left in doubt.
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
use crate::journal::segments::{FaultHook, covered_count, list_segments, move_file};
use crate::journal::snapshot_file::{list_snapshots, snapshot_file_name, write_snapshot_file_with};
use crate::journal::{
    self, CommitError, FileDir, FileStorage, JournalDir, JournalStorage, JournalWriter, OneSegment,
    Record, RecordKind, Scan, SyncMode, read_snapshot,
};
use crate::methods::{Held, JOURNAL_RECOVERY, JournalState, Recorder};
use crate::replication::OwnedRecord;
use crate::rpc::RpcError;

/// Buffers submitted per world update while replaying (one snapshot publication per group).
const REPLAY_GROUP: usize = 4096;

/// After a failed attempt to start a new segment (a full disk), records written before the
/// next attempt, so a full disk does not cost an attempt per edit.
const ROTATE_RETRY_RECORDS: u64 = 1024;

/// The journal and snapshots of a running server, with the journal's segments in `S` (files;
/// tests use a storage that fails on demand, through [`Persistence::open_with_storage`]).
pub struct Persistence<S: JournalStorage = FileStorage> {
    /// Held for the server's lifetime: one server per data directory.
    _lock: std::fs::File,
    /// Where the segments live.
    dir: Box<dyn JournalDir<Segment = S>>,
    /// First seqs of the segments, ascending; the last is the one being written.
    segments: Vec<u64>,
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
    /// The last write failed with this error (cleared by the next successful write): the
    /// edit was refused and cut back out, and the next edit tries again.
    write_error: Option<String>,
    every_records: u64,
    on_shutdown: bool,
    records_since_snapshot: u64,
    /// A segment is closed once it holds this many bytes.
    segment_bytes: u64,
    /// What happens to covered segments.
    retention: Retention,
    /// The background snapshot: the seq it covers once it is durable.
    snapshot_thread: Option<JoinHandle<Result<u64, String>>>,
    /// `seq` of the newest durable snapshot.
    snapshot_seq: u64,
    /// Records to write before retrying a failed rotation.
    rotate_backoff: u64,
    /// Replication hook: while `Some`, every record written is also copied here for the
    /// leader to publish (`src/replication/`).
    tap: Option<Vec<OwnedRecord>>,
    /// Replication hook: why this node takes no edits (a read replica, or a leader that
    /// stepped down): the reason for [`Recorder::refusal`] and the error edits get.
    replica_refusal: Option<(String, RpcError)>,
    /// Replicating: the newest record start-up found in the journal (compared with the
    /// stream's record at its seq, to find a history that diverged).
    recovered_last: Option<OwnedRecord>,
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
    /// Opens the journal of `config` (its segment directory; a single-file journal of an
    /// earlier version is moved in as the first segment), recovering `world` from the newest
    /// snapshot and the segments after it. A torn tail is cut (and logged); corruption stops
    /// start-up with an error naming the file and its byte offset.
    pub fn open(config: &Config, world: &mut VoxelWorld) -> anyhow::Result<Persistence> {
        let lock = lock_data_dir(config)?;
        let dir = FileDir::open(config.journal_dir(), config.archive_dir())
            .with_context(|| format!("opening {}", config.journal_dir().display()))?;
        Self::open_locked(config, world, lock, dir)
    }

    /// [`Persistence::open`] on `dir` (a [`FileDir`] that tests may stop at rotation points).
    pub fn open_with_dir(
        config: &Config,
        world: &mut VoxelWorld,
        dir: FileDir,
    ) -> anyhow::Result<Persistence> {
        let lock = lock_data_dir(config)?;
        Self::open_locked(config, world, lock, dir)
    }

    fn open_locked(
        config: &Config,
        world: &mut VoxelWorld,
        lock: std::fs::File,
        dir: FileDir,
    ) -> anyhow::Result<Persistence> {
        migrate_single_file(config, &dir)?;
        Self::open_parts(config, world, lock, Box::new(dir))
    }
}

/// Moves the single-file journal of earlier versions (`journal.path`) into the segment
/// directory, named after its first record (one rename: a crash leaves it in one place or the
/// other). A journal that fails to scan stays where it is and stops start-up, as before.
fn migrate_single_file(config: &Config, dir: &FileDir) -> anyhow::Result<()> {
    let old = config.journal_path();
    if !old.is_file() {
        return Ok(());
    }
    if !dir.list()?.is_empty() {
        bail!(
            "both a single-file journal {} and segments in {} exist; move one of them away",
            old.display(),
            dir.path().display()
        );
    }
    let scan = journal::scan(&FileStorage::open_read_only(&old)?)
        .with_context(|| format!("scanning journal {}", old.display()))?;
    let first = scan.seq_range().map_or(1, |r| *r.start());
    let to = dir.segment_path(first);
    move_file(&old, &to)
        .with_context(|| format!("moving {} to {}", old.display(), to.display()))?;
    tracing::info!(from = %old.display(), to = %to.display(), "single-file journal moved into the segment directory");
    Ok(())
}

impl<S: JournalStorage + 'static> Persistence<S> {
    /// [`Persistence::open`] with the journal in `storage` instead of the configured
    /// directory, as its one segment (it never rotates); the lock and the snapshots stay in
    /// the data directory. For tests that make the journal fail under the real server
    /// ([`crate::server::spawn_with_storage`]). A journal that ends before the snapshot is an
    /// error here (the directory version sets it aside).
    pub fn open_with_storage(
        config: &Config,
        world: &mut VoxelWorld,
        storage: S,
    ) -> anyhow::Result<Persistence<S>> {
        let lock = lock_data_dir(config)?;
        Self::open_parts(config, world, lock, Box::new(OneSegment::new(storage)))
    }
}

impl<S: JournalStorage> Persistence<S> {
    fn open_parts(
        config: &Config,
        world: &mut VoxelWorld,
        lock: std::fs::File,
        mut dir: Box<dyn JournalDir<Segment = S>>,
    ) -> anyhow::Result<Persistence<S>> {
        let snapshot_path = config.snapshot_path();
        let mode = config.journal.fsync.sync_mode();
        let from = load_snapshot(world, &snapshot_path)?;
        // A snapshot write a crash interrupted: never read, only in the way.
        let mut tmp = snapshot_path.as_os_str().to_owned();
        tmp.push(".tmp");
        let _ = std::fs::remove_file(PathBuf::from(tmp));
        let mut segments = dir.list()?;
        if segments.is_empty() {
            dir.create(from + 1)
                .with_context(|| format!("creating {}", dir.describe(from + 1)))?;
            segments.push(from + 1);
        }
        // Segments the snapshot covers are never read: a rotation was interrupted after the
        // snapshot became durable. Finish it.
        let retention = Retention {
            retain: config.journal.retain,
            archive_dir: config.archive_dir(),
            snapshot_path: snapshot_path.clone(),
        };
        retention.retire_covered(dir.as_mut(), &mut segments, from);
        let rotating = dir.can_rotate();
        let mut next_needed = from + 1;
        let last = segments.len() - 1;
        let mut replayed = 0;
        let mut writer = None;
        let mut recovered_last = None;
        for (i, &name) in segments.iter().enumerate() {
            let what = dir.describe(name);
            let storage = dir
                .open(name)
                .with_context(|| format!("opening journal segment {what}"))?;
            let scan = if i == last {
                let (w, scan) = JournalWriter::open(storage, mode)
                    .with_context(|| format!("opening journal {what}"))?;
                writer = Some(w);
                scan
            } else {
                let scan =
                    journal::scan(&storage).with_context(|| format!("opening journal {what}"))?;
                if let Some(tail) = scan.torn_tail() {
                    bail!(
                        "journal segment {what} is corrupt at byte offset {}: a torn tail in a segment that is not the last (later segments follow it)",
                        tail.offset
                    );
                }
                scan
            };
            if let Some(range) = scan.seq_range() {
                let (first, end) = (*range.start(), *range.end());
                if rotating && first != name {
                    bail!(
                        "journal segment {what} is named for seq {name} but its first record has seq {first}"
                    );
                }
                if first > next_needed || (i > 0 && first != next_needed) {
                    bail!(
                        "journal records {next_needed}..{} are missing: segment {what} starts at seq {first}",
                        first.saturating_sub(1)
                    );
                }
                next_needed = next_needed.max(end + 1);
            }
            replayed += replay_records(world, &scan, from, None)
                .with_context(|| format!("replaying journal {what}"))?;
            if config.replication.enabled
                && let Some(r) = scan.last_record()
            {
                recovered_last = Some(OwnedRecord {
                    kind: r.kind,
                    seq: r.seq,
                    source: r.source,
                    payload: r.payload.to_vec(),
                });
            }
        }
        let mut p = Persistence {
            _lock: lock,
            writer: writer.expect("the last segment is open"),
            dir,
            segments,
            policy: config.journal.fsync,
            group: Vec::new(),
            group_failure: None,
            diverged: false,
            failure_logged: false,
            write_error: None,
            every_records: config.journal.snapshot.every_records,
            on_shutdown: config.journal.snapshot.on_shutdown,
            records_since_snapshot: replayed,
            segment_bytes: config.journal.segment_bytes,
            retention,
            snapshot_thread: None,
            snapshot_seq: from,
            rotate_backoff: 0,
            tap: None,
            replica_refusal: None,
            recovered_last,
        };
        p.start_after(world.seq())?;
        tracing::info!(
            journal = %p.dir.describe(*p.segments.last().unwrap()), segments = p.segments.len(),
            snapshot_seq = from, replayed, seq = world.seq(),
            hash = %world.snapshot().hash_hex(), "recovered"
        );
        Ok(p)
    }

    /// Makes the segment being written take `seq + 1` next. It does unless the journal ends
    /// before the snapshot (it was cut by a repair: the snapshot holds everything, but new
    /// records could not follow the old ones), or the segment is empty and named otherwise.
    fn start_after(&mut self, seq: u64) -> anyhow::Result<()> {
        let name = *self.segments.last().unwrap();
        let next = seq + 1;
        match self.writer.next_seq() {
            Some(n) if n == next => return Ok(()),
            None if name == next || !self.dir.can_rotate() => return Ok(()),
            Some(end) if !self.dir.can_rotate() => {
                bail!(
                    "the journal ends at seq {}, before the snapshot at seq {seq}",
                    end - 1
                )
            }
            Some(end) => {
                // Keep the old segment aside for inspection and start a new one.
                let aside = self
                    .dir
                    .set_aside(name, &format!(".behind-snapshot-{seq}"))
                    .with_context(|| format!("moving {} aside", self.dir.describe(name)))?;
                tracing::warn!(
                    journal_end = end - 1, snapshot_seq = seq, moved_to = %aside,
                    "journal ends before the snapshot; starting a new segment after the snapshot"
                );
            }
            None => {
                // An empty segment named for another seq holds nothing: replace it.
                self.dir
                    .retire(name, false)
                    .with_context(|| format!("removing {}", self.dir.describe(name)))?;
            }
        }
        self.segments.pop();
        let storage = self
            .dir
            .create(next)
            .with_context(|| format!("creating {}", self.dir.describe(next)))?;
        let (writer, _) = JournalWriter::open(storage, self.writer.mode())
            .with_context(|| format!("opening {}", self.dir.describe(next)))?;
        self.writer = writer;
        self.segments.push(next);
        Ok(())
    }

    /// Closes the segment being written and starts a new one, if the directory can: the next
    /// record (`next_seq`) opens it. Returns whether it did. A failure (a full disk) keeps
    /// writing the current segment and is retried later; a new segment that exists but
    /// cannot be used fails the journal (appending to the old one would break the names).
    fn rotate(&mut self, next_seq: u64) -> bool {
        if !self.dir.can_rotate() || self.writer.failure().is_some() {
            return false;
        }
        let name = *self.segments.last().unwrap();
        match self.writer.next_seq() {
            None => return name == next_seq,
            Some(n) if n != next_seq || self.writer.pending_count() > 0 => return false,
            Some(_) => {}
        }
        // The old segment is complete before a new one exists: nothing after a gap.
        if self.writer.is_dirty() && self.writer.sync().is_err() {
            self.log_failure();
            return false;
        }
        let created = self.dir.create(next_seq).and_then(|storage| {
            JournalWriter::open(storage, self.writer.mode())
                .map_err(|e| std::io::Error::other(format!("{e:#}")))
        });
        match created {
            Ok((writer, _)) => {
                self.writer = writer;
                self.segments.push(next_seq);
                tracing::debug!(segment = %self.dir.describe(next_seq), "journal segment started");
                true
            }
            Err(e) => {
                self.rotate_backoff = ROTATE_RETRY_RECORDS;
                let exists = self.dir.list().map(|l| l.contains(&next_seq));
                let removed = match exists {
                    Ok(false) => true,
                    Ok(true) => self.dir.retire(next_seq, false).is_ok(),
                    Err(_) => false,
                };
                if removed {
                    tracing::warn!(error = %e, segment = %self.dir.describe(next_seq), "starting a new journal segment failed; writing on in the current one");
                } else {
                    let reason = format!(
                        "starting journal segment {} failed and it could not be removed: {e}",
                        self.dir.describe(next_seq)
                    );
                    self.writer.fail_with(&reason);
                    self.log_failure();
                }
                false
            }
        }
    }

    /// The snapshot at `seq` is durable: retires the segments it covers ([`Retention`]).
    fn retire_covered(&mut self, seq: u64) {
        self.retention
            .retire_covered(self.dir.as_mut(), &mut self.segments, seq);
    }

    /// Collects a finished background snapshot; once it is durable, retires what it covers.
    fn finish_snapshot(&mut self, wait: bool) {
        let done = self
            .snapshot_thread
            .as_ref()
            .is_some_and(|t| wait || t.is_finished());
        if !done {
            return;
        }
        let thread = self.snapshot_thread.take().unwrap();
        match thread.join() {
            Ok(Ok(seq)) => {
                self.snapshot_seq = seq;
                self.retire_covered(seq);
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "writing snapshot failed; the journal segments it would cover are kept")
            }
            Err(_) => tracing::error!("the snapshot thread panicked"),
        }
    }

    /// Takes a snapshot of `world` now, on this thread: starts a new segment at its seq, writes
    /// it, and retires what it covers (`voxeld journal compact`). Returns the snapshot's seq.
    pub fn snapshot_now(&mut self, world: &VoxelWorld) -> anyhow::Result<u64> {
        self.finish_snapshot(true);
        let seq = world.seq();
        self.rotate(seq + 1);
        save_snapshot_with(
            &world.snapshot(),
            world.timers(),
            &self.retention.snapshot_path,
            self.dir.fault_hook().as_ref(),
        )?;
        self.snapshot_seq = seq;
        self.records_since_snapshot = 0;
        self.retire_covered(seq);
        Ok(seq)
    }

    /// Waits for the background snapshot, if one is being written, and retires what it
    /// covers (tests and tools that need a settled directory; the server never waits).
    pub fn wait_for_snapshot(&mut self) {
        self.finish_snapshot(true);
    }

    /// The first seqs of the journal's segments, ascending (the last is being written).
    pub fn segments(&self) -> &[u64] {
        &self.segments
    }

    /// `seq` of the newest durable snapshot (0: none).
    pub fn snapshot_seq(&self) -> u64 {
        self.snapshot_seq
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
        self.finish_snapshot(false);
        // A snapshot covers what has a seq: ticks without one would be taken twice by a replay.
        if self.writer.failure().is_none()
            && self.every_records > 0
            && self.records_since_snapshot >= self.every_records
            && world.unstamped_ticks() == 0
            && self.snapshot_thread.is_none()
        {
            self.records_since_snapshot = 0;
            let snapshot = world.snapshot();
            let timers = world.timers().clone();
            let path = self.retention.snapshot_path.clone();
            let hook = self.dir.fault_hook();
            // A new segment from the snapshot's seq on, so the snapshot covers the old ones whole.
            self.rotate(snapshot.seq + 1);
            // The snapshot is immutable: encode and write it off the world thread.
            self.snapshot_thread = Some(std::thread::spawn(move || {
                save_snapshot_with(&snapshot, &timers, &path, hook.as_ref())
                    .map(|()| snapshot.seq)
                    .map_err(|e| format!("{e:#}"))
            }));
        } else if self.writer.len() >= self.segment_bytes
            && world.unstamped_ticks() == 0
            && self.rotate_backoff == 0
        {
            self.rotate(world.seq() + 1);
        }
        outcome
    }

    /// Syncs the journal and writes the shutdown snapshot.
    pub fn shutdown(&mut self, world: &VoxelWorld) {
        self.finish_snapshot(true);
        if self.writer.failure().is_none()
            && let Err(e) = self.writer.sync()
        {
            tracing::error!(error = %e, "final journal sync failed");
        }
        if self.diverged {
            tracing::error!(
                "no shutdown snapshot: the world holds simulation ticks the failed journal lost"
            );
        } else if self.on_shutdown {
            // No rotation here: the segments stay until the next periodic snapshot (or
            // `voxeld journal compact`), so a restart can still be audited from them.
            match save_snapshot_with(
                &world.snapshot(),
                world.timers(),
                &self.retention.snapshot_path,
                self.dir.fault_hook().as_ref(),
            ) {
                Ok(()) => self.snapshot_seq = world.seq(),
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "writing shutdown snapshot failed")
                }
            }
        }
    }

    /// Replicating: the newest record start-up found in the journal (once).
    pub fn take_recovered_last(&mut self) -> Option<OwnedRecord> {
        self.recovered_last.take()
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

/// What `voxeld journal compact` did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CompactReport {
    /// The seq the new snapshot covers.
    pub snapshot_seq: u64,
    /// Segment files before and after.
    pub segments_before: usize,
    pub segments_after: usize,
    /// Bytes of segment files before and after.
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Whether covered segments were archived (`journal.retain` > 0) rather than deleted.
    pub archived: bool,
}

/// `voxeld journal compact`: recovers the data directory of `config` (which no server may be
/// using: the lock says), writes a snapshot of its world, and retires the segments it covers.
pub fn compact(config: &Config) -> anyhow::Result<CompactReport> {
    let bytes = |dir: &Path| -> u64 {
        crate::journal::segments::list_segments(dir)
            .unwrap_or_default()
            .iter()
            .filter_map(|(_, p)| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    };
    let journal_dir = config.journal_dir();
    let bytes_before =
        bytes(&journal_dir) + std::fs::metadata(config.journal_path()).map_or(0, |m| m.len());
    let segments_before = crate::journal::segments::list_segments(&journal_dir)
        .map_or(0, |s| s.len())
        + usize::from(config.journal_path().is_file());
    let mut world = VoxelWorld::new(crate::server::world_settings(config));
    let mut p = Persistence::open(config, &mut world)?;
    let snapshot_seq = p.snapshot_now(&world)?;
    Ok(CompactReport {
        snapshot_seq,
        segments_before,
        segments_after: p.segments().len(),
        bytes_before,
        bytes_after: bytes(&journal_dir),
        archived: config.journal.retain > 0,
    })
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
        let committed = self.writer.commit();
        self.log_failure();
        match committed {
            Ok(()) => {
                if let Some(error) = self.write_error.take() {
                    tracing::info!(%error, seq, "journal writes work again; edits are accepted");
                }
                self.records_since_snapshot += 1;
                self.rotate_backoff = self.rotate_backoff.saturating_sub(1);
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
            Err(e) => {
                let message = describe_commit_error(&e);
                if matches!(e, CommitError::Write(_)) {
                    if self.write_error.is_none() {
                        tracing::error!(error = %message, "journal write failed: the edit is refused and cut back out; each later edit tries again, reads keep working");
                    }
                    self.write_error = Some(message.clone());
                }
                Err(message)
            }
        }
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
        match (self.writer.failure(), &self.write_error) {
            (Some(error), _) => JournalState::Failed { fsync, error },
            (None, Some(error)) => JournalState::WriteError { fsync, error },
            (None, None) => JournalState::Ok { fsync },
        }
    }
}

/// What becomes of the segments a durable snapshot covers.
struct Retention {
    /// Snapshots (with their segments) kept in `archive_dir`; 0 deletes covered segments.
    retain: usize,
    archive_dir: PathBuf,
    /// The live snapshot (archived by a hard link).
    snapshot_path: PathBuf,
}

impl Retention {
    /// The snapshot at `seq` is durable: deletes the segments it covers, oldest first, or
    /// moves them into the archive (with the snapshot) and prunes the archive to `retain`
    /// snapshots. A failure stops there (the rest is retried after the next snapshot and at
    /// start-up); the journal itself is unaffected.
    fn retire_covered<S: JournalStorage>(
        &self,
        dir: &mut dyn JournalDir<Segment = S>,
        segments: &mut Vec<u64>,
        seq: u64,
    ) {
        if !dir.can_rotate() {
            return;
        }
        let archive = self.retain > 0;
        if archive && let Err(e) = archive_snapshot(&self.snapshot_path, &self.archive_dir, seq) {
            tracing::error!(error = %format!("{e:#}"), "archiving the snapshot failed; covered segments are kept");
            return;
        }
        let count = covered_count(segments, seq);
        for _ in 0..count {
            let name = segments[0];
            if let Err(e) = dir.retire(name, archive) {
                tracing::error!(error = %e, segment = %dir.describe(name), "retiring a covered journal segment failed; retried later");
                return;
            }
            segments.remove(0);
            tracing::debug!(segment = %dir.describe(name), archived = archive, "covered journal segment retired");
        }
        if archive && let Err(e) = prune_archive(&self.archive_dir, self.retain, segments[0]) {
            tracing::error!(error = %format!("{e:#}"), "pruning the journal archive failed");
        }
    }
}

/// What a failed commit says in replies and the log; a full disk is named as such.
fn describe_commit_error(e: &CommitError) -> String {
    let source = std::error::Error::source(e);
    let full = source
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .is_some_and(|io| {
            io.kind() == std::io::ErrorKind::StorageFull || io.raw_os_error() == Some(libc::ENOSPC)
        });
    let detail = source.map(|s| s.to_string()).unwrap_or_default();
    if full {
        format!("the journal's disk is full ({detail})")
    } else {
        format!("{e}: {detail}")
    }
}

/// Links (or copies) the snapshot at `path`, which covers `seq`, into `archive` as
/// `snapshot-<seq>.vxs`, durably; nothing to do if it is there already.
fn archive_snapshot(path: &Path, archive: &Path, seq: u64) -> anyhow::Result<()> {
    let to = archive.join(snapshot_file_name(seq));
    if to.exists() || !path.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(archive).with_context(|| format!("creating {}", archive.display()))?;
    if std::fs::hard_link(path, &to).is_err() {
        let mut tmp = to.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::copy(path, &tmp).with_context(|| format!("copying {}", path.display()))?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, &to)?;
    }
    std::fs::File::open(archive)?.sync_all()?;
    Ok(())
}

/// Keeps the `keep` newest snapshots in `archive`, and the archived segments after the oldest
/// of them (`first_live`: the first segment still in the journal directory).
fn prune_archive(archive: &Path, keep: usize, first_live: u64) -> anyhow::Result<()> {
    let snapshots = list_snapshots(archive)?;
    for (_, path) in snapshots.iter().skip(keep) {
        std::fs::remove_file(path)?;
    }
    let Some(&(oldest, _)) = snapshots.get(keep.min(snapshots.len()).wrapping_sub(1)) else {
        return Ok(());
    };
    let segments = list_segments(archive)?;
    let mut names: Vec<u64> = segments.iter().map(|s| s.0).collect();
    names.push(first_live);
    for (_, path) in segments.iter().take(covered_count(&names, oldest)) {
        std::fs::remove_file(path)?;
    }
    std::fs::File::open(archive)?.sync_all()?;
    Ok(())
}

/// Writes `snapshot`, with the simulation's running `timers`, atomically to `path`.
pub fn save_snapshot(
    snapshot: &Arc<WorldSnapshot>,
    timers: &Timers,
    path: &Path,
) -> anyhow::Result<()> {
    save_snapshot_with(snapshot, timers, path, None)
}

/// [`save_snapshot`], stopping at rotation points as `hook` says (crash tests).
pub fn save_snapshot_with(
    snapshot: &Arc<WorldSnapshot>,
    timers: &Timers,
    path: &Path,
    hook: Option<&FaultHook>,
) -> anyhow::Result<()> {
    let mut payload = Vec::new();
    encode_snapshot_payload(snapshot, timers, &mut payload);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    write_snapshot_file_with(path, snapshot.seq, &payload, hook)
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

/// Replays journal files (segments, ascending by their first seq; a single-file journal
/// counts as one) onto `world`, which holds the snapshot at `after`: the records with seq in
/// `(after, until]`, checking that no record is missing between files. The files `after`
/// covers are not read. A torn tail is ignored (with a note on standard error) in the last
/// file only. Returns how many records were applied.
pub fn replay_segment_files(
    world: &mut VoxelWorld,
    files: &[(u64, PathBuf)],
    after: u64,
    until: Option<u64>,
) -> anyhow::Result<u64> {
    let names: Vec<u64> = files.iter().map(|f| f.0).collect();
    let skip = covered_count(&names, after);
    let mut next_needed = after + 1;
    let mut applied = 0;
    for (i, (name, path)) in files.iter().enumerate().skip(skip) {
        if until.is_some_and(|u| *name > u && i > skip) {
            break;
        }
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let scan = journal::reader::scan_bytes(bytes)
            .with_context(|| format!("scanning {}", path.display()))?;
        if let Some(tail) = scan.torn_tail() {
            if i + 1 < files.len() {
                bail!(
                    "journal segment {} is corrupt at byte offset {}: a torn tail in a segment that is not the last",
                    path.display(),
                    tail.offset
                );
            }
            eprintln!(
                "note: ignoring a torn tail of {} bytes at offset {} of {}",
                tail.len,
                tail.offset,
                path.display()
            );
        }
        if let Some(range) = scan.seq_range() {
            let (first, end) = (*range.start(), *range.end());
            if first > next_needed || (i > skip && first != next_needed) {
                bail!(
                    "journal records {next_needed}..{} are missing: {} starts at seq {first}",
                    first.saturating_sub(1),
                    path.display()
                );
            }
            next_needed = next_needed.max(end + 1);
        }
        applied += replay_records(world, &scan, world.seq().max(after), until)
            .with_context(|| format!("replaying {}", path.display()))?;
    }
    Ok(applied)
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
