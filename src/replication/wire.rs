//! What goes over NATS: the names of the stream and buckets, and the stream messages. A message
//! is one journal record in the journal's own encoding (`src/journal/format.rs`, checksummed),
//! with headers for de-duplication (`Nats-Msg-Id` = world/seq), fencing
//! (`Nats-Expected-Last-Sequence`) and the leader's epoch (`Voxeld-Epoch`).

use crate::journal::format::{decode_record, encode_record};
use crate::journal::{Record, RecordKind, Source};

/// Header carrying the epoch (lease revision) of the leader that published a record.
pub const EPOCH_HEADER: &str = "Voxeld-Epoch";
/// Key of the leadership lease in the lease bucket.
pub const LEASE_KEY: &str = "leader";
/// Name of the object holding the newest snapshot.
pub const SNAPSHOT_OBJECT: &str = "latest";

/// The NATS names of one replicated world.
#[derive(Debug, Clone)]
pub struct Names {
    /// The world's name, as configured.
    pub world: String,
    /// The stream of journal records.
    pub stream: String,
    /// The subject records are published on.
    pub subject: String,
    /// The key-value bucket holding the lease.
    pub lease_bucket: String,
    /// The object store bucket holding snapshots.
    pub snapshot_bucket: String,
}

impl Names {
    /// The names for world `world` (already checked: letters, digits, `-`, `_`).
    pub fn new(world: &str) -> Names {
        Names {
            world: world.to_string(),
            stream: format!("VOXELD_{world}"),
            subject: format!("voxeld.{world}.journal"),
            lease_bucket: format!("voxeld_{world}_lease"),
            snapshot_bucket: format!("voxeld_{world}_snapshots"),
        }
    }

    /// The de-duplication id of record `seq`.
    pub fn message_id(&self, seq: u64) -> String {
        format!("{}/{seq}", self.world)
    }
}

/// A journal record with its own payload, as it crosses threads and the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedRecord {
    /// What it stands for.
    pub kind: RecordKind,
    /// Its global sequence number (the same as its stream sequence).
    pub seq: u64,
    /// Where it came from.
    pub source: Source,
    /// The encoded buffer, step or metadata.
    pub payload: Vec<u8>,
}

impl OwnedRecord {
    /// The record, borrowed.
    pub fn as_record(&self) -> Record<'_> {
        Record {
            kind: self.kind,
            seq: self.seq,
            source: self.source,
            payload: &self.payload,
        }
    }

    /// The message body: the record in the journal's encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.as_record().encoded_len());
        encode_record(&self.as_record(), &mut out);
        out
    }

    /// Decodes a message body; the error says what is wrong with it.
    pub fn decode(bytes: &[u8]) -> Result<OwnedRecord, String> {
        let (record, end) = decode_record(bytes, 0).map_err(|e| format!("{e:?}"))?;
        if end != bytes.len() {
            return Err(format!(
                "{} bytes after the record",
                bytes.len().saturating_sub(end)
            ));
        }
        Ok(OwnedRecord {
            kind: record.kind,
            seq: record.seq,
            source: record.source,
            payload: record.payload.to_vec(),
        })
    }
}

/// Who holds the lease, as its value says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeaseHolder {
    /// The node's configured name.
    pub node: String,
    /// The socket its clients connect to.
    pub socket: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_survives_its_message_encoding() {
        let record = OwnedRecord {
            kind: RecordKind::Buffer,
            seq: 42,
            source: Source::Rpc,
            payload: b"edit".to_vec(),
        };
        assert_eq!(OwnedRecord::decode(&record.encode()).unwrap(), record);
        let mut damaged = record.encode();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        assert!(OwnedRecord::decode(&damaged).is_err());
        let mut long = record.encode();
        long.push(0);
        assert!(OwnedRecord::decode(&long).is_err());
    }

    #[test]
    fn names_follow_the_world() {
        let n = Names::new("w-1");
        assert_eq!(n.stream, "VOXELD_w-1");
        assert_eq!(n.subject, "voxeld.w-1.journal");
        assert_eq!(n.message_id(7), "w-1/7");
    }
}
