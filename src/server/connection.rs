//! One client connection, whatever its transport: its stream, its input framer and its bounded
//! output buffer, and how the loop accepts, reads, writes and closes connections.
//!
//! A connection whose unsent output passes `socket.max_output_bytes` is not read until it
//! drains, so a client that stops reading costs bounded memory and never stalls the others. A
//! client that never drains (it sends and does not read) would otherwise hold its descriptor
//! and buffer for ever, so one whose output has stayed over the cap for
//! `socket.slow_reader_timeout_ms` is dropped with a warning ([`Connection::stalled`]).
//! Write readiness is asked for only while output is stuck, so a plain request costs one
//! wake-up.
//!
//! On a replicating leader under `ack: Stream`, replies that depend on records the stream has
//! not acknowledged yet stay in `out` behind a [`StreamHold`] across loop iterations: the
//! socket gets the bytes before the first hold, the hold is released when the ack arrives
//! (or its replies withdrawn when the stream refuses), and the loop meanwhile serves others.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::ops::Range;
use std::time::{Duration, Instant};

use mio::{Interest, Token};
use serde_json::value::RawValue;

use super::Server;
use super::auth::Access;
use super::transport::Stream;
use crate::journal::JournalStorage;
use crate::rpc::{Frame, LineFramer, RpcError, codes, write_error, write_oversized};

/// A client connection owned by the world loop.
pub struct Connection {
    /// The non-blocking socket.
    pub stream: Stream,
    /// Bytes received, split into frames.
    pub framer: LineFramer,
    /// Reply bytes not yet written to the socket.
    pub out: Vec<u8>,
    /// Bytes of `out` already written.
    pub written: usize,
    /// The peer closed its side (no more input will come).
    pub eof: bool,
    /// Replies still owed for scripts this connection started.
    pub pending_scripts: usize,
    /// Since when unsent output has stayed at or over the cap (the reader stopped reading).
    over_cap_since: Option<Instant>,
    /// What the client may do.
    pub access: Access,
    /// Replies in `out` that wait for the replication stream's ack, in output order.
    pub holds: VecDeque<StreamHold>,
}

/// Reply bytes in a connection's `out` that wait until the stream acknowledged record `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamHold {
    /// Whole reply lines in `out`.
    pub range: Range<usize>,
    /// For one batch line: which of its replies depend on the unacknowledged records.
    pub slots: Option<Vec<bool>>,
    /// The last record they depend on.
    pub seq: u64,
}

/// What [`Connection::fill`] found.
pub enum Fill {
    /// Some bytes arrived (and more may follow).
    Data,
    /// Nothing to read right now.
    WouldBlock,
    /// The peer closed or the socket failed.
    Closed,
}

impl Connection {
    /// A connection over `stream`.
    pub fn new(stream: Stream, max_frame_bytes: usize, access: Access) -> Connection {
        Connection {
            stream,
            framer: LineFramer::new(max_frame_bytes),
            out: Vec::new(),
            written: 0,
            eof: false,
            pending_scripts: 0,
            over_cap_since: None,
            access,
            holds: VecDeque::new(),
        }
    }

    /// Releases the holds the stream has acknowledged (every record up to `acked`); true
    /// when some were released (the connection has more to write).
    pub fn release_holds(&mut self, acked: u64) -> bool {
        let before = self.holds.len();
        while self.holds.front().is_some_and(|h| h.seq <= acked) {
            self.holds.pop_front();
        }
        self.holds.len() != before
    }

    /// Where the bytes the socket may get end: the first hold, else the end of `out`.
    fn writable_end(&self) -> usize {
        self.holds.front().map_or(self.out.len(), |h| h.range.start)
    }

    /// Whether this connection's output has stayed at or over `cap` for at least `timeout`
    /// (`None`: never drop). Call after each flush; output below the cap resets the clock.
    pub fn stalled(&mut self, cap: usize, timeout: Option<Duration>, now: Instant) -> bool {
        if self.pending_out() < cap {
            self.over_cap_since = None;
            return false;
        }
        let since = *self.over_cap_since.get_or_insert(now);
        timeout.is_some_and(|t| now.duration_since(since) >= t)
    }

    /// Reads one buffer's worth of bytes into the framer.
    pub fn fill(&mut self, scratch: &mut [u8]) -> Fill {
        let read = self.stream.read(scratch);
        if let Some(access) = self.stream.take_granted() {
            self.access = access;
        }
        match read {
            Ok(0) => {
                self.eof = true;
                self.framer.finish();
                Fill::Closed
            }
            Ok(n) => {
                self.framer.push(&scratch[..n]);
                Fill::Data
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Fill::WouldBlock,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Fill::Data,
            Err(_) => {
                self.eof = true;
                self.framer.finish();
                Fill::Closed
            }
        }
    }

    /// Unwritten reply bytes.
    pub fn pending_out(&self) -> usize {
        self.out.len() - self.written + self.stream.buffered()
    }

    /// Unwritten reply bytes the socket may take now (not those behind a hold).
    pub fn writable_out(&self) -> usize {
        self.writable_end() - self.written + self.stream.buffered()
    }

    /// Writes as much output as the socket takes. `Err` means the connection is dead.
    pub fn flush(&mut self) -> io::Result<()> {
        let end = self.writable_end();
        while self.written < end {
            match self.stream.write(&self.out[self.written..end]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        // Whatever the transport holds itself (WebSocket frames) goes out too.
        self.stream.flush()?;
        if self.written == self.out.len() {
            self.out.clear();
            self.written = 0;
            if self.out.capacity() > 1 << 20 {
                self.out.shrink_to(64 << 10);
            }
        } else if self.written == end && self.written > 0 {
            // What is written goes; the held replies move to the front (a few lines: about one
            // ack's worth of replies), so `out` does not grow while holds keep coming.
            let written = std::mem::take(&mut self.written);
            self.out.drain(..written);
            for h in &mut self.holds {
                h.range.start -= written;
                h.range.end -= written;
            }
        }
        Ok(())
    }
}

impl<S: JournalStorage + 'static> Server<S> {
    /// Accepts every connection waiting on listener `index`.
    pub(super) fn accept(&mut self, index: usize) {
        loop {
            let Some(listener) = self.listeners.get(index) else {
                return;
            };
            match listener.accept() {
                Ok(stream) => {
                    let access = if listener.is_network() && self.tokens.required() {
                        Access::Unauthenticated
                    } else {
                        Access::Full
                    };
                    self.admit(stream, access)
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    return;
                }
            }
        }
    }

    /// Registers a new connection, or refuses it when there are too many.
    fn admit(&mut self, mut stream: Stream, access: Access) {
        if self.connections.len() >= self.config.socket.max_connections {
            let mut line = Vec::new();
            let error = RpcError::server(
                codes::BUSY,
                "too many connections",
                Some(serde_json::json!({ "max_connections": self.config.socket.max_connections })),
            );
            write_error(&mut line, RawValue::NULL, &error);
            let _ = stream.write(&line);
            return;
        }
        let token = self.next_token;
        self.next_token += 1;
        if self
            .poll
            .registry()
            .register(&mut stream, Token(token), Interest::READABLE)
            .is_err()
        {
            return;
        }
        self.connections.insert(
            token,
            Connection::new(stream, self.config.socket.max_frame_bytes, access),
        );
        self.ready.push(token);
    }

    /// Handles a connection's input until it would block or its output is full.
    pub(super) fn service(&mut self, token: usize, scratch: &mut [u8]) {
        let Some(mut conn) = self.connections.remove(&token) else {
            return;
        };
        let cap = self.config.socket.max_output_bytes;
        loop {
            while conn.pending_out() < cap {
                let Some(frame) = conn.framer.next_frame() else {
                    break;
                };
                match frame {
                    Frame::Line(line) => {
                        let line = line.to_vec();
                        conn.pending_scripts +=
                            self.handle_line(token, &mut conn.access, &line, &mut conn.out);
                    }
                    Frame::Oversized => write_oversized(&mut conn.out),
                }
            }
            if conn.pending_out() >= cap || conn.eof {
                break;
            }
            match conn.fill(scratch) {
                Fill::Data | Fill::Closed => continue,
                Fill::WouldBlock => break,
            }
        }
        self.connections.insert(token, conn);
        self.touched.push(token);
    }

    /// Writes the replies of the connections touched in this iteration (and of those still
    /// blocked on a full socket), closes finished connections, and asks for write readiness
    /// only while output is stuck, so a plain request costs one wake-up.
    pub(super) fn flush_all(&mut self) {
        let cap = self.config.socket.max_output_bytes;
        let slow_reader_timeout = match self.config.socket.slow_reader_timeout_ms {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        };
        let now = Instant::now();
        let mut tokens = std::mem::take(&mut self.touched);
        tokens.extend(self.blocked.iter().copied());
        tokens.sort_unstable();
        tokens.dedup();
        let mut dead = Vec::new();
        for token in tokens {
            let Some(conn) = self.connections.get_mut(&token) else {
                continue;
            };
            let was_full = conn.pending_out() >= cap;
            if conn.pending_out() > 0 && conn.flush().is_err() {
                dead.push(token);
                continue;
            }
            if conn.stalled(cap, slow_reader_timeout, now) {
                tracing::warn!(
                    connection = token,
                    unsent_bytes = conn.pending_out(),
                    timeout_ms = self.config.socket.slow_reader_timeout_ms,
                    "dropping a connection that stopped reading its replies"
                );
                dead.push(token);
                continue;
            }
            if conn.eof
                && conn.pending_out() == 0
                && conn.framer.buffered_len() == 0
                && conn.pending_scripts == 0
            {
                dead.push(token);
                continue;
            }
            if was_full && conn.pending_out() < cap {
                // Drained below the cap: read its input again.
                self.ready.push(token);
            }
            // Held replies wait for an ack, not for the socket: no write readiness for them.
            let stuck = conn.writable_out() > 0;
            if stuck != self.blocked.contains(&token) {
                let interest = if stuck {
                    Interest::READABLE | Interest::WRITABLE
                } else {
                    Interest::READABLE
                };
                if self
                    .poll
                    .registry()
                    .reregister(&mut conn.stream, Token(token), interest)
                    .is_err()
                {
                    dead.push(token);
                    continue;
                }
                if stuck {
                    self.blocked.insert(token);
                } else {
                    self.blocked.remove(&token);
                }
            }
        }
        for token in dead {
            self.blocked.remove(&token);
            if let Some(mut conn) = self.connections.remove(&token) {
                let _ = self.poll.registry().deregister(&mut conn.stream);
            }
            self.forget_subscriber(token);
        }
        if !self.ready.is_empty() {
            let _ = self.waker.wake();
        }
    }
}
