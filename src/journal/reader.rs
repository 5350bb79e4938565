//! Reading a journal back: verify the header, every length, checksum and sequence number, and
//! tell a torn tail (a crash in the middle of the last write, safe to cut) from corruption in the
//! middle of the file (start-up must stop, because cutting there would drop acknowledged edits).
//!
//! # Torn tail or corruption
//! Let `X` be the offset of the first record that fails to verify (fewer than 8 bytes left, a
//! length out of range, a body reaching past the end of the file, or a checksum mismatch).
//! The bytes from `X` to the end are a **torn tail** when both hold:
//! 1. the record could have been the last one written: fewer than 8 bytes remain at `X`, or its
//!    declared end is at or past the end of the file, or every byte from `X` to the end is zero
//!    (a file system may zero-fill blocks whose data never reached the disk); and
//! 2. no valid record (length in range, end within the file, known kind, checksum matching)
//!    starts at any byte offset after `X`.
//!
//! Anything else is **corruption at `X`**. So is a record whose checksum matches but whose kind or
//! source byte is unknown, or whose `seq` is not the previous record's plus one: those bytes were
//! written exactly so, and no crash produces them.
//!
//! A header cut short (the file ends inside it and what is there matches the magic) is a torn
//! tail at offset 0: only a crash while creating the journal leaves it, before any record.

use std::fmt;
use std::io;
use std::ops::RangeInclusive;

use super::format::{
    BODY_FIXED_LEN, Header, HeaderError, MAX_BODY_LEN, RECORD_HEADER_LEN, Record, RecordFault,
    RecordKind, decode_record, decode_verified,
};
use super::storage::JournalStorage;

/// A verified journal held in memory: the header, and the records up to the first damage.
#[derive(Debug)]
pub struct Scan {
    /// The whole file as read; records borrow from it.
    bytes: Vec<u8>,
    /// `None` for an empty file or a torn header.
    header: Option<Header>,
    /// Offset of the first record.
    records_start: usize,
    /// Offset just past the last valid record (or the header): the length to keep.
    valid_len: usize,
    /// Number of valid records.
    record_count: u64,
    /// Sequence numbers of the first and last valid record.
    seq_range: Option<(u64, u64)>,
    /// Offset of the last valid record.
    last_record_start: Option<usize>,
    /// The torn tail found after `valid_len`, if any.
    torn_tail: Option<TornTail>,
}

/// Bytes at the end of a journal that a crash left half written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// Where the torn bytes start (the length the journal is cut to).
    pub offset: u64,
    /// How many bytes are torn.
    pub len: u64,
}

/// Damage in the middle of a journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corruption {
    /// The record at the offset does not verify, and valid data follows it.
    Record(RecordFault),
    /// The record at the offset verifies but its `seq` is not the expected one.
    Seq { expected: u64, found: u64 },
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Record(fault) => write!(f, "{fault}"),
            Self::Seq { expected, found } if found < expected => {
                write!(f, "seq {found} goes backwards (expected {expected})")
            }
            Self::Seq { expected, found } => {
                write!(f, "seq {found} leaves a gap (expected {expected})")
            }
        }
    }
}

/// Why a journal could not be scanned.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// Reading the storage failed.
    #[error("reading the journal failed")]
    Io(#[from] io::Error),
    /// The header is not a valid voxeld journal header.
    #[error("journal header rejected")]
    Header(#[from] HeaderError),
    /// A record in the middle of the journal is damaged; start-up must stop.
    #[error("journal corrupt at byte offset {offset}: {corruption}")]
    Corrupt {
        /// Byte offset of the damaged record from the start of the file.
        offset: u64,
        /// What is wrong with it.
        corruption: Corruption,
    },
}

/// Reads and verifies the whole journal in `storage`. A torn tail is reported (and logged with
/// its offset) but not cut; [`super::JournalWriter::open`] cuts it.
pub fn scan<S: JournalStorage + ?Sized>(storage: &S) -> Result<Scan, ScanError> {
    scan_bytes(storage.read_all()?)
}

/// Verifies a journal already in memory.
pub fn scan_bytes(bytes: Vec<u8>) -> Result<Scan, ScanError> {
    let verified = verify(&bytes)?;
    match verified.end {
        End::Corrupt { offset, corruption } => Err(ScanError::Corrupt {
            offset: offset as u64,
            corruption,
        }),
        End::Clean | End::Torn(_) => {
            let torn_tail = match verified.end {
                End::Torn(tail) => {
                    tracing::warn!(
                        offset = tail.offset,
                        len = tail.len,
                        "journal has a torn tail (crash during a write); it will be truncated"
                    );
                    Some(tail)
                }
                _ => None,
            };
            Ok(Scan {
                bytes,
                header: verified.header,
                records_start: verified.records_start,
                valid_len: verified.valid_len,
                record_count: verified.record_count,
                seq_range: verified.seq_range,
                last_record_start: verified.last_record_start,
                torn_tail,
            })
        }
    }
}

impl Scan {
    /// The header, or `None` if the file was empty or its header torn.
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// The valid records in order, each with its byte offset.
    pub fn records(&self) -> Records<'_> {
        Records {
            bytes: &self.bytes[..self.valid_len],
            offset: self.records_start,
        }
    }

    /// The records with `seq` greater than `seq`: the journal tail to replay on top of a
    /// snapshot covering `seq`. `None` when records are missing in between (the journal's
    /// first `seq` is above `seq + 1`), so start-up cannot reach a consistent world.
    pub fn records_after(&self, seq: u64) -> Option<Records<'_>> {
        let mut records = self.records();
        match self.seq_range {
            None => return Some(records),
            Some((first, _)) if first > seq.saturating_add(1) => return None,
            Some((first, _)) if first > seq => return Some(records),
            Some(_) => {}
        }
        while let Some((_, record)) = records.clone().next() {
            if record.seq > seq {
                break;
            }
            records.next();
        }
        Some(records)
    }

    /// The last valid record (the scan found where it starts: nothing is walked again).
    pub fn last_record(&self) -> Option<Record<'_>> {
        let start = self.last_record_start?;
        Records {
            bytes: &self.bytes[..self.valid_len],
            offset: start,
        }
        .next()
        .map(|(_, record)| record)
    }

    /// Number of valid records.
    pub fn record_count(&self) -> u64 {
        self.record_count
    }

    /// Sequence numbers of the first and last valid record.
    pub fn seq_range(&self) -> Option<RangeInclusive<u64>> {
        self.seq_range.map(|(a, b)| a..=b)
    }

    /// The length of the header plus the valid records: what the journal keeps.
    pub fn valid_len(&self) -> u64 {
        self.valid_len as u64
    }

    /// The file's length as read, torn tail included.
    pub fn file_len(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// The torn tail, if the last write was cut short.
    pub fn torn_tail(&self) -> Option<TornTail> {
        self.torn_tail
    }
}

/// Iterator over the verified records of a [`Scan`]: `(byte offset, record)`.
#[derive(Clone, Debug)]
pub struct Records<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Iterator for Records<'a> {
    type Item = (u64, Record<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.offset >= self.bytes.len() {
            return None;
        }
        let at = self.offset;
        let (record, next) = decode_verified(self.bytes, at);
        self.offset = next;
        Some((at as u64, record))
    }
}

/// How the verified prefix of a journal ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    Clean,
    Torn(TornTail),
    Corrupt {
        offset: usize,
        corruption: Corruption,
    },
}

/// The result of verifying a journal's bytes, damage included (`check` reports both).
#[derive(Debug)]
pub(crate) struct Verified {
    pub header: Option<Header>,
    pub records_start: usize,
    pub valid_len: usize,
    pub record_count: u64,
    pub seq_range: Option<(u64, u64)>,
    /// Offset of the last valid record.
    pub last_record_start: Option<usize>,
    pub end: End,
}

/// Verifies `bytes` as a journal. Errors only for a header that is not a torn one.
pub(crate) fn verify(bytes: &[u8]) -> Result<Verified, HeaderError> {
    let mut verified = Verified {
        header: None,
        records_start: 0,
        valid_len: 0,
        record_count: 0,
        seq_range: None,
        last_record_start: None,
        end: End::Clean,
    };
    if bytes.is_empty() {
        return Ok(verified);
    }
    let (header, header_len) = match Header::decode(bytes) {
        Ok(decoded) => decoded,
        Err(HeaderError::Incomplete) => {
            verified.end = End::Torn(TornTail {
                offset: 0,
                len: bytes.len() as u64,
            });
            return Ok(verified);
        }
        Err(e) => return Err(e),
    };
    verified.header = Some(header);
    verified.records_start = header_len;
    let mut offset = header_len;
    let mut first_seq = None;
    let mut last_seq: Option<u64> = None;
    let mut count = 0u64;
    while offset < bytes.len() {
        match decode_record(bytes, offset) {
            Ok((record, next)) => {
                if let Some(last) = last_seq {
                    let expected = last.wrapping_add(1);
                    if record.seq != expected {
                        verified.end = End::Corrupt {
                            offset,
                            corruption: Corruption::Seq {
                                expected,
                                found: record.seq,
                            },
                        };
                        break;
                    }
                } else {
                    first_seq = Some(record.seq);
                }
                last_seq = Some(record.seq);
                verified.last_record_start = Some(offset);
                count += 1;
                offset = next;
            }
            Err(fault) => {
                verified.end = classify(bytes, offset, fault);
                break;
            }
        }
    }
    verified.valid_len = offset;
    verified.record_count = count;
    verified.seq_range = first_seq.zip(last_seq);
    Ok(verified)
}

/// Decides whether the fault at `offset` is a torn tail or corruption (see the module docs).
fn classify(bytes: &[u8], offset: usize, fault: RecordFault) -> End {
    let file_end = bytes.len() as u64;
    let could_be_last = match fault {
        RecordFault::ShortHeader | RecordFault::PastEnd { .. } => true,
        RecordFault::Length { end, .. } | RecordFault::Checksum { end, .. } => {
            end >= file_end || bytes[offset..].iter().all(|&b| b == 0)
        }
        RecordFault::Kind(_) | RecordFault::Source(_) => false,
    };
    if could_be_last && find_valid_record(bytes, offset + 1).is_none() {
        End::Torn(TornTail {
            offset: offset as u64,
            len: file_end - offset as u64,
        })
    } else {
        End::Corrupt {
            offset,
            corruption: Corruption::Record(fault),
        }
    }
}

/// The first offset at or after `from` where a whole valid record starts, if any.
pub(crate) fn find_valid_record(bytes: &[u8], from: usize) -> Option<usize> {
    (from..bytes.len()).find(|&at| valid_record_len(bytes, at).is_some())
}

/// The encoded length of the valid record starting at `at`, if one does.
pub(crate) fn valid_record_len(bytes: &[u8], at: usize) -> Option<usize> {
    let rest = bytes.get(at..)?;
    if rest.len() < RECORD_HEADER_LEN + BODY_FIXED_LEN {
        return None;
    }
    let len = u32::from_le_bytes(rest[0..4].try_into().unwrap());
    if (len as usize) < BODY_FIXED_LEN
        || len > MAX_BODY_LEN
        || RECORD_HEADER_LEN + len as usize > rest.len()
        || RecordKind::from_u8(rest[RECORD_HEADER_LEN]).is_none()
    {
        return None;
    }
    decode_record(bytes, at).ok().map(|(_, next)| next - at)
}
