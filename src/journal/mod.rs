//! The journal: an append-only, checksummed log of every command buffer and simulation step the
//! world accepted, so a crash loses nothing acknowledged and a replay reaches the same world hash.
//!
//! ```
//! use voxeld::journal::{SyncMode, JournalWriter, MemStorage, Record, RecordKind, Source, scan};
//!
//! let (mut writer, _recovered) = JournalWriter::open(MemStorage::new(), SyncMode::PerCommit).unwrap();
//! for seq in 1..=3 {
//!     let record = Record { kind: RecordKind::Buffer, seq, source: Source::Rpc, payload: b"edit" };
//!     writer.append(&record).unwrap();
//! }
//! writer.commit().unwrap(); // one write, one fsync for the three records
//! let scan = scan(writer.storage()).unwrap();
//! assert_eq!(scan.record_count(), 3);
//! assert_eq!(scan.seq_range(), Some(1..=3));
//! ```
//!
//! # Start-up
//! 1. [`snapshot_file::list_snapshots`]: take the newest snapshot that
//!    [`snapshot_file::read_snapshot`] accepts (or an empty world at seq 0).
//! 2. [`JournalWriter::open`]: verify the journal, cut a torn tail, refuse mid-file corruption.
//! 3. Replay [`Scan::records_after`] the snapshot's seq, then append from
//!    [`JournalWriter::next_seq`].
//!
//! A crash can leave, besides every acknowledged record, a prefix of the commit that was being
//! written when it happened (records whose replies were never sent); each record is one whole
//! command buffer, so no buffer is ever half applied.
//!
//! # Code map
//! - [`storage`]: the file operations behind a trait; file, memory and fault-injecting backends.
//! - [`format`](mod@format): header and record encoding (see `docs/journal-format.md`).
//! - [`writer`]: buffered appends, group commit, fsync policies, rollback of failed writes.
//! - [`reader`]: scanning and verification; torn tail versus mid-file corruption.
//! - [`check`](mod@check): `voxeld journal check` / `repair`.
//! - [`snapshot_file`]: the checksummed whole-world snapshot container.
//! - [`segments`]: the journal as a directory of segment files; rotation points.
//!
//! **Architecture invariant:** records carry opaque payload bytes; nothing here knows the world.

pub mod check;
pub mod format;
pub mod reader;
pub mod segments;
pub mod snapshot_file;
pub mod storage;
pub mod writer;

pub use check::{CheckError, CheckReport, RepairError, RepairMode, RepairReport, check, repair};
pub use format::{Header, HeaderError, Record, RecordKind, Source};
pub use reader::{Corruption, Records, Scan, ScanError, TornTail, scan};
pub use segments::{FileDir, JournalDir, OneSegment, RotationPoint};
pub use snapshot_file::{SnapshotError, read_snapshot, write_snapshot};
pub use storage::{FaultyStorage, FileStorage, JournalStorage, MemStorage};
pub use writer::{AppendError, CommitError, JournalWriter, OpenError, SyncMode};
