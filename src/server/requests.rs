//! Requests: one frame in, replies out. A frame may hold one request, a batch, or several
//! back-to-back values; each request is dispatched through the method table, and the work that
//! answers later (scripts, background jobs) is deferred under a ticket (`pending.rs`).

use serde_json::value::RawValue;

use super::Server;
use super::auth::Access;
use super::held::{self, HeldReplies, HeldWork};
use super::jobs::MAX_BACKGROUND_JOBS;
use super::pending::PendingBatch;
use crate::journal::JournalStorage;
use crate::methods::live::Session;
use crate::methods::{self, Reply, scripts};
use crate::rpc::{Incoming, Request, RpcError, codes, parse_frame, write_error, write_result};

impl<S: JournalStorage + 'static> Server<S> {
    /// Handles one frame; returns how many scripts it started (their replies come later).
    pub(super) fn handle_line(
        &mut self,
        connection: usize,
        access: &mut Access,
        line: &[u8],
        out: &mut Vec<u8>,
    ) -> usize {
        let started = self.pending.len();
        for incoming in parse_frame(line) {
            match incoming {
                Incoming::Request(request) => {
                    if let Some(reply) = self.dispatch(connection, access, &request, None) {
                        let start = out.len();
                        write_reply(out, request.id, reply);
                        if self.group_pending() {
                            held::hold(&mut self.held, connection, start..out.len());
                        }
                    }
                }
                Incoming::Rejected(rejected) => write_error(out, rejected.id, &rejected.error),
                Incoming::Batch(entries) => {
                    let batch_id = self.next_ticket;
                    self.next_ticket += 1;
                    let mut parts: Vec<Option<Vec<u8>>> = Vec::with_capacity(entries.len());
                    // Which parts were answered while the group sync was pending.
                    let mut held_slots: Vec<usize> = Vec::new();
                    let mut waiting = 0;
                    for entry in entries {
                        match entry {
                            Ok(request) => {
                                let slot = parts.len();
                                match self.dispatch(
                                    connection,
                                    access,
                                    &request,
                                    Some((batch_id, slot)),
                                ) {
                                    Some(reply) => {
                                        if request.id.is_some() {
                                            let mut part = Vec::new();
                                            write_reply(&mut part, request.id, reply);
                                            parts.push(Some(part));
                                            if self.group_pending() {
                                                held_slots.push(slot);
                                            }
                                        }
                                    }
                                    None => {
                                        if request.id.is_some() {
                                            parts.push(None);
                                            waiting += 1;
                                        }
                                    }
                                }
                            }
                            Err(rejected) => {
                                let mut part = Vec::new();
                                write_error(&mut part, rejected.id, &rejected.error);
                                parts.push(Some(part));
                            }
                        }
                    }
                    if waiting == 0 {
                        let start = out.len();
                        let mask = batch_mask(parts.len(), &held_slots);
                        write_batch(out, parts.into_iter().flatten());
                        if let Some(slots) = mask {
                            self.held.push(HeldReplies {
                                connection,
                                range: start..out.len(),
                                slots: Some(slots),
                            });
                        }
                    } else {
                        self.held_parts
                            .extend(held_slots.iter().map(|&slot| (batch_id, slot)));
                        self.batches.insert(
                            batch_id,
                            PendingBatch {
                                connection,
                                parts,
                                remaining: waiting,
                            },
                        );
                    }
                }
            }
        }
        self.pending.len() - started
    }

    /// Answers a request about the connection itself.
    fn session(
        &mut self,
        connection: usize,
        access: &mut Access,
        session: Session,
    ) -> Result<serde_json::Value, RpcError> {
        match session {
            Session::Subscribe(want) => Ok(self.subscribe(connection, want)),
            Session::Unsubscribe(id) => self.unsubscribe(connection, id),
            Session::Authenticate(token) => {
                if *access != Access::Full {
                    match self.tokens.find(&token) {
                        Some(p) => *access = Access::Token(p),
                        None => {
                            tracing::info!(connection, "authentication with an unknown token");
                            return Err(RpcError::server(
                                codes::NOT_AUTHENTICATED,
                                "invalid token",
                                None,
                            ));
                        }
                    }
                }
                Ok(serde_json::json!({
                    "authenticated": true,
                    "permissions": access.permissions().names(),
                }))
            }
        }
    }

    /// Runs one request. `None`: the reply comes later (a script).
    pub(super) fn dispatch(
        &mut self,
        connection: usize,
        access: &mut Access,
        request: &Request<'_>,
        batch: Option<(u64, usize)>,
    ) -> Option<Result<Reply, RpcError>> {
        self.requests += 1;
        let _span = tracing::trace_span!("request", method = %request.method).entered();
        // A reply may show the tick: quiet ticks not recorded yet are recorded first, so every
        // reply describes a recorded state (same seq, same hash, same tick as a replay).
        self.record_steps();
        match methods::find(&request.method) {
            Some(method) => {
                if let Err(e) = access.check(method) {
                    return Some(Err(e));
                }
            }
            None if *access == Access::Unauthenticated => {
                return Some(Err(RpcError::server(
                    codes::NOT_AUTHENTICATED,
                    "authentication required: send goxel.authenticate {token} first",
                    None,
                )));
            }
            None => {}
        }
        let result = methods::call(&mut self.ctx(), &request.method, &request.params);
        match result {
            Ok(Reply::Script(script)) => {
                let ticket = self.next_ticket;
                self.next_ticket += 1;
                let job = match scripts::prepare(&self.world, script, &self.config.scripts, ticket)
                {
                    Ok(scripts::Prepared::Job(job)) => job,
                    Ok(scripts::Prepared::Failed(v)) => return Some(Ok(Reply::Value(v))),
                    Err(e) => return Some(Err(e)),
                };
                if self.group_pending() {
                    // It reads a world with unsynced edits: it starts after the group sync.
                    self.held_work.push((ticket, HeldWork::Script(job)));
                } else if let Err(e) = self.submit_script(*job) {
                    return Some(Err(e));
                }
                self.defer(ticket, connection, request, batch);
                None
            }
            Ok(Reply::Background(job)) => {
                if self.jobs_running >= MAX_BACKGROUND_JOBS {
                    return Some(Err(RpcError::server(
                        codes::BUSY,
                        "too many file and render jobs running; try again",
                        Some(serde_json::json!({ "max_jobs": MAX_BACKGROUND_JOBS })),
                    )));
                }
                let ticket = self.next_ticket;
                self.next_ticket += 1;
                self.jobs_running += 1;
                if self.group_pending() {
                    // Its snapshot holds unsynced edits: nothing is written before the sync.
                    self.held_work.push((ticket, HeldWork::Job(job)));
                } else if let Err(e) = self.spawn_job(ticket, job) {
                    return Some(Err(e));
                }
                self.defer(ticket, connection, request, batch);
                None
            }
            Ok(Reply::Session(session)) => {
                Some(self.session(connection, access, session).map(Reply::Value))
            }
            Ok(reply) if self.replica.is_some() => {
                Some(Ok(with_as_of_seq(reply, self.world.seq())))
            }
            other => Some(other),
        }
    }
}

/// A replicating node's result says which seq it describes (`as_of_seq`: on a follower, how
/// far it has applied the stream). Only object results get it; a single server's replies are
/// as they always were.
pub(super) fn with_as_of_seq(reply: Reply, seq: u64) -> Reply {
    match reply {
        Reply::Value(mut v) => {
            if let Some(object) = v.as_object_mut() {
                object
                    .entry("as_of_seq")
                    .or_insert_with(|| serde_json::json!(seq));
            }
            Reply::Value(v)
        }
        Reply::Raw(raw) => {
            let text = raw.get();
            let Some(rest) = text.strip_prefix('{') else {
                return Reply::Raw(raw);
            };
            let sep = if rest.trim_start().starts_with('}') {
                ""
            } else {
                ","
            };
            match RawValue::from_string(format!("{{\"as_of_seq\":{seq}{sep}{rest}")) {
                Ok(stamped) => Reply::Raw(stamped),
                Err(_) => Reply::Raw(raw),
            }
        }
        other => other,
    }
}

pub(super) fn write_reply(
    out: &mut Vec<u8>,
    id: Option<&RawValue>,
    reply: Result<Reply, RpcError>,
) {
    let Some(id) = id else { return };
    match reply {
        Ok(Reply::Value(v)) => write_result(out, id, &v),
        Ok(Reply::Raw(r)) => write_result(out, id, &*r),
        Ok(Reply::Script(_) | Reply::Background(_) | Reply::Session(_)) => {
            write_error(out, id, &RpcError::internal("deferred reply written early"))
        }
        Err(e) => write_error(out, id, &e),
    }
}

/// Which replies of a batch line with `len` parts are held (`None`: none is).
pub(super) fn batch_mask(len: usize, held_slots: &[usize]) -> Option<Vec<bool>> {
    if held_slots.is_empty() {
        return None;
    }
    let mut mask = vec![false; len];
    for &slot in held_slots {
        if let Some(m) = mask.get_mut(slot) {
            *m = true;
        }
    }
    Some(mask)
}

/// Writes a batch reply: the parts (each a reply line) as one JSON array line. An all-
/// notification batch writes nothing.
pub(super) fn write_batch(out: &mut Vec<u8>, parts: impl Iterator<Item = Vec<u8>>) {
    let start = out.len();
    for part in parts {
        out.push(if out.len() == start { b'[' } else { b',' });
        let end = part.len() - usize::from(part.last() == Some(&b'\n'));
        out.extend_from_slice(&part[..end]);
    }
    if out.len() > start {
        out.extend_from_slice(b"]\n");
    }
}
