//! The `replication` section: journal replication over NATS JetStream (`docs/replication.md`).
//! Off by default; a node without it behaves exactly as a single server.

use serde::Deserialize;

use super::{ConfigError, check};

/// Journal replication, read replicas and fail-over through a NATS JetStream cluster.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplicationConfig {
    /// Replicate at all. Off: this node is a single server, nothing below is used.
    pub enabled: bool,
    /// NATS server URLs to connect to (any member of the cluster will do; more give the
    /// client somewhere to reconnect).
    pub servers: Vec<String>,
    /// This node's name, as the lease, the logs and "not the leader" errors show it. Empty:
    /// the socket path.
    pub node: String,
    /// The replicated world's name: the stream, lease bucket and snapshot bucket are named
    /// after it, so several worlds can share one NATS cluster. Letters, digits, `-` and `_`.
    pub world: String,
    /// Copies of the stream, the lease and the snapshots the NATS cluster keeps (1..=5; 3 for
    /// a 3-node cluster, 1 for a single nats-server).
    pub stream_replicas: usize,
    /// When an edit's reply is sent on the leader: `Stream` (after the stream acknowledged its
    /// record, the default: nothing acknowledged is lost while a majority of the NATS cluster
    /// survives) or `LocalJournal` (after the local journal only; the stream catches up
    /// asynchronously, a leader crash can lose the edits it had not published yet).
    pub ack: ReplicationAck,
    /// How long the leader waits for the stream to acknowledge a record before it fails the
    /// edit (and steps down), in milliseconds.
    pub ack_timeout_ms: u64,
    /// How long a leadership lease lives without renewal, in milliseconds; the leader renews
    /// it every third of this. A follower takes over at most about this long after the leader
    /// died.
    pub lease_ttl_ms: u64,
    /// The leader puts a snapshot into the JetStream object store after this many records
    /// (and purges the stream up to `stream_keep_records` before it); 0: never. A new node
    /// starts from the newest snapshot plus the stream after it.
    pub snapshot_every_records: u64,
    /// Records kept in the stream before the newest object-store snapshot (a follower that
    /// is only this far behind catches up without downloading the snapshot).
    pub stream_keep_records: u64,
    /// How long start-up waits for the NATS cluster, in milliseconds.
    pub connect_timeout_ms: u64,
    /// A running node whose history is proven to differ from the stream's (it was fenced)
    /// restarts its server in-process under `ack: Stream`, moving the diverged data aside and
    /// following the stream (`serve` only). Off: it stays stopped, serving reads of what it
    /// has, until restarted by hand.
    pub rejoin_when_diverged: bool,
}

/// When the leader answers an edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ReplicationAck {
    /// After the stream acknowledged the edit's record (and the local journal took it).
    Stream,
    /// After the local journal took it; publishing goes on in the background.
    LocalJournal,
}

impl Default for ReplicationConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            servers: vec!["nats://127.0.0.1:4222".into()],
            node: String::new(),
            world: "world".into(),
            stream_replicas: 3,
            ack: ReplicationAck::Stream,
            ack_timeout_ms: 5000,
            lease_ttl_ms: 10_000,
            snapshot_every_records: 100_000,
            stream_keep_records: 10_000,
            connect_timeout_ms: 10_000,
            rejoin_when_diverged: true,
        }
    }
}

impl ReplicationConfig {
    /// Checks value ranges (only when enabled: a disabled section is never read).
    pub fn validate(&self, journal_enabled: bool) -> Result<(), ConfigError> {
        if !self.enabled {
            return Ok(());
        }
        check(
            journal_enabled,
            "replication.enabled",
            "needs journal.enabled: every node journals the replicated records locally",
        )?;
        check(
            !self.servers.is_empty(),
            "replication.servers",
            "must name at least one NATS server",
        )?;
        check(
            !self.world.is_empty()
                && self
                    .world
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "replication.world",
            "must be letters, digits, '-' and '_' only",
        )?;
        check(
            (1..=5).contains(&self.stream_replicas),
            "replication.stream_replicas",
            "must be in 1..=5",
        )?;
        check(
            self.ack_timeout_ms >= 1,
            "replication.ack_timeout_ms",
            "must be ≥ 1",
        )?;
        check(
            self.lease_ttl_ms >= 300,
            "replication.lease_ttl_ms",
            "must be ≥ 300",
        )?;
        check(
            self.connect_timeout_ms >= 1,
            "replication.connect_timeout_ms",
            "must be ≥ 1",
        )?;
        Ok(())
    }
}
