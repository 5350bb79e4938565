//! The journal as a directory of segment files, so that disk use and start-up time stay bounded:
//! once a snapshot is durable, the segments it covers are deleted (or archived), and start-up
//! reads only the newest snapshot and the segments after it.
//!
//! A segment is an ordinary journal file (header + records, `docs/journal-format.md`) named
//! `segment-<first seq, 20 digits>.vxj`: the `seq` of its first record, so name order is seq
//! order and segment `i` covers `name(i) ..= name(i + 1) - 1` without being read. A segment is
//! **covered** by a snapshot at `seq` when the segment after it starts at or before `seq + 1`.
//!
//! ```
//! use voxeld::journal::segments::{covered_count, parse_segment_name, segment_file_name};
//! assert_eq!(segment_file_name(42), "segment-00000000000000000042.vxj");
//! assert_eq!(parse_segment_name("segment-00000000000000000042.vxj"), Some(42));
//! // Segments starting at 1, 101 and 201; a snapshot at seq 150 covers only the first.
//! assert_eq!(covered_count(&[1, 101, 201], 150), 1);
//! assert_eq!(covered_count(&[1, 101, 201], 200), 2);
//! ```
//!
//! The segment operations sit behind [`JournalDir`], so the persistence code runs unchanged on
//! a real directory ([`FileDir`], which can stop at any [`RotationPoint`] as a crash would) or
//! on one storage that never rotates ([`OneSegment`], for the fault-injecting storages).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::format::Header;
use super::storage::{FileStorage, JournalStorage, sync_parent_dir};
use super::writer::CREATED_BY;

/// Extension of segment files.
pub const SEGMENT_EXTENSION: &str = "vxj";

/// The file name of the segment whose first record has `first_seq`.
pub fn segment_file_name(first_seq: u64) -> String {
    format!("segment-{first_seq:020}.{SEGMENT_EXTENSION}")
}

/// The first seq a segment file name stands for, if `name` is one.
pub fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("segment-")?.strip_suffix(".vxj")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// How many of the segments named `names` (ascending) a snapshot at `seq` covers: a prefix,
/// never the last segment (new records go there).
pub fn covered_count(names: &[u64], seq: u64) -> usize {
    names
        .windows(2)
        .take_while(|w| w[1] <= seq.saturating_add(1))
        .count()
}

/// The places where rotation (new segment, snapshot, retirement of covered segments) can be
/// interrupted. Each is a crash point the tests stop at ([`FileDir::with_fault_hook`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RotationPoint {
    /// A new segment's header is written and synced under its temporary name.
    SegmentWritten(u64),
    /// The new segment was renamed to its final name (directory not yet synced).
    SegmentRenamed(u64),
    /// The snapshot at this seq is written and synced under its temporary name.
    SnapshotWritten(u64),
    /// The snapshot was renamed over the old one (directory not yet synced).
    SnapshotRenamed(u64),
    /// The snapshot is durable; its covered segments are about to be retired.
    SnapshotDurable(u64),
    /// The covered segment with this first seq is about to be deleted or archived.
    BeforeRetire(u64),
    /// The covered segment with this first seq was deleted or archived.
    AfterRetire(u64),
}

/// Called at every [`RotationPoint`]; an error stops the operation right there, leaving the
/// files as a crash at that point would (no clean-up runs).
pub type FaultHook = Arc<dyn Fn(RotationPoint) -> io::Result<()> + Send + Sync>;

/// A directory of journal segments.
pub trait JournalDir: Send {
    /// The storage of one segment.
    type Segment: JournalStorage;

    /// The first seqs of the segments present, ascending.
    fn list(&self) -> io::Result<Vec<u64>>;

    /// Opens the existing segment `first_seq` for reading and appending.
    fn open(&mut self, first_seq: u64) -> io::Result<Self::Segment>;

    /// Creates segment `first_seq` atomically, with its header written and synced: after a
    /// crash it either exists complete or not at all.
    fn create(&mut self, first_seq: u64) -> io::Result<Self::Segment>;

    /// Removes the covered segment `first_seq`: deletes it, or moves it into the archive.
    fn retire(&mut self, first_seq: u64, archive: bool) -> io::Result<()>;

    /// Renames segment `first_seq` out of the sequence (kept for inspection); returns where.
    fn set_aside(&mut self, first_seq: u64, suffix: &str) -> io::Result<String>;

    /// A name for segment `first_seq` in messages (its path).
    fn describe(&self, first_seq: u64) -> String;

    /// Whether new segments can be created (a single storage cannot rotate).
    fn can_rotate(&self) -> bool {
        true
    }

    /// The hook called at each rotation point (tests stop there); none in production.
    fn fault_hook(&self) -> Option<FaultHook> {
        None
    }
}

/// Calls `hook` at `point`, if there is a hook.
pub fn at_point(hook: Option<&FaultHook>, point: RotationPoint) -> io::Result<()> {
    match hook {
        Some(hook) => hook(point),
        None => Ok(()),
    }
}

/// Segments as files in a directory, with an optional archive directory for retired ones.
#[derive(Clone)]
pub struct FileDir {
    /// Where the segments live.
    dir: PathBuf,
    /// Where retired segments go when they are archived.
    archive: PathBuf,
    /// Crash points for tests.
    hook: Option<FaultHook>,
}

impl std::fmt::Debug for FileDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileDir")
            .field("dir", &self.dir)
            .field("archive", &self.archive)
            .finish_non_exhaustive()
    }
}

impl FileDir {
    /// The segments in `dir` (created if missing), archiving into `archive`. Leftover
    /// temporary files of an interrupted segment creation are removed.
    pub fn open(dir: impl Into<PathBuf>, archive: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        if !dir.exists() {
            fs::create_dir_all(&dir)?;
            sync_parent_dir(&dir)?;
        }
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            let is_tmp = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".tmp"))
                .and_then(parse_segment_name)
                .is_some();
            if is_tmp {
                fs::remove_file(&path)?;
            }
        }
        Ok(Self {
            dir,
            archive: archive.into(),
            hook: None,
        })
    }

    /// The same directory, stopping at rotation points as `hook` says (crash tests).
    pub fn with_fault_hook(mut self, hook: FaultHook) -> Self {
        self.hook = Some(hook);
        self
    }

    /// The segment directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The archive directory.
    pub fn archive_path(&self) -> &Path {
        &self.archive
    }

    /// The path of segment `first_seq`.
    pub fn segment_path(&self, first_seq: u64) -> PathBuf {
        self.dir.join(segment_file_name(first_seq))
    }
}

/// The segments in `dir` by first seq, ascending, with their paths (a missing directory has none).
pub fn list_segments(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    super::snapshot_file::files_by_seq(dir, parse_segment_name)
}

impl JournalDir for FileDir {
    type Segment = FileStorage;

    fn list(&self) -> io::Result<Vec<u64>> {
        Ok(list_segments(&self.dir)?.into_iter().map(|s| s.0).collect())
    }

    fn open(&mut self, first_seq: u64) -> io::Result<FileStorage> {
        let path = self.segment_path(first_seq);
        fs::metadata(&path)?;
        FileStorage::open(path)
    }

    fn create(&mut self, first_seq: u64) -> io::Result<FileStorage> {
        let path = self.segment_path(first_seq);
        let tmp = path.with_extension("vxj.tmp");
        let written = (|| {
            let mut file = File::create(&tmp)?;
            let mut header = Vec::new();
            Header::new(CREATED_BY).encode(&mut header);
            file.write_all(&header)?;
            file.sync_all()
        })();
        if let Err(e) = written {
            // A full disk, typically: leave nothing behind.
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        at_point(self.hook.as_ref(), RotationPoint::SegmentWritten(first_seq))?;
        fs::rename(&tmp, &path)?;
        at_point(self.hook.as_ref(), RotationPoint::SegmentRenamed(first_seq))?;
        sync_parent_dir(&path)?;
        FileStorage::open(path)
    }

    fn retire(&mut self, first_seq: u64, archive: bool) -> io::Result<()> {
        let path = self.segment_path(first_seq);
        at_point(self.hook.as_ref(), RotationPoint::BeforeRetire(first_seq))?;
        if archive {
            fs::create_dir_all(&self.archive)?;
            move_file(&path, &self.archive.join(segment_file_name(first_seq)))?;
        } else {
            fs::remove_file(&path)?;
            sync_parent_dir(&path)?;
        }
        at_point(self.hook.as_ref(), RotationPoint::AfterRetire(first_seq))
    }

    fn set_aside(&mut self, first_seq: u64, suffix: &str) -> io::Result<String> {
        let path = self.segment_path(first_seq);
        let mut aside = path.as_os_str().to_owned();
        aside.push(suffix);
        let aside = PathBuf::from(aside);
        fs::rename(&path, &aside)?;
        sync_parent_dir(&path)?;
        Ok(aside.display().to_string())
    }

    fn describe(&self, first_seq: u64) -> String {
        self.segment_path(first_seq).display().to_string()
    }

    fn fault_hook(&self) -> Option<FaultHook> {
        self.hook.clone()
    }
}

/// Moves `from` to `to` durably: a rename, or (across file systems) a synced copy and a delete.
pub fn move_file(from: &Path, to: &Path) -> io::Result<()> {
    if fs::rename(from, to).is_err() {
        fs::copy(from, to)?;
        File::open(to)?.sync_all()?;
        sync_parent_dir(to)?;
        fs::remove_file(from)?;
    }
    sync_parent_dir(to)?;
    sync_parent_dir(from)
}

/// One storage as the only segment of a journal that never rotates: what
/// [`crate::persist::Persistence::open_with_storage`] runs on, so a fault-injecting storage
/// drives the real server path.
#[derive(Debug)]
pub struct OneSegment<S> {
    /// The storage, until it is opened.
    storage: Option<S>,
}

impl<S> OneSegment<S> {
    /// `storage` as the journal's one segment.
    pub fn new(storage: S) -> Self {
        Self {
            storage: Some(storage),
        }
    }
}

fn unsupported(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("a single-storage journal cannot {what}"),
    )
}

impl<S: JournalStorage> JournalDir for OneSegment<S> {
    type Segment = S;

    fn list(&self) -> io::Result<Vec<u64>> {
        Ok(vec![0])
    }

    fn open(&mut self, _first_seq: u64) -> io::Result<S> {
        self.storage
            .take()
            .ok_or_else(|| unsupported("be opened twice"))
    }

    fn create(&mut self, _first_seq: u64) -> io::Result<S> {
        Err(unsupported("rotate"))
    }

    fn retire(&mut self, _first_seq: u64, _archive: bool) -> io::Result<()> {
        Err(unsupported("retire segments"))
    }

    fn set_aside(&mut self, _first_seq: u64, _suffix: &str) -> io::Result<String> {
        Err(unsupported("set its segment aside"))
    }

    fn describe(&self, _first_seq: u64) -> String {
        "the journal storage".to_string()
    }

    fn can_rotate(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_reject_others() {
        for seq in [0, 1, 99, u64::MAX] {
            assert_eq!(parse_segment_name(&segment_file_name(seq)), Some(seq));
        }
        for bad in [
            "segment-1.vxj",
            "segment-0000000000000000000a.vxj",
            "segment-00000000000000000001.vxj.tmp",
            "journal.vxj",
        ] {
            assert_eq!(parse_segment_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_snapshot_covers_the_segments_that_end_at_or_before_it() {
        assert_eq!(covered_count(&[], 10), 0);
        assert_eq!(
            covered_count(&[1], 10),
            0,
            "the last segment is never covered"
        );
        assert_eq!(covered_count(&[1, 11], 9), 0);
        assert_eq!(covered_count(&[1, 11], 10), 1);
        assert_eq!(covered_count(&[1, 11, 21], 30), 2);
    }
}
