//! Pending replies: the requests whose answer comes later (scripts, background jobs, and the
//! batches that hold them), where each reply goes, and how it gets there.
//!
//! A script or job gets a ticket when it starts; [`PendingReply`] remembers the connection,
//! the request id and (inside a batch) the slot the reply fills. When the work finishes the
//! loop looks the ticket up and [`Server::deliver`]s the reply to whoever is still connected.

use serde_json::value::RawValue;

use super::Server;
use super::held::{self, HeldReplies, HeldWork};
use super::requests::{batch_mask, write_batch};
use crate::journal::JournalStorage;
use crate::methods::scripts;
use crate::rpc::{Request, RpcError, codes, write_error, write_result};
use crate::script_host::WorldHost;
use crate::scripting::{ScriptDone, ScriptJob};

/// Where a deferred reply goes.
pub(super) struct PendingReply {
    connection: usize,
    id: Option<Box<RawValue>>,
    batch: Option<(u64, usize)>,
}

/// A batch whose reply waits for scripts.
pub(super) struct PendingBatch {
    pub(super) connection: usize,
    pub(super) parts: Vec<Option<Vec<u8>>>,
    pub(super) remaining: usize,
}

impl<S: JournalStorage + 'static> Server<S> {
    /// Remembers where the reply of the work started under `ticket` goes.
    pub(super) fn defer(
        &mut self,
        ticket: u64,
        connection: usize,
        request: &Request<'_>,
        batch: Option<(u64, usize)>,
    ) {
        let id = request.id.map(|id| id.to_owned());
        self.pending.insert(
            ticket,
            PendingReply {
                connection,
                id,
                batch,
            },
        );
    }

    /// Starts a script or job whose reply is deferred under `ticket` (already in `pending`);
    /// if it cannot start, its error is delivered.
    pub(super) fn start_work(&mut self, ticket: u64, work: HeldWork) {
        let started = match work {
            HeldWork::Script(job) => self.submit_script(*job),
            HeldWork::Job(job) => self.spawn_job(ticket, job),
        };
        if let Err(e) = started
            && let Some(pending) = self.pending.remove(&ticket)
        {
            self.deliver(pending, Err(e), false);
        }
    }

    pub(super) fn submit_script(&mut self, job: ScriptJob<WorldHost>) -> Result<(), RpcError> {
        let Some(pool) = &self.pool else {
            return Err(RpcError::server(
                codes::BUSY,
                "script worker pool shut down",
                None,
            ));
        };
        pool.submit(job).map_err(scripts::submit_error)
    }

    /// Commits a finished script and sends its reply to whoever is still there to read it.
    pub(super) fn finish_script(&mut self, done: ScriptDone<WorldHost>) {
        let ticket = done.ticket;
        self.scripts_finished += 1;
        self.record_steps();
        let Some(pending) = self.pending.remove(&done.ticket) else {
            return;
        };
        // The reply is held when the script's commit joined the unsynced group (its snapshot
        // was synced: a script asked for on an unsynced world starts only after the sync).
        let before = self.group_len();
        let (read_seq, seq_before) = (done.host.scratch.base().seq, self.world.seq());
        let mut reply = scripts::complete(&mut self.ctx(), done);
        if self.replica.is_some()
            && let Ok(serde_json::Value::Object(object)) = &mut reply
        {
            // What the script read, or the seq of its own edits once committed.
            let seq = self.world.seq();
            let as_of = if seq != seq_before { seq } else { read_seq };
            object.insert("as_of_seq".into(), serde_json::json!(as_of));
        }
        // Replicating, it also waits while records it may have read are unacknowledged.
        let held = self.group_len() > before || self.awaiting_stream();
        if self.subscriptions.want_scripts() {
            self.subscriptions
                .script_finished(script_finished(ticket, &reply));
        }
        self.deliver(pending, reply, held);
    }

    /// Writes a deferred reply to its connection (or into its batch). `held`: the reply
    /// waits for this iteration's group sync.
    pub(super) fn deliver(
        &mut self,
        pending: PendingReply,
        reply: Result<serde_json::Value, RpcError>,
        held: bool,
    ) {
        let Some(id) = pending.id.as_deref() else {
            self.release_script(pending.connection);
            return;
        };
        let mut line = Vec::new();
        match &reply {
            Ok(v) => write_result(&mut line, id, v),
            Err(e) => write_error(&mut line, id, e),
        }
        match pending.batch {
            None => {
                if let Some(conn) = self.connections.get_mut(&pending.connection) {
                    let start = conn.out.len();
                    conn.out.extend_from_slice(&line);
                    if held {
                        held::hold(&mut self.held, pending.connection, start..conn.out.len());
                    }
                }
            }
            Some((batch_id, slot)) => {
                if held {
                    self.held_parts.push((batch_id, slot));
                }
                let complete = match self.batches.get_mut(&batch_id) {
                    Some(batch) => {
                        batch.parts[slot] = Some(line);
                        batch.remaining -= 1;
                        batch.remaining == 0
                    }
                    None => false,
                };
                if complete
                    && let Some(batch) = self.batches.remove(&batch_id)
                    && let Some(conn) = self.connections.get_mut(&batch.connection)
                {
                    // Parts held in this iteration, and parts of earlier ones still waiting
                    // for the stream's ack (the line is held until the newest ack it needs).
                    let mut held_slots: Vec<usize> = self
                        .held_parts
                        .iter()
                        .filter(|(b, _)| *b == batch_id)
                        .map(|&(_, slot)| slot)
                        .collect();
                    held_slots.extend(
                        self.stream_parts
                            .iter()
                            .filter(|(b, _, _)| *b == batch_id)
                            .map(|&(_, slot, _)| slot),
                    );
                    self.stream_parts.retain(|(b, _, _)| *b != batch_id);
                    let mask = batch_mask(batch.parts.len(), &held_slots);
                    let start = conn.out.len();
                    write_batch(&mut conn.out, batch.parts.into_iter().flatten());
                    if let Some(slots) = mask {
                        self.held.push(HeldReplies {
                            connection: batch.connection,
                            range: start..conn.out.len(),
                            slots: Some(slots),
                        });
                    }
                }
            }
        }
        self.release_script(pending.connection);
    }

    pub(super) fn release_script(&mut self, connection: usize) {
        self.touched.push(connection);
        if let Some(conn) = self.connections.get_mut(&connection) {
            conn.pending_scripts = conn.pending_scripts.saturating_sub(1);
        }
    }
}

/// The `goxel.script_finished` params of a script's reply.
fn script_finished(ticket: u64, reply: &Result<serde_json::Value, RpcError>) -> serde_json::Value {
    match reply {
        Ok(v) => serde_json::json!({
            "script": ticket,
            "success": v.get("success").cloned().unwrap_or(serde_json::Value::Bool(false)),
            "seq": v.get("seq").cloned().unwrap_or_default(),
            "edit_count": v.get("edit_count").cloned().unwrap_or_default(),
            "duration_ms": v.get("duration_ms").cloned().unwrap_or_default(),
            "message": v.get("message").cloned().unwrap_or_default(),
        }),
        Err(e) => serde_json::json!({
            "script": ticket, "success": false, "code": e.code, "message": e.message,
        }),
    }
}
