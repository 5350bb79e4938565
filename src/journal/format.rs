//! The journal's on-disk encoding: the file header and the record framing, byte for byte as
//! `docs/journal-format.md` describes them. Nothing here does I/O; the writer encodes into a
//! buffer with these functions and the reader decodes a buffer with them.
//!
//! ```text
//! header : magic "VOXJRNL\0" | version u32 | created_by_len u16 | reserved u16 | created_by | crc32 u32
//! record : len u32 | crc32 u32 | kind u8 | seq u64 | source u8 | payload[len - 10]
//! ```
//! All integers are little-endian; `len` and the record `crc32` cover the body (`kind..payload`).

use std::fmt;

/// The first eight bytes of every journal file.
pub const MAGIC: [u8; 8] = *b"VOXJRNL\0";
/// The format version this code writes and the only one it reads.
pub const FORMAT_VERSION: u32 = 1;
/// Longest `created_by` string the header stores, in bytes.
pub const MAX_CREATED_BY_LEN: usize = 255;
/// Bytes of the header before the `created_by` string.
pub const HEADER_FIXED_LEN: usize = 16;
/// Bytes in front of each record body: `len` and `crc32`.
pub const RECORD_HEADER_LEN: usize = 8;
/// Bytes of the body before the payload: `kind`, `seq`, `source`.
pub const BODY_FIXED_LEN: usize = 10;
/// Largest body length accepted (64 MiB); a larger `len` field is damage, not data.
pub const MAX_BODY_LEN: u32 = 64 << 20;
/// Largest payload a record can carry.
pub const MAX_PAYLOAD_LEN: usize = MAX_BODY_LEN as usize - BODY_FIXED_LEN;

/// What a record stands for; replay dispatches on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RecordKind {
    /// A command buffer the world accepted and applied.
    Buffer = 1,
    /// One simulation step.
    Step = 2,
    /// Anything else the server wants replay to see (e.g. a configuration change).
    Meta = 3,
}

impl RecordKind {
    /// The kind stored as `byte`, if it is a known one.
    pub fn from_u8(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(Self::Buffer),
            2 => Some(Self::Step),
            3 => Some(Self::Meta),
            _ => None,
        }
    }
}

/// Where a record came from; kept for audits, replay treats all sources alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Source {
    /// The server itself (simulation steps, metadata).
    System = 0,
    /// A JSON-RPC edit method.
    Rpc = 1,
    /// A finished JavaScript script.
    Script = 2,
    /// A batch file.
    Batch = 3,
    /// `goxel.undo`.
    Undo = 4,
    /// `goxel.redo`.
    Redo = 5,
}

impl Source {
    /// The source stored as `byte`, if it is a known one.
    pub fn from_u8(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(Self::System),
            1 => Some(Self::Rpc),
            2 => Some(Self::Script),
            3 => Some(Self::Batch),
            4 => Some(Self::Undo),
            5 => Some(Self::Redo),
            _ => None,
        }
    }
}

/// One journal record; the payload is opaque bytes (the integrator's command-buffer codec).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// What the record stands for.
    pub kind: RecordKind,
    /// Global sequence number; each record's is the previous record's plus one.
    pub seq: u64,
    /// Where it came from.
    pub source: Source,
    /// The encoded buffer, step or metadata.
    pub payload: &'a [u8],
}

impl Record<'_> {
    /// Bytes this record takes on disk.
    pub fn encoded_len(&self) -> usize {
        RECORD_HEADER_LEN + BODY_FIXED_LEN + self.payload.len()
    }
}

/// Appends the encoding of `record` to `out`. The caller checks `payload.len() <= MAX_PAYLOAD_LEN`.
pub fn encode_record(record: &Record<'_>, out: &mut Vec<u8>) {
    debug_assert!(record.payload.len() <= MAX_PAYLOAD_LEN);
    let body_len = (BODY_FIXED_LEN + record.payload.len()) as u32;
    out.reserve(record.encoded_len());
    let start = out.len();
    out.extend_from_slice(&body_len.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.push(record.kind as u8);
    out.extend_from_slice(&record.seq.to_le_bytes());
    out.push(record.source as u8);
    out.extend_from_slice(record.payload);
    let crc = crc32fast::hash(&out[start + RECORD_HEADER_LEN..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Why the bytes at some offset are not a valid record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordFault {
    /// Fewer than the 8 bytes of `len` and `crc32` remain before the end.
    ShortHeader,
    /// `len` is below 10 or above [`MAX_BODY_LEN`]; `end` is where it would put the record's end.
    Length { len: u32, end: u64 },
    /// The body would end at `end`, past the end of the data.
    PastEnd { end: u64 },
    /// The stored checksum does not match the body; `end` is the record's declared end.
    Checksum {
        stored: u32,
        computed: u32,
        end: u64,
    },
    /// The checksum matches but the kind byte is unknown.
    Kind(u8),
    /// The checksum matches but the source byte is unknown.
    Source(u8),
}

impl fmt::Display for RecordFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ShortHeader => write!(f, "record header cut short"),
            Self::Length { len, .. } => write!(f, "record length {len} out of range"),
            Self::PastEnd { end } => write!(f, "record extends to byte {end}, past the end"),
            Self::Checksum {
                stored, computed, ..
            } => write!(
                f,
                "checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
            Self::Kind(k) => write!(f, "unknown record kind {k}"),
            Self::Source(s) => write!(f, "unknown record source {s}"),
        }
    }
}

/// Decodes the record at `offset` of `bytes`, verifying length and checksum.
/// Returns the record and the offset just past it.
pub fn decode_record(bytes: &[u8], offset: usize) -> Result<(Record<'_>, usize), RecordFault> {
    let rest = &bytes[offset..];
    if rest.len() < RECORD_HEADER_LEN {
        return Err(RecordFault::ShortHeader);
    }
    let len = u32::from_le_bytes(rest[0..4].try_into().unwrap());
    let stored = u32::from_le_bytes(rest[4..8].try_into().unwrap());
    let end = offset as u64 + RECORD_HEADER_LEN as u64 + u64::from(len);
    if (len as usize) < BODY_FIXED_LEN || len > MAX_BODY_LEN {
        return Err(RecordFault::Length { len, end });
    }
    if end > bytes.len() as u64 {
        return Err(RecordFault::PastEnd { end });
    }
    let body = &rest[RECORD_HEADER_LEN..RECORD_HEADER_LEN + len as usize];
    let computed = crc32fast::hash(body);
    if computed != stored {
        return Err(RecordFault::Checksum {
            stored,
            computed,
            end,
        });
    }
    let record = parse_body(body)?;
    Ok((record, end as usize))
}

/// Decodes the record at `offset` without checking it: only for bytes already verified.
pub(crate) fn decode_verified(bytes: &[u8], offset: usize) -> (Record<'_>, usize) {
    let len = u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap()) as usize;
    let body_start = offset + RECORD_HEADER_LEN;
    let body = &bytes[body_start..body_start + len];
    let record = parse_body(body).expect("verified record");
    (record, body_start + len)
}

fn parse_body(body: &[u8]) -> Result<Record<'_>, RecordFault> {
    let kind = RecordKind::from_u8(body[0]).ok_or(RecordFault::Kind(body[0]))?;
    let seq = u64::from_le_bytes(body[1..9].try_into().unwrap());
    let source = Source::from_u8(body[9]).ok_or(RecordFault::Source(body[9]))?;
    Ok(Record {
        kind,
        seq,
        source,
        payload: &body[BODY_FIXED_LEN..],
    })
}

/// The journal file header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version of the file ([`FORMAT_VERSION`]).
    pub version: u32,
    /// Free text naming the program that created the file, for humans reading `journal check`.
    pub created_by: String,
}

impl Header {
    /// A header of the current version; `created_by` is cut to [`MAX_CREATED_BY_LEN`] bytes
    /// at a character boundary.
    pub fn new(created_by: &str) -> Self {
        let mut cut = created_by.len().min(MAX_CREATED_BY_LEN);
        while !created_by.is_char_boundary(cut) {
            cut -= 1;
        }
        Self {
            version: FORMAT_VERSION,
            created_by: created_by[..cut].to_owned(),
        }
    }

    /// Bytes the header takes on disk.
    pub fn encoded_len(&self) -> usize {
        HEADER_FIXED_LEN + self.created_by.len() + 4
    }

    /// Appends the header's encoding to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&(self.created_by.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(self.created_by.as_bytes());
        let crc = crc32fast::hash(&out[start..]);
        out.extend_from_slice(&crc.to_le_bytes());
    }

    /// Decodes the header at the start of `bytes`; returns it and its length.
    pub fn decode(bytes: &[u8]) -> Result<(Self, usize), HeaderError> {
        let magic_len = bytes.len().min(MAGIC.len());
        if bytes[..magic_len] != MAGIC[..magic_len] {
            return Err(HeaderError::BadMagic);
        }
        if bytes.len() < HEADER_FIXED_LEN {
            return Err(HeaderError::Incomplete);
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
        let name_len = u16::from_le_bytes(bytes[12..14].try_into().unwrap()) as usize;
        let reserved = u16::from_le_bytes(bytes[14..16].try_into().unwrap());
        let total = HEADER_FIXED_LEN + name_len + 4;
        if name_len > MAX_CREATED_BY_LEN {
            return Err(HeaderError::Malformed);
        }
        if bytes.len() < total {
            return Err(HeaderError::Incomplete);
        }
        let stored = u32::from_le_bytes(bytes[total - 4..total].try_into().unwrap());
        if crc32fast::hash(&bytes[..total - 4]) != stored {
            return Err(HeaderError::Checksum);
        }
        if version != FORMAT_VERSION {
            return Err(HeaderError::Version(version));
        }
        if reserved != 0 {
            return Err(HeaderError::Malformed);
        }
        let created_by = std::str::from_utf8(&bytes[HEADER_FIXED_LEN..total - 4])
            .map_err(|_| HeaderError::Malformed)?
            .to_owned();
        Ok((
            Self {
                version,
                created_by,
            },
            total,
        ))
    }
}

/// Why a journal header was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The file does not start with `VOXJRNL\0`: not a journal.
    #[error("not a voxeld journal (bad magic)")]
    BadMagic,
    /// The file ends inside the header (only a crash while creating it leaves this).
    #[error("journal header cut short")]
    Incomplete,
    /// The header checksum does not match.
    #[error("journal header checksum mismatch")]
    Checksum,
    /// The header is intact but of a version this build does not read.
    #[error("unsupported journal format version {0} (this build reads {FORMAT_VERSION})")]
    Version(u32),
    /// A reserved field is non-zero or `created_by` is not UTF-8.
    #[error("malformed journal header")]
    Malformed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_bytes_match_the_documented_layout() {
        let mut out = Vec::new();
        let record = Record {
            kind: RecordKind::Buffer,
            seq: 0x0102_0304_0506_0708,
            source: Source::Script,
            payload: b"xyz",
        };
        encode_record(&record, &mut out);
        assert_eq!(out.len(), 21);
        assert_eq!(&out[0..4], &13u32.to_le_bytes());
        assert_eq!(&out[4..8], &crc32fast::hash(&out[8..]).to_le_bytes());
        assert_eq!(out[8], 1);
        assert_eq!(&out[9..17], &[8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(out[17], 2);
        assert_eq!(&out[18..], b"xyz");
        assert_eq!(decode_record(&out, 0).unwrap(), (record, 21));
    }

    #[test]
    fn header_round_trips_and_rejects_damage() {
        let header = Header::new("voxeld test");
        let mut out = Vec::new();
        header.encode(&mut out);
        assert_eq!(out.len(), header.encoded_len());
        assert_eq!(&out[..8], b"VOXJRNL\0");
        assert_eq!(Header::decode(&out).unwrap(), (header, out.len()));
        assert_eq!(Header::decode(&out[..10]), Err(HeaderError::Incomplete));
        assert_eq!(Header::decode(b"VOXJ"), Err(HeaderError::Incomplete));
        assert_eq!(
            Header::decode(b"NOTAJOURNAL....."),
            Err(HeaderError::BadMagic)
        );
        let mut bad = out.clone();
        bad[20] ^= 1;
        assert_eq!(Header::decode(&bad), Err(HeaderError::Checksum));
        let mut v2 = out.clone();
        v2[8] = 2;
        let n = v2.len();
        let crc = crc32fast::hash(&v2[..n - 4]);
        v2[n - 4..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(Header::decode(&v2), Err(HeaderError::Version(2)));
    }

    #[test]
    fn created_by_is_cut_at_a_char_boundary() {
        let long = "é".repeat(200);
        let header = Header::new(&long);
        assert!(header.created_by.len() <= MAX_CREATED_BY_LEN);
        assert_eq!(header.created_by.len(), 254);
    }
}
