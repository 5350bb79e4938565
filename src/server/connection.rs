//! One client connection: its socket, its input framer and its bounded output buffer.
//!
//! The output bound is backpressure: past `socket.max_output_bytes` of unsent replies the loop
//! stops reading the connection until it drains. A client that never drains (it sends and does
//! not read) would otherwise hold its descriptor and buffer for ever, so one whose output has
//! stayed over the cap for `socket.slow_reader_timeout_ms` is dropped ([`Connection::stalled`]).

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use mio::net::UnixStream;

use crate::rpc::LineFramer;

/// A client connection owned by the world loop.
pub struct Connection {
    /// The non-blocking socket.
    pub stream: UnixStream,
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
    pub fn new(stream: UnixStream, max_frame_bytes: usize) -> Connection {
        Connection {
            stream,
            framer: LineFramer::new(max_frame_bytes),
            out: Vec::new(),
            written: 0,
            eof: false,
            pending_scripts: 0,
            over_cap_since: None,
        }
    }

    /// Reads one buffer's worth of bytes into the framer.
    pub fn fill(&mut self, scratch: &mut [u8]) -> Fill {
        match self.stream.read(scratch) {
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

    /// Unwritten reply bytes.
    pub fn pending_out(&self) -> usize {
        self.out.len() - self.written
    }

    /// Writes as much output as the socket takes. `Err` means the connection is dead.
    pub fn flush(&mut self) -> io::Result<()> {
        while self.written < self.out.len() {
            match self.stream.write(&self.out[self.written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.written == self.out.len() {
            self.out.clear();
            self.written = 0;
            if self.out.capacity() > 1 << 20 {
                self.out.shrink_to(64 << 10);
            }
        }
        Ok(())
    }
}
