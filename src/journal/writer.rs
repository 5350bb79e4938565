//! Appending to the journal: records are buffered in memory and written by [`JournalWriter::commit`]
//! in one `append` followed by at most one fsync, so every request handled in one iteration of the
//! world loop shares a single write and a single sync (group commit).
//!
//! # Guarantees
//! [`JournalWriter::commit`] returns only after the bytes were handed to the operating system, and
//! the world loop sends replies only after it returns. So under every policy a crash of the
//! **process** (panic, `kill -9`) loses nothing that was acknowledged. The policy decides what an
//! **operating-system crash or power loss** can lose:
//! - [`FsyncPolicy::Always`]: nothing acknowledged; each commit syncs before it returns.
//! - [`FsyncPolicy::EverySec`]: at most about the last second; a commit syncs when the last sync
//!   is at least a second old, and [`JournalWriter::tick`] syncs a journal left dirty by earlier
//!   commits once a second has passed, so an idle journal is synced too.
//! - [`FsyncPolicy::Never`]: whatever the OS had not written back yet (it decides when).
//!
//! # Failures
//! When a commit's write or sync fails, the writer truncates the storage back to its length before
//! the commit, drops the records of that commit, returns the error and stays usable: the caller
//! answers those requests with an error and neither applies nor acknowledges them, and the next
//! commit starts from a consistent file. (After a failed fsync the page cache cannot be trusted
//! to hold the data, so the commit is treated as not written.) If the truncate fails too, it is
//! retried before the next write, which fails until the truncate succeeds.
//! A sync failure in [`JournalWriter::tick`] concerns records already acknowledged under
//! `EverySec`; they stay in the file, the journal stays dirty and the next tick tries again.

use std::io;
use std::time::{Duration, Instant};

use super::format::{Header, MAX_PAYLOAD_LEN, Record, encode_record};
use super::reader::{Scan, ScanError, scan};
use super::storage::{FileStorage, JournalStorage};

/// When the journal calls fsync; see the module docs for what each policy guarantees.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FsyncPolicy {
    /// Sync on every commit (one sync per world-loop iteration, shared by all its requests).
    #[default]
    Always,
    /// Sync when the last sync is at least a second old, on commit or on tick.
    EverySec,
    /// Never sync; the OS writes back when it likes.
    Never,
}

/// How long `EverySec` lets written data stay unsynced.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// What the header of a new journal names as its creator.
pub const CREATED_BY: &str = concat!("voxeld ", env!("CARGO_PKG_VERSION"));

/// Appends records to a journal with group commit and a fsync policy.
#[derive(Debug)]
pub struct JournalWriter<S: JournalStorage> {
    /// Where the bytes go.
    storage: S,
    /// When to sync.
    policy: FsyncPolicy,
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
    /// Whether committed bytes have not been synced yet.
    dirty: bool,
    /// When the last successful sync happened (for `EverySec`).
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
    /// Syncing failed.
    #[error("syncing the journal failed")]
    Sync(#[source] io::Error),
}

impl JournalWriter<FileStorage> {
    /// Opens (or creates) the journal file at `path` for appending; see [`JournalWriter::open`].
    pub fn open_path(
        path: impl AsRef<std::path::Path>,
        policy: FsyncPolicy,
    ) -> Result<(Self, Scan), OpenError> {
        Self::open(FileStorage::open(path)?, policy)
    }
}

impl<S: JournalStorage> JournalWriter<S> {
    /// Recovers the journal in `storage` and prepares it for appending: verifies every record,
    /// cuts a torn tail, writes a header into an empty journal. Returns the scan so the caller
    /// can replay the records. Fails, changing nothing, on corruption in the middle.
    pub fn open(mut storage: S, policy: FsyncPolicy) -> Result<(Self, Scan), OpenError> {
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
            policy,
            pending: Vec::new(),
            pending_count: 0,
            len,
            next_seq,
            committed_next_seq: next_seq,
            truncate_pending: false,
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

    /// Writes every buffered record in one append and syncs as the policy says; see the
    /// module docs for what happens on failure.
    pub fn commit(&mut self) -> Result<(), CommitError> {
        self.commit_at(Instant::now())
    }

    /// [`JournalWriter::commit`] with the current time given (tests pass a fake clock).
    pub fn commit_at(&mut self, now: Instant) -> Result<(), CommitError> {
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
        let sync = match self.policy {
            FsyncPolicy::Always => true,
            FsyncPolicy::EverySec => self.sync_due(now),
            FsyncPolicy::Never => false,
        };
        if sync {
            if let Err(e) = self.storage.sync() {
                self.rollback();
                return Err(CommitError::Sync(e));
            }
            self.dirty = false;
            self.last_sync = Some(now);
        }
        self.len += self.pending.len() as u64;
        self.committed_next_seq = self.next_seq;
        self.pending.clear();
        self.pending_count = 0;
        Ok(())
    }

    /// Lets an `EverySec` journal sync data committed over a second ago; the world loop calls it
    /// every iteration, idle or not. Returns whether it synced. Does not commit pending records.
    pub fn tick(&mut self) -> Result<bool, CommitError> {
        self.tick_at(Instant::now())
    }

    /// [`JournalWriter::tick`] with the current time given.
    pub fn tick_at(&mut self, now: Instant) -> Result<bool, CommitError> {
        if self.policy != FsyncPolicy::EverySec || !self.dirty || !self.sync_due(now) {
            return Ok(false);
        }
        self.storage.sync().map_err(CommitError::Sync)?;
        self.dirty = false;
        self.last_sync = Some(now);
        Ok(true)
    }

    /// Syncs committed data now, whatever the policy (for shutdown). Pending records stay pending.
    pub fn sync(&mut self) -> Result<(), CommitError> {
        self.sync_at(Instant::now())
    }

    /// [`JournalWriter::sync`] with the current time given.
    pub fn sync_at(&mut self, now: Instant) -> Result<(), CommitError> {
        if self.dirty {
            self.storage.sync().map_err(CommitError::Sync)?;
            self.dirty = false;
            self.last_sync = Some(now);
        }
        Ok(())
    }

    /// The fsync policy.
    pub fn policy(&self) -> FsyncPolicy {
        self.policy
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
