//! The library side of `voxeld journal check PATH` and `voxeld journal repair PATH`: inspect a
//! journal (a file, or a directory of segments) without changing it, and cut damage off it,
//! with a report a human can read.
//!
//! `check` never fails on damage: it reports it (the CLI exits non-zero when
//! [`CheckReport::is_corrupt`]). `repair` cuts a torn tail on its own, but cuts at mid-file
//! corruption only with [`RepairMode::TruncateCorruption`], since that drops records that were
//! probably acknowledged; the report says how many.

use std::fmt;
use std::io;
use std::path::Path;

use super::format::HeaderError;
use super::reader::{Corruption, End, TornTail, valid_record_len, verify};
use super::storage::{FileStorage, JournalStorage};

/// What `journal check` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckReport {
    /// Size of the file in bytes.
    pub file_len: u64,
    /// Format version from the header (`None`: empty file or torn header).
    pub format_version: Option<u32>,
    /// Creator named in the header.
    pub created_by: Option<String>,
    /// Valid records before any damage.
    pub record_count: u64,
    /// Sequence numbers of the first and last valid record.
    pub seq_range: Option<(u64, u64)>,
    /// Bytes of header and valid records.
    pub valid_len: u64,
    /// A torn tail, if the last write was cut short.
    pub torn_tail: Option<TornTail>,
    /// Mid-file corruption, if any.
    pub corruption: Option<CorruptionReport>,
}

/// Mid-file corruption found by `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CorruptionReport {
    /// Byte offset of the damaged record.
    pub offset: u64,
    /// What is wrong with it.
    pub corruption: Corruption,
    /// Checksum-valid records found after the damage (by a byte-by-byte search): what a
    /// truncating repair drops besides the damaged record.
    pub records_after: u64,
    /// Bytes from the damaged record to the end of the file.
    pub bytes_after: u64,
}

impl CheckReport {
    /// Whether the journal has mid-file corruption (start-up would refuse it).
    pub fn is_corrupt(&self) -> bool {
        self.corruption.is_some()
    }

    /// The exit code for `voxeld journal check`: 0 when start-up would accept the journal
    /// (a torn tail is accepted and cut), 1 on corruption.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.is_corrupt())
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.format_version, &self.created_by) {
            (Some(v), Some(by)) => writeln!(f, "format:     version {v}, created by {by:?}")?,
            _ => writeln!(f, "format:     no header")?,
        }
        writeln!(
            f,
            "size:       {} bytes ({} valid)",
            self.file_len, self.valid_len
        )?;
        writeln!(f, "records:    {}", self.record_count)?;
        match self.seq_range {
            Some((a, b)) => writeln!(f, "seq range:  {a}..={b}")?,
            None => writeln!(f, "seq range:  none")?,
        }
        match self.torn_tail {
            Some(t) => writeln!(f, "torn tail:  yes, {} bytes at offset {}", t.len, t.offset)?,
            None => writeln!(f, "torn tail:  no")?,
        }
        match &self.corruption {
            Some(c) => write!(
                f,
                "corruption: at byte offset {}: {}; {} valid records ({} bytes) follow",
                c.offset, c.corruption, c.records_after, c.bytes_after
            ),
            None => write!(f, "corruption: none"),
        }
    }
}

/// Why a journal could not be checked at all.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// Reading failed.
    #[error("reading the journal failed")]
    Io(#[from] io::Error),
    /// The header is not a voxeld journal header.
    #[error("journal header rejected")]
    Header(#[from] HeaderError),
}

/// Inspects the journal in `storage` without changing it.
pub fn check<S: JournalStorage + ?Sized>(storage: &S) -> Result<CheckReport, CheckError> {
    let bytes = storage.read_all()?;
    check_bytes(&bytes)
}

/// Inspects the journal file at `path` (opened read-only).
pub fn check_path(path: impl AsRef<Path>) -> Result<CheckReport, CheckError> {
    check(&FileStorage::open_read_only(path)?)
}

fn check_bytes(bytes: &[u8]) -> Result<CheckReport, CheckError> {
    let v = verify(bytes)?;
    let mut report = CheckReport {
        file_len: bytes.len() as u64,
        format_version: v.header.as_ref().map(|h| h.version),
        created_by: v.header.map(|h| h.created_by),
        record_count: v.record_count,
        seq_range: v.seq_range,
        valid_len: v.valid_len as u64,
        torn_tail: None,
        corruption: None,
    };
    match v.end {
        End::Clean => {}
        End::Torn(t) => report.torn_tail = Some(t),
        End::Corrupt { offset, corruption } => {
            report.corruption = Some(CorruptionReport {
                offset: offset as u64,
                corruption,
                records_after: count_records_after(bytes, offset),
                bytes_after: (bytes.len() - offset) as u64,
            })
        }
    }
    Ok(report)
}

/// Counts checksum-valid records after the damaged one at `offset`, resynchronising byte by byte
/// after each damaged stretch.
fn count_records_after(bytes: &[u8], offset: usize) -> u64 {
    let mut count = 0;
    let mut at = offset + 1;
    while at < bytes.len() {
        match valid_record_len(bytes, at) {
            Some(len) => {
                count += 1;
                at += len;
            }
            None => at += 1,
        }
    }
    count
}

/// How far `journal repair` may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RepairMode {
    /// Cut a torn tail only; refuse mid-file corruption.
    TornTailOnly,
    /// Also cut at mid-file corruption, dropping every record from the damaged one on
    /// (`--truncate-corrupt`).
    TruncateCorruption,
}

/// What `journal repair` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepairReport {
    /// The state before the repair.
    pub before: CheckReport,
    /// The length the file was cut to, if it was cut.
    pub truncated_to: Option<u64>,
    /// Bytes removed.
    pub bytes_removed: u64,
    /// Checksum-valid records removed (only a corruption repair removes any).
    pub records_dropped: u64,
}

impl fmt::Display for RepairReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.before)?;
        match self.truncated_to {
            Some(len) => write!(
                f,
                "repaired:   truncated to {len} bytes, removed {} bytes and {} valid records",
                self.bytes_removed, self.records_dropped
            ),
            None => write!(f, "repaired:   nothing to do"),
        }
    }
}

/// Why `journal repair` did not repair.
#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    /// The journal could not be checked.
    #[error("checking the journal failed")]
    Check(#[from] CheckError),
    /// Mid-file corruption and no permission to cut it; nothing was changed.
    #[error(
        "journal corrupt at byte offset {offset}; truncating there drops {records_after} valid records; pass the truncate-corrupt flag to do so"
    )]
    CorruptionNeedsFlag { offset: u64, records_after: u64 },
    /// A segment before the last one is corrupt; repairing it would leave a gap.
    #[error(
        "journal segment {path} (not the last) is corrupt at byte offset {offset}; repair that file on its own if the records after the damage may go (the segments after it then start after a gap)"
    )]
    EarlierSegment { path: String, offset: u64 },
    /// Cutting or syncing the file failed.
    #[error("truncating the journal failed")]
    Io(#[from] io::Error),
}

/// Cuts a torn tail (and, with [`RepairMode::TruncateCorruption`], mid-file corruption) off the
/// journal in `storage`, and syncs.
pub fn repair<S: JournalStorage + ?Sized>(
    storage: &mut S,
    mode: RepairMode,
) -> Result<RepairReport, RepairError> {
    let before = check(storage)?;
    let (cut, records_dropped) = match (&before.torn_tail, &before.corruption, mode) {
        (_, Some(c), RepairMode::TornTailOnly) => {
            return Err(RepairError::CorruptionNeedsFlag {
                offset: c.offset,
                records_after: c.records_after,
            });
        }
        (_, Some(c), RepairMode::TruncateCorruption) => (Some(c.offset), c.records_after),
        (Some(t), None, _) => (Some(t.offset), 0),
        (None, None, _) => (None, 0),
    };
    if let Some(len) = cut {
        storage.truncate(len)?;
        storage.sync()?;
    }
    Ok(RepairReport {
        bytes_removed: cut.map_or(0, |len| before.file_len - len),
        truncated_to: cut,
        records_dropped,
        before,
    })
}

/// [`repair`] on the existing journal file at `path`.
pub fn repair_path(path: impl AsRef<Path>, mode: RepairMode) -> Result<RepairReport, RepairError> {
    let path = path.as_ref();
    std::fs::metadata(path).map_err(CheckError::from)?;
    repair(&mut FileStorage::open(path)?, mode)
}

/// What `journal check` found in a directory of segments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirCheckReport {
    /// Each segment file, ascending by first seq, with its report.
    pub segments: Vec<(std::path::PathBuf, CheckReport)>,
    /// Where the seqs do not run on from one segment to the next, or a segment's name does
    /// not match its first record, or a segment other than the last has a torn tail.
    pub breaks: Vec<String>,
}

impl DirCheckReport {
    /// Whether start-up would refuse these segments.
    pub fn is_corrupt(&self) -> bool {
        !self.breaks.is_empty() || self.segments.iter().any(|(_, r)| r.is_corrupt())
    }

    /// The exit code for `voxeld journal check DIR`: 0 when start-up would accept the
    /// segments, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.is_corrupt())
    }
}

impl fmt::Display for DirCheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "segments:   {}", self.segments.len())?;
        for (path, report) in &self.segments {
            writeln!(f, "== {}", path.display())?;
            writeln!(f, "{report}")?;
        }
        if self.breaks.is_empty() {
            write!(f, "sequence:   continuous")
        } else {
            write!(f, "sequence:   broken: {}", self.breaks.join("; "))
        }
    }
}

/// Checks every segment in `dir` and that each one's records follow the previous one's.
pub fn check_dir(dir: &Path) -> Result<DirCheckReport, CheckError> {
    let mut report = DirCheckReport {
        segments: Vec::new(),
        breaks: Vec::new(),
    };
    let segments = super::segments::list_segments(dir)?;
    let mut previous_end: Option<u64> = None;
    for (i, (name, path)) in segments.iter().enumerate() {
        let r = check_path(path)?;
        if r.torn_tail.is_some() && i + 1 < segments.len() {
            report.breaks.push(format!(
                "{} has a torn tail but is not the last segment",
                path.display()
            ));
        }
        if let Some((first, end)) = r.seq_range {
            if first != *name {
                report.breaks.push(format!(
                    "{} is named for seq {name} but starts at seq {first}",
                    path.display()
                ));
            }
            if let Some(prev) = previous_end
                && first != prev + 1
            {
                report.breaks.push(format!(
                    "{} starts at seq {first}, the segment before it ends at seq {prev}",
                    path.display()
                ));
            }
            previous_end = Some(end);
        }
        report.segments.push((path.clone(), r));
    }
    Ok(report)
}

/// [`repair`] on the last segment in `dir` (where a crash leaves a torn tail). Damage in an
/// earlier segment is refused: cutting it would leave the later segments after a gap, so it
/// is left to the operator (`journal repair` on that file).
pub fn repair_dir(dir: &Path, mode: RepairMode) -> Result<RepairReport, RepairError> {
    let segments = super::segments::list_segments(dir).map_err(CheckError::from)?;
    let Some(((_, last), earlier)) = segments.split_last() else {
        return Err(RepairError::Io(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no journal segments in {}", dir.display()),
        )));
    };
    for (_, path) in earlier {
        let r = check_path(path)?;
        if let Some(c) = r.corruption {
            return Err(RepairError::EarlierSegment {
                path: path.display().to_string(),
                offset: c.offset,
            });
        }
    }
    repair_path(last, mode)
}
