//! What waits for the group sync of `fsync: Always`: the replies written in an iteration after
//! its first unsynced edit, and the scripts and jobs asked for on that unsynced world.
//!
//! Replies already sit in their connections' output buffers (the loop writes them to the
//! sockets only after the sync), so holding them costs nothing; the loop only notes where they
//! are. If the sync succeeds the notes are dropped and the held work starts. If it fails, the
//! group's edits have been taken back, so every successful reply written after the first of
//! them described a world that no longer exists: [`withdraw`] turns each into the journal
//! error, keeping its id, and the held work is refused the same way. Error replies stay: they
//! changed nothing.
//!
//! A replicating leader under `ack: Stream` holds replies the same way until the stream
//! acknowledged the records they depend on, but across iterations: at the end of an iteration
//! the notes become [`StreamHold`]s in their connections (and batch parts wait in
//! `stream_parts`), released by a later ack ([`Outcome::Acked`]) or withdrawn when the stream
//! refuses ([`Outcome::Refused`]). The loop is never blocked on the stream.

use std::ops::Range;

use serde::Deserialize;
use serde_json::value::RawValue;
use systems::VoxelWorld;

use super::Server;
use super::connection::StreamHold;
use super::requests::write_batch;
use crate::journal::JournalStorage;
use crate::methods::{self, Job};
use crate::replication::Outcome;
use crate::rpc::{RpcError, codes, write_error};
use crate::script_host::WorldHost;
use crate::scripting::ScriptJob;

/// Reply bytes in a connection's output that depend on the unsynced group.
#[derive(Debug, PartialEq, Eq)]
pub struct HeldReplies {
    /// The connection's token.
    pub connection: usize,
    /// Whole reply lines in its `out`.
    pub range: Range<usize>,
    /// For one batch line: which of its replies are held (`None`: every reply in `range`).
    pub slots: Option<Vec<bool>>,
}

/// Work asked for on the unsynced world: started after the sync, refused if it fails.
pub enum HeldWork {
    /// A prepared script.
    Script(Box<ScriptJob<WorldHost>>),
    /// A save, export or render.
    Job(Job),
}

/// Notes that `connection`'s output bytes `range` are held, merging with the previous note
/// when it ends where this one starts (a pipelining client writes thousands of replies in a row).
pub fn hold(held: &mut Vec<HeldReplies>, connection: usize, range: Range<usize>) {
    if range.is_empty() {
        return;
    }
    if let Some(last) = held.last_mut()
        && last.connection == connection
        && last.slots.is_none()
        && last.range.end == range.start
    {
        last.range.end = range.end;
        return;
    }
    held.push(HeldReplies {
        connection,
        range,
        slots: None,
    });
}

impl<S: JournalStorage + 'static> Server<S> {
    /// Ends an iteration before its replies are written: the journal's group sync, then what
    /// waited for it. On success the held replies are released and the held work starts; on
    /// failure the group's edits are already taken back, the held replies are withdrawn and the
    /// held work is refused, all with the journal error.
    pub(super) fn settle(&mut self) {
        let synced = match &mut self.persistence {
            Some(p) => p
                .end_of_iteration(&mut self.world)
                .map_err(|reason| withdrawn_error(&reason, &self.world)),
            None => Ok(()),
        };
        // A replicating leader's records go to the stream once the local journal has them;
        // under `ack: Stream` the replies held here wait for its ack.
        let synced = match (synced, &mut self.replica, &mut self.persistence) {
            (Ok(()), Some(r), Some(p)) => {
                let overdue = r.check_overdue(p);
                let settled = r.settle(&self.world, p);
                if let Some(outcome) = overdue {
                    self.stream_outcome(outcome);
                }
                settled
            }
            (other, _, _) => other.map(|()| None),
        };
        let held = std::mem::take(&mut self.held);
        let held_parts = std::mem::take(&mut self.held_parts);
        let held_work = std::mem::take(&mut self.held_work);
        match synced {
            Ok(awaited) => {
                if let Some(seq) = awaited {
                    self.hold_for_stream(held, held_parts, seq);
                }
                for (ticket, work) in held_work {
                    self.start_work(ticket, work);
                }
            }
            Err(error) => {
                // Newest first, so the ranges still to rewrite keep their offsets.
                for h in held.into_iter().rev() {
                    if let Some(conn) = self.connections.get_mut(&h.connection) {
                        let new = withdraw(&conn.out[h.range.clone()], h.slots.as_deref(), &error);
                        conn.out.splice(h.range, new);
                    }
                }
                for (batch_id, slot) in held_parts {
                    if let Some(batch) = self.batches.get_mut(&batch_id)
                        && let Some(Some(part)) = batch.parts.get_mut(slot)
                    {
                        *part = withdraw(part, None, &error);
                    }
                }
                for (ticket, work) in held_work {
                    if matches!(work, HeldWork::Job(_)) {
                        self.jobs_running -= 1;
                    }
                    if let Some(pending) = self.pending.remove(&ticket) {
                        self.deliver(pending, Err(error.clone()), false);
                    }
                }
            }
        }
    }

    /// Moves this iteration's held replies into their connections' stream holds: they wait
    /// until the stream acknowledged `seq`.
    fn hold_for_stream(&mut self, held: Vec<HeldReplies>, held_parts: Vec<(u64, usize)>, seq: u64) {
        for h in held {
            if let Some(conn) = self.connections.get_mut(&h.connection) {
                conn.holds.push_back(StreamHold {
                    range: h.range,
                    slots: h.slots,
                    seq,
                });
                self.stream_held.insert(h.connection);
            }
        }
        self.stream_parts.extend(
            held_parts
                .into_iter()
                .map(|(batch, slot)| (batch, slot, seq)),
        );
    }

    /// Releases or withdraws the replies waiting on the stream, as `outcome` says.
    pub(super) fn stream_outcome(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Acked(acked) => {
                let mut emptied = Vec::new();
                for &token in &self.stream_held {
                    match self.connections.get_mut(&token) {
                        Some(conn) => {
                            if conn.release_holds(acked) {
                                self.touched.push(token);
                            }
                            if conn.holds.is_empty() {
                                emptied.push(token);
                            }
                        }
                        None => emptied.push(token),
                    }
                }
                for token in emptied {
                    self.stream_held.remove(&token);
                }
                self.stream_parts.retain(|&(_, _, seq)| seq > acked);
            }
            Outcome::Refused(error) => {
                for token in std::mem::take(&mut self.stream_held) {
                    let Some(conn) = self.connections.get_mut(&token) else {
                        continue;
                    };
                    // Newest first, so the ranges still to rewrite keep their offsets.
                    while let Some(h) = conn.holds.pop_back() {
                        let new = withdraw(&conn.out[h.range.clone()], h.slots.as_deref(), &error);
                        conn.out.splice(h.range, new);
                    }
                    self.touched.push(token);
                }
                for (batch_id, slot, _) in std::mem::take(&mut self.stream_parts) {
                    if let Some(batch) = self.batches.get_mut(&batch_id)
                        && let Some(Some(part)) = batch.parts.get_mut(slot)
                    {
                        *part = withdraw(part, None, &error);
                    }
                }
            }
        }
    }

    /// Whether some replies wait for the replication stream's ack.
    pub(super) fn awaiting_stream(&self) -> bool {
        self.replica.as_ref().is_some_and(|r| r.in_flight() > 0)
    }

    /// Whether buffers recorded in this iteration wait for their group sync (`Always`): what
    /// is answered or started now depends on them.
    pub(super) fn group_pending(&self) -> bool {
        self.group_len() > 0
    }

    /// How many buffers wait for the group sync (or, replicating, the stream's ack).
    pub(super) fn group_len(&self) -> usize {
        self.persistence.as_ref().map_or(0, |p| {
            p.group_len() + self.replica.as_ref().map_or(0, |r| r.pending_len(p))
        })
    }
}

/// The error a reply withdrawn after a failed group sync gets instead (`reason`: what failed;
/// `world`: as it is after the group was taken back).
fn withdrawn_error(reason: &str, world: &VoxelWorld) -> RpcError {
    RpcError::server(
        codes::JOURNAL,
        format!(
            "journal sync failed ({reason}): this reply was withdrawn because it came after edits that could not be made durable; those edits (this request's own, if it edited) were taken back and the world is as after the last successful sync. Edits are refused until the server is restarted; reads work, retry them"
        ),
        Some(serde_json::json!({
            "journal": "failed", "error": reason, "withdrawn": true,
            "seq": world.seq(), "recovery": methods::JOURNAL_RECOVERY,
        })),
    )
}
/// The members of a reply this loop wrote, as far as withdrawing it needs them.
#[derive(Deserialize)]
struct ReplyProbe<'a> {
    #[serde(borrow)]
    id: &'a RawValue,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

/// Rewrites the reply lines `bytes`: every successful reply becomes `error` with the same id;
/// in a batch line only the replies `slots` marks (all when `None`). Errors stay as they are.
pub fn withdraw(bytes: &[u8], slots: Option<&[bool]>, error: &RpcError) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        if text.first() == Some(&b'[') {
            match serde_json::from_slice::<Vec<&RawValue>>(text) {
                Ok(items) => {
                    let parts = items.iter().enumerate().map(|(i, item)| {
                        let marked = slots.is_none_or(|s| s.get(i).copied().unwrap_or(false));
                        let mut part = Vec::new();
                        withdraw_one(item.get().as_bytes(), marked, error, &mut part);
                        part
                    });
                    write_batch(&mut out, parts);
                }
                Err(_) => out.extend_from_slice(line),
            }
        } else {
            withdraw_one(text, true, error, &mut out);
        }
    }
    out
}

/// Writes one reply (without its newline in `reply`) to `out` as a line: `error` in its place
/// when `marked` and it was a success, else unchanged.
fn withdraw_one(reply: &[u8], marked: bool, error: &RpcError, out: &mut Vec<u8>) {
    if marked
        && let Ok(probe) = serde_json::from_slice::<ReplyProbe<'_>>(reply)
        && probe.error.is_none()
    {
        write_error(out, probe.id, error);
        return;
    }
    out.extend_from_slice(reply);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::codes;

    fn error() -> RpcError {
        RpcError::server(codes::JOURNAL, "gone", None)
    }

    #[test]
    fn successes_are_withdrawn_with_their_ids_and_errors_stay() {
        let bytes = concat!(
            r#"{"jsonrpc":"2.0","result":{"success":true},"id":7}"#,
            "\n",
            r#"{"jsonrpc":"2.0","error":{"code":-32602,"message":"x"},"id":"a"}"#,
            "\n",
            r#"{"jsonrpc":"2.0","result":null,"id":null}"#,
            "\n",
        );
        let out = String::from_utf8(withdraw(bytes.as_bytes(), None, &error())).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                r#"{"jsonrpc":"2.0","error":{"code":-32001,"message":"gone"},"id":7}"#,
                r#"{"jsonrpc":"2.0","error":{"code":-32602,"message":"x"},"id":"a"}"#,
                r#"{"jsonrpc":"2.0","error":{"code":-32001,"message":"gone"},"id":null}"#,
            ]
        );
    }

    #[test]
    fn in_a_batch_line_only_the_marked_replies_are_withdrawn() {
        let bytes = concat!(
            r#"[{"jsonrpc":"2.0","result":1,"id":1},{"jsonrpc":"2.0","result":2,"id":2}]"#,
            "\n"
        );
        let out = withdraw(bytes.as_bytes(), Some(&[false, true]), &error());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            concat!(
                r#"[{"jsonrpc":"2.0","result":1,"id":1},{"jsonrpc":"2.0","error":{"code":-32001,"message":"gone"},"id":2}]"#,
                "\n"
            )
        );
    }

    #[test]
    fn adjacent_notes_of_one_connection_merge() {
        let mut held = Vec::new();
        hold(&mut held, 16, 0..10);
        hold(&mut held, 16, 10..20);
        hold(&mut held, 17, 0..5);
        hold(&mut held, 16, 25..30);
        hold(&mut held, 16, 30..30);
        let ranges: Vec<_> = held
            .iter()
            .map(|h| (h.connection, h.range.clone()))
            .collect();
        assert_eq!(ranges, [(16, 0..20), (17, 0..5), (16, 25..30)]);
    }
}
