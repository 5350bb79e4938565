//! Appending to the journal: records are buffered in memory and written by [`JournalWriter::commit`]
//! in one `append` followed by at most one fsync, so every request handled in one iteration of the
//! world loop shares a single write and a single sync (group commit).
//!
//! # Guarantees
//! [`JournalWriter::commit`] returns only after the bytes were handed to the operating system, and
//! the world loop sends replies only after it returns. So under every mode a crash of the
//! **process** (panic, `kill -9`) loses nothing that was acknowledged. The [`SyncMode`] decides
//! what an **operating-system crash or power loss** can lose:
//! - [`SyncMode::PerCommit`]: nothing acknowledged; each commit syncs before it returns.
//! - [`SyncMode::Group`] (config `Always`): nothing acknowledged, provided the owner acknowledges
//!   a group of commits only after [`JournalWriter::sync`] returned `Ok` for it. Commits only
//!   write; the world loop syncs once per iteration for every request of that iteration.
//! - [`SyncMode::Periodic`] (config `EverySec`): at most about the last second; a commit syncs
//!   when the last sync is at least a second old, and [`JournalWriter::tick`] syncs a journal
//!   left dirty by earlier commits once a second has passed, so an idle journal is synced too.
//! - [`SyncMode::OsDecides`] (config `Never`): whatever the OS had not written back yet.
//!
//! # Failures
//! When a commit's **write** fails, the writer truncates the storage back to its length before
//! the commit, drops the records of that commit, returns the error and stays usable: the caller
//! answers those requests with an error and neither applies nor acknowledges them, and the next
//! commit starts from a consistent file. If the truncate fails too, it is retried before the next
//! write, which fails until the truncate succeeds.
//!
//! A failed **fsync** is different: after it the page cache cannot be trusted to hold, or ever to
//! write, the data (Linux marks the pages clean and reports the error once, so a retried fsync
//! "succeeds" without the data; PostgreSQL learned this in 2018 and now stops). So the writer
//! never retries one. It cuts back the records no one was told about yet (the failed commit
//! under `PerCommit` and `Periodic`, everything written since the last good sync under `Group`),
//! keeps the ones already acknowledged (`Periodic`: they were acknowledged before their sync),
//! and **fails**: every later commit, tick and sync returns [`CommitError::Failed`] until the
//! journal is opened again ([`JournalWriter::open`] on fresh storage, i.e. a restart, which
//! rescans the file).

use std::io;
use std::time::{Duration, Instant};

use super::format::{Header, MAX_PAYLOAD_LEN, Record, encode_record};
use super::reader::{Scan, ScanError, scan};
use super::storage::{FileStorage, JournalStorage};

/// When the writer calls fsync; see the module docs for what each mode guarantees.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SyncMode {
    /// Every commit syncs before it returns.
    #[default]
    PerCommit,
    /// Commits only write; the owner calls [`JournalWriter::sync`] once for the group of
    /// commits it is about to acknowledge (config `Always`: once per world-loop iteration). A
    /// failed group sync cuts the whole group back out.
    Group,
    /// Sync when the last sync is at least a second old, on commit or on tick (config `EverySec`).
    Periodic,
    /// Never sync on its own; the OS writes back when it likes (config `Never`).
    OsDecides,
}

/// How long `Periodic` lets written data stay unsynced.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// What the header of a new journal names as its creator.
pub const CREATED_BY: &str = concat!("voxeld ", env!("CARGO_PKG_VERSION"));

/// Appends records to a journal with group commit and a [`SyncMode`].
#[derive(Debug)]
pub struct JournalWriter<S: JournalStorage> {
    /// Where the bytes go.
    storage: S,
    /// When to sync.
    mode: SyncMode,
    /// Encoded records appended since the last commit.
    pending: Vec<u8>,
    /// How many records `pending` holds.
    pending_count: usize,
    /// Length of the storage after the last successful commit: what a failed commit rolls back to.
    len: u64,
    /// The `seq` the next appended record must have (`None`: any, the journal has no record yet).
    next_seq: Option<u64>,
    /// `next_seq` as of the last successful commit, restored when a commit fails.
    committed_next_seq: Option<u64>,
    /// Set when a rollback's truncate failed; the next write first truncates to this length.
    truncate_pending: bool,
    /// Length of the storage after the last successful sync: what a failed group sync cuts to.
    synced_len: u64,
    /// `next_seq` as of the last successful sync.
    synced_next_seq: Option<u64>,
    /// Why the journal failed (a sync did); set once, never cleared. Every write is refused.
    failure: Option<String>,
    /// Whether committed bytes have not been synced yet.
    dirty: bool,
    /// When the last successful sync happened (for `Periodic`).
    last_sync: Option<Instant>,
}

/// Why a journal could not be opened for appending.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Scanning found the journal unusable (corrupt in the middle, bad header, unreadable).
    #[error("journal recovery failed")]
    Scan(#[from] ScanError),
    /// Cutting the torn tail or writing the header failed.
    #[error("preparing the journal for appending failed")]
    Io(#[from] io::Error),
}

/// Why a record was not accepted by [`JournalWriter::append`]; the writer is unchanged.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    /// The payload is longer than the format allows.
    #[error("record payload of {len} bytes exceeds the limit of {limit}")]
    TooLarge { len: usize, limit: usize },
    /// The record's `seq` is not the previous record's plus one.
    #[error("record seq {found} out of order (expected {expected})")]
    Seq { expected: u64, found: u64 },
}

/// Why a commit or tick failed; the records of a failed commit are dropped, the writer is usable.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// Writing the records failed (or an earlier rollback still could not truncate).
    #[error("writing to the journal failed")]
    Write(#[source] io::Error),
    /// Syncing failed; the journal has failed and refuses writes from now on.
    #[error("syncing the journal failed")]
    Sync(#[source] io::Error),
    /// An earlier sync failed; nothing is written until the journal is opened again.
    #[error("the journal failed earlier ({0}) and refuses writes until it is reopened")]
    Failed(String),
}

impl JournalWriter<FileStorage> {
    /// Opens (or creates) the journal file at `path` for appending; see [`JournalWriter::open`].
    pub fn open_path(
        path: impl AsRef<std::path::Path>,
        mode: SyncMode,
    ) -> Result<(Self, Scan), OpenError> {
        Self::open(FileStorage::open(path)?, mode)
    }
}

impl<S: JournalStorage> JournalWriter<S> {
    /// Recovers the journal in `storage` and prepares it for appending: verifies every record,
    /// cuts a torn tail, writes a header into an empty journal. Returns the scan so the caller
    /// can replay the records. Fails, changing nothing, on corruption in the middle.
    pub fn open(mut storage: S, mode: SyncMode) -> Result<(Self, Scan), OpenError> {
        let scan = scan(&storage)?;
        if let Some(tail) = scan.torn_tail() {
            tracing::warn!(
                offset = tail.offset,
                len = tail.len,
                "truncating torn journal tail"
            );
            storage.truncate(tail.offset)?;
            storage.sync()?;
        }
        let mut len = scan.valid_len();
        if scan.header().is_none() {
            let mut header = Vec::new();
            Header::new(CREATED_BY).encode(&mut header);
            storage.append(&header)?;
            storage.sync()?;
            len = header.len() as u64;
        }
        let next_seq = scan.seq_range().map(|r| r.end().wrapping_add(1));
        let writer = Self {
            storage,
            mode,
            pending: Vec::new(),
            pending_count: 0,
            len,
            next_seq,
            committed_next_seq: next_seq,
            truncate_pending: false,
            synced_len: len,
            synced_next_seq: next_seq,
            failure: None,
            dirty: false,
            last_sync: None,
        };
        Ok((writer, scan))
    }

    /// Buffers `record` for the next commit. Its `seq` must follow the previous record's.
    pub fn append(&mut self, record: &Record<'_>) -> Result<(), AppendError> {
        if record.payload.len() > MAX_PAYLOAD_LEN {
            return Err(AppendError::TooLarge {
                len: record.payload.len(),
                limit: MAX_PAYLOAD_LEN,
            });
        }
        if let Some(expected) = self.next_seq
            && record.seq != expected
        {
            return Err(AppendError::Seq {
                expected,
                found: record.seq,
            });
        }
        encode_record(record, &mut self.pending);
        self.pending_count += 1;
        self.next_seq = Some(record.seq.wrapping_add(1));
        Ok(())
    }

    /// Writes every buffered record in one append and syncs as the mode says; see the module
    /// docs for what happens on failure.
    pub fn commit(&mut self) -> Result<(), CommitError> {
        self.commit_at(Instant::now())
    }

    /// [`JournalWriter::commit`] with the current time given (tests pass a fake clock).
    pub fn commit_at(&mut self, now: Instant) -> Result<(), CommitError> {
        if let Some(failure) = &self.failure {
            let e = CommitError::Failed(failure.clone());
            self.drop_pending();
            return Err(e);
        }
        if self.pending.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.finish_rollback() {
            self.drop_pending();
            return Err(CommitError::Write(e));
        }
        if let Err(e) = self.storage.append(&self.pending) {
            self.rollback();
            return Err(CommitError::Write(e));
        }
        self.dirty = true;
        let sync = match self.mode {
            SyncMode::PerCommit => true,
            SyncMode::Periodic => self.sync_due(now),
            SyncMode::Group | SyncMode::OsDecides => false,
        };
        if sync && let Err(e) = self.storage.sync() {
            // The records of this commit were never acknowledged: cut them. Those of earlier
            // commits (`Periodic`) were, and stay.
            self.rollback();
            self.fail("fsync", &e);
            return Err(CommitError::Sync(e));
        }
        self.len += self.pending.len() as u64;
        self.committed_next_seq = self.next_seq;
        self.pending.clear();
        self.pending_count = 0;
        if sync {
            self.synced(now);
        }
        Ok(())
    }

    /// Lets a `Periodic` journal sync data committed over a second ago; the world loop calls it
    /// every iteration, idle or not. Returns whether it synced. Does not commit pending records.
    /// A failed sync fails the journal; the records stay (they were acknowledged).
    pub fn tick(&mut self) -> Result<bool, CommitError> {
        self.tick_at(Instant::now())
    }

    /// [`JournalWriter::tick`] with the current time given.
    pub fn tick_at(&mut self, now: Instant) -> Result<bool, CommitError> {
        if self.mode != SyncMode::Periodic || !self.dirty || !self.sync_due(now) {
            return Ok(false);
        }
        self.sync_at(now)?;
        Ok(true)
    }

    /// Syncs committed data now, whatever the mode: the group sync of `Group`, and the final
    /// sync at shutdown. Pending (uncommitted) records stay pending. On failure the journal
    /// fails; under `Group` the records committed since the last successful sync are cut back
    /// out, pending ones dropped (their requests were not acknowledged and must not come back at
    /// the next start); under the other modes they stay (they were acknowledged when written).
    pub fn sync(&mut self) -> Result<(), CommitError> {
        self.sync_at(Instant::now())
    }

    /// [`JournalWriter::sync`] with the current time given.
    pub fn sync_at(&mut self, now: Instant) -> Result<(), CommitError> {
        if let Some(failure) = &self.failure {
            return Err(CommitError::Failed(failure.clone()));
        }
        if !self.dirty {
            return Ok(());
        }
        if let Err(e) = self.storage.sync() {
            if self.mode == SyncMode::Group {
                self.len = self.synced_len;
                self.committed_next_seq = self.synced_next_seq;
                self.drop_pending();
                self.truncate_pending = true;
                if let Err(t) = self.finish_rollback() {
                    tracing::error!(
                        error = %t, len = self.len,
                        "cutting the unsynced group out of the journal failed; its records may come back at the next start"
                    );
                }
            }
            self.fail("fsync", &e);
            return Err(CommitError::Sync(e));
        }
        self.synced(now);
        Ok(())
    }

    /// Fails the journal from outside (the owner found the journal directory in a state it
    /// cannot append to safely): every later write is refused until it is reopened.
    pub fn fail_with(&mut self, reason: &str) {
        if self.failure.is_none() {
            self.failure = Some(reason.to_string());
            self.dirty = false;
        }
    }

    /// Why the journal failed, if it did: it then refuses every write until it is reopened.
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// Length of the journal after the last successful sync, in bytes.
    pub fn synced_len(&self) -> u64 {
        self.synced_len
    }

    /// When the writer syncs.
    pub fn mode(&self) -> SyncMode {
        self.mode
    }

    /// Number of records appended but not committed yet.
    pub fn pending_count(&self) -> usize {
        self.pending_count
    }

    /// Length of the journal after the last successful commit, in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the journal holds no record (committed or pending).
    pub fn is_empty(&self) -> bool {
        self.next_seq.is_none()
    }

    /// The `seq` the next record must carry, or `None` if the journal has none yet (any `seq`).
    pub fn next_seq(&self) -> Option<u64> {
        self.next_seq
    }

    /// Whether committed data awaits a sync.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// The storage (for scanning, tests and fault injection).
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// The storage, mutably (tests plan faults through it).
    pub fn storage_mut(&mut self) -> &mut S {
        &mut self.storage
    }

    /// Gives back the storage; pending records are dropped.
    pub fn into_storage(self) -> S {
        self.storage
    }

    fn sync_due(&self, now: Instant) -> bool {
        self.last_sync
            .is_none_or(|last| now.saturating_duration_since(last) >= SYNC_INTERVAL)
    }

    fn synced(&mut self, now: Instant) {
        self.dirty = false;
        self.last_sync = Some(now);
        self.synced_len = self.len;
        self.synced_next_seq = self.committed_next_seq;
    }

    /// Fails the journal (once: the first failure is the one reported).
    fn fail(&mut self, what: &str, e: &io::Error) {
        if self.failure.is_none() {
            self.failure = Some(format!("{what} failed: {e}"));
            self.dirty = false;
        }
    }

    fn drop_pending(&mut self) {
        self.pending.clear();
        self.pending_count = 0;
        self.next_seq = self.committed_next_seq;
    }

    /// Drops the failed commit's records and cuts whatever part of them reached the storage.
    fn rollback(&mut self) {
        self.drop_pending();
        self.truncate_pending = true;
        if let Err(e) = self.finish_rollback() {
            tracing::error!(error = %e, len = self.len, "journal rollback truncate failed; will retry");
        }
    }

    fn finish_rollback(&mut self) -> io::Result<()> {
        if self.truncate_pending {
            self.storage.truncate(self.len)?;
            self.truncate_pending = false;
        }
        Ok(())
    }
}
