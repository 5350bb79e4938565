//! One client connection: its socket, its input framer and its bounded output buffer.

use std::io::{self, Read, Write};

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
