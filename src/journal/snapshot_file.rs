//! The container for a whole-world snapshot: opaque payload bytes (the world codec's output)
//! plus the `seq` they cover, versioned and checksummed, written atomically. Start-up loads the
//! newest readable snapshot and replays the journal records after its `seq`, so recovery time is
//! bounded by the snapshot interval, not by the age of the world.
//!
//! ```text
//! offset size field
//!      0    8 magic        "VOXSNAP\0"
//!      8    4 version      u32 LE, 1
//!     12    4 reserved     u32 LE, 0
//!     16    8 seq          u64 LE, the last journal seq the snapshot includes
//!     24    8 payload_len  u64 LE
//!     32    4 payload_crc  u32 LE, CRC-32 (IEEE) of the payload
//!     36    4 header_crc   u32 LE, CRC-32 of bytes 0..36
//!     40    n payload
//! ```
//! Files are named `snapshot-<seq, 20 digits>.vxs`, so name order is seq order.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::segments::{FaultHook, RotationPoint, at_point};
use super::storage::sync_parent_dir;

/// The first eight bytes of a snapshot file.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"VOXSNAP\0";
/// The snapshot format version written and read.
pub const SNAPSHOT_VERSION: u32 = 1;
/// Bytes before the payload.
pub const SNAPSHOT_HEADER_LEN: usize = 40;
/// Extension of snapshot files.
pub const SNAPSHOT_EXTENSION: &str = "vxs";

/// Why a snapshot could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Reading or writing the file failed.
    #[error("snapshot i/o failed")]
    Io(#[from] io::Error),
    /// The file does not start with the snapshot magic.
    #[error("not a voxeld snapshot (bad magic)")]
    BadMagic,
    /// The header is intact but of another version.
    #[error("unsupported snapshot version {0} (this build reads {SNAPSHOT_VERSION})")]
    Version(u32),
    /// The header checksum does not match.
    #[error("snapshot header checksum mismatch")]
    HeaderChecksum,
    /// The file is shorter than its header says.
    #[error("snapshot truncated: {actual} bytes, expected {expected}")]
    Truncated { expected: u64, actual: u64 },
    /// The file is longer than its header says.
    #[error("snapshot has {extra} unexpected trailing bytes")]
    TrailingBytes { extra: u64 },
    /// The payload checksum does not match.
    #[error("snapshot payload checksum mismatch")]
    PayloadChecksum,
}

/// Encodes a snapshot container holding `payload`, covering journal records up to `seq`.
pub fn encode_snapshot(seq: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(SNAPSHOT_HEADER_LEN + payload.len());
    out.extend_from_slice(&SNAPSHOT_MAGIC);
    out.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    let header_crc = crc32fast::hash(&out);
    out.extend_from_slice(&header_crc.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Decodes a snapshot container: `(seq, payload)`.
pub fn decode_snapshot(bytes: &[u8]) -> Result<(u64, &[u8]), SnapshotError> {
    let magic_len = bytes.len().min(SNAPSHOT_MAGIC.len());
    if bytes[..magic_len] != SNAPSHOT_MAGIC[..magic_len] {
        return Err(SnapshotError::BadMagic);
    }
    if bytes.len() < SNAPSHOT_HEADER_LEN {
        return Err(SnapshotError::Truncated {
            expected: SNAPSHOT_HEADER_LEN as u64,
            actual: bytes.len() as u64,
        });
    }
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    if crc32fast::hash(&bytes[..36]) != u32_at(36) {
        return Err(SnapshotError::HeaderChecksum);
    }
    let version = u32_at(8);
    if version != SNAPSHOT_VERSION {
        return Err(SnapshotError::Version(version));
    }
    let seq = u64_at(16);
    let payload_len = u64_at(24);
    let expected = (SNAPSHOT_HEADER_LEN as u64).saturating_add(payload_len);
    let actual = bytes.len() as u64;
    if actual < expected {
        return Err(SnapshotError::Truncated { expected, actual });
    }
    if actual > expected {
        return Err(SnapshotError::TrailingBytes {
            extra: actual - expected,
        });
    }
    let payload = &bytes[SNAPSHOT_HEADER_LEN..];
    if crc32fast::hash(payload) != u32_at(32) {
        return Err(SnapshotError::PayloadChecksum);
    }
    Ok((seq, payload))
}

/// The file name of the snapshot covering `seq`.
pub fn snapshot_file_name(seq: u64) -> String {
    format!("snapshot-{seq:020}.{SNAPSHOT_EXTENSION}")
}

/// Writes `path` atomically: `<path>.tmp` is written and synced, renamed over `path`, and the
/// directory synced. A crash leaves either the old file or the new one, never a mix.
pub fn write_snapshot_file(path: &Path, seq: u64, payload: &[u8]) -> Result<(), SnapshotError> {
    write_snapshot_file_with(path, seq, payload, None)
}

/// [`write_snapshot_file`], calling `hook` at its [`RotationPoint`]s (crash tests stop there).
/// A write that fails (a full disk) removes the temporary file, so it leaves nothing behind.
pub fn write_snapshot_file_with(
    path: &Path,
    seq: u64,
    payload: &[u8],
    hook: Option<&FaultHook>,
) -> Result<(), SnapshotError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let written = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(&encode_snapshot(seq, payload))?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e.into());
    }
    at_point(hook, RotationPoint::SnapshotWritten(seq))?;
    fs::rename(&tmp, path)?;
    at_point(hook, RotationPoint::SnapshotRenamed(seq))?;
    sync_parent_dir(path)?;
    at_point(hook, RotationPoint::SnapshotDurable(seq))?;
    Ok(())
}

/// Writes the snapshot covering `seq` into `dir` (created if missing); returns its path.
pub fn write_snapshot(dir: &Path, seq: u64, payload: &[u8]) -> Result<PathBuf, SnapshotError> {
    fs::create_dir_all(dir)?;
    let path = dir.join(snapshot_file_name(seq));
    write_snapshot_file(&path, seq, payload)?;
    Ok(path)
}

/// Reads and verifies the snapshot at `path`: `(seq, payload)`.
pub fn read_snapshot(path: &Path) -> Result<(u64, Vec<u8>), SnapshotError> {
    let bytes = fs::read(path)?;
    let (seq, payload) = decode_snapshot(&bytes)?;
    Ok((seq, payload.to_vec()))
}

/// The snapshots in `dir` named by [`snapshot_file_name`], newest (highest seq) first.
/// A missing directory has none. Start-up tries them in this order and uses the first readable.
pub fn list_snapshots(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut found = files_by_seq(dir, parse_snapshot_name)?;
    found.reverse();
    Ok(found)
}

/// The files in `dir` whose names `parse` reads a seq from, by seq ascending, with their paths
/// (a missing directory has none): snapshots here, journal segments in `segments.rs`.
pub(crate) fn files_by_seq(
    dir: &Path,
    parse: impl Fn(&str) -> Option<u64>,
) -> io::Result<Vec<(u64, PathBuf)>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry?;
        if let Some(seq) = entry.file_name().to_str().and_then(&parse) {
            found.push((seq, entry.path()));
        }
    }
    found.sort_by_key(|s| s.0);
    Ok(found)
}

/// The newest snapshot in `dir`, if any (by name; reading it may still fail).
pub fn newest_snapshot(dir: &Path) -> io::Result<Option<(u64, PathBuf)>> {
    Ok(list_snapshots(dir)?.into_iter().next())
}

/// Deletes all but the `keep` newest snapshots in `dir` and any leftover `*.vxs.tmp` files;
/// returns the deleted paths.
pub fn prune_snapshots(dir: &Path, keep: usize) -> io::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for (_, path) in list_snapshots(dir)?.into_iter().skip(keep) {
        fs::remove_file(&path)?;
        removed.push(path);
    }
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries {
            let path = entry?.path();
            let is_tmp = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("snapshot-") && n.ends_with(".vxs.tmp"));
            if is_tmp {
                fs::remove_file(&path)?;
                removed.push(path);
            }
        }
    }
    Ok(removed)
}

fn parse_snapshot_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("snapshot-")?.strip_suffix(".vxs")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}
