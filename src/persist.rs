//! Persistence around the world: recovery at start-up (newest snapshot + journal tail), the
//! journal [`Recorder`] the methods write through, snapshot policy, and journal replay.
//!
//! Guarantees (see also `docs/journal-format.md`): every applied buffer is handed to the OS by
//! a `write` before its reply is queued, so a killed process loses nothing acknowledged under
//! any fsync policy. `Always` adds one fsync per world-loop iteration, shared by every request
//! of that iteration (group commit) and done before their replies are written; `EverySec`
//! syncs at most a second late; `Never` leaves it to the OS.

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
    self, FileStorage, JournalWriter, Record, RecordKind, Scan, read_snapshot,
    snapshot_file::write_snapshot_file,
};
use crate::methods::Recorder;

/// Buffers submitted per world update while replaying (one snapshot publication per group).
const REPLAY_GROUP: usize = 4096;

/// The journal and snapshots of a running server.
pub struct Persistence {
    /// Held for the server's lifetime: one server per data directory.
    _lock: std::fs::File,
    writer: JournalWriter<FileStorage>,
    /// `Always`: sync once per loop iteration (the writer itself never syncs).
    sync_each_iteration: bool,
    snapshot_path: PathBuf,
    every_records: u64,
    on_shutdown: bool,
    records_since_snapshot: u64,
    snapshot_thread: Option<JoinHandle<()>>,
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

impl Persistence {
    /// Opens the journal of `config`, recovering `world` from the newest snapshot and the
    /// journal records after it. A torn tail is cut (and logged); corruption in the middle of
    /// the journal stops start-up with an error naming its byte offset.
    pub fn open(config: &Config, world: &mut VoxelWorld) -> anyhow::Result<Persistence> {
        let journal_path = config.journal_path();
        let snapshot_path = config.snapshot_path();
        let policy = match config.journal.fsync {
            FsyncPolicy::Always | FsyncPolicy::Never => journal::FsyncPolicy::Never,
            FsyncPolicy::EverySec => journal::FsyncPolicy::EverySec,
        };
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
        let (mut writer, mut scan) = JournalWriter::open_path(&journal_path, policy)
            .with_context(|| format!("opening journal {}", journal_path.display()))?;
        let from = load_snapshot(world, &snapshot_path)?;
        if let Some(range) = scan.seq_range()
            && *range.end() < from
        {
            // The journal ends before the snapshot (it was cut by a repair): the snapshot holds
            // everything, but new records could not follow the old ones. Keep the old journal
            // aside for inspection and start a new one after the snapshot.
            let aside = journal_path.with_extension(format!("vxj.behind-snapshot-{from}"));
            drop(writer);
            std::fs::rename(&journal_path, &aside)
                .with_context(|| format!("moving {} aside", journal_path.display()))?;
            tracing::warn!(
                journal_end = *range.end(), snapshot_seq = from, moved_to = %aside.display(),
                "journal ends before the snapshot; starting a new journal after the snapshot"
            );
            (writer, scan) = JournalWriter::open_path(&journal_path, policy)
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
            sync_each_iteration: config.journal.fsync == FsyncPolicy::Always,
            snapshot_path,
            every_records: config.journal.snapshot.every_records,
            on_shutdown: config.journal.snapshot.on_shutdown,
            records_since_snapshot: replayed,
            snapshot_thread: None,
        })
    }

    /// Called once per world-loop iteration, before replies are written: the group fsync of
    /// `Always`, the late sync of `EverySec`, and the snapshot policy.
    pub fn end_of_iteration(&mut self, world: &VoxelWorld) {
        let synced = if self.sync_each_iteration && self.writer.is_dirty() {
            self.writer.sync().map(|_| ())
        } else {
            self.writer.tick().map(|_| ())
        };
        if let Err(e) = synced {
            tracing::error!(error = %e, "journal sync failed; acknowledged edits are written but may not be durable");
        }
        // A snapshot covers what has a seq: ticks without one would be taken twice by a replay.
        if self.every_records > 0
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
    }

    /// Syncs the journal and writes the shutdown snapshot.
    pub fn shutdown(&mut self, world: &VoxelWorld) {
        if let Some(t) = self.snapshot_thread.take() {
            let _ = t.join();
        }
        if let Err(e) = self.writer.sync() {
            tracing::error!(error = %e, "final journal sync failed");
        }
        if self.on_shutdown
            && let Err(e) = save_snapshot(&world.snapshot(), world.timers(), &self.snapshot_path)
        {
            tracing::error!(error = %e, "writing shutdown snapshot failed");
        }
    }
}

impl Recorder for Persistence {
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
        self.writer.commit().map_err(|e| {
            format!(
                "{e}: {}",
                std::error::Error::source(&e)
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            )
        })?;
        self.records_since_snapshot += 1;
        Ok(())
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
    let result = replay_unchecked(world, scan, after, until, progress);
    world.world.resource_mut::<WorldLimits>().0 = limits;
    result
}

fn replay_unchecked(
    world: &mut VoxelWorld,
    scan: &Scan,
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
    for (offset, record) in scan.records() {
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
