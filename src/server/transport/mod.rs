//! Transports: how bytes reach the world loop. Each transport is one module that binds its
//! listener and accepts streams; every stream then feeds the same [`Connection`](super::connection::Connection)
//! (framing, JSON-RPC, bounded output), so the methods a client reaches do not depend on the
//! transport it came in by.
//!
//! Today: the Unix socket (`unix.rs`, named and bound through `interprocess`, polled by mio).

pub mod unix;

use std::io::{self, Read, Write};

use mio::event::Source;
use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry, Token};

/// A bound listener the loop polls.
pub enum Listener {
    /// The Unix socket.
    Unix(UnixListener),
}

impl Listener {
    /// Takes the next waiting connection (`WouldBlock` when none is left).
    pub fn accept(&self) -> io::Result<Stream> {
        match self {
            Listener::Unix(l) => l.accept().map(|(s, _)| Stream::Unix(s)),
        }
    }

    /// Whether clients come over the network (they then need a token, when tokens are
    /// configured); the Unix socket is guarded by its file mode.
    pub fn is_network(&self) -> bool {
        match self {
            Listener::Unix(_) => false,
        }
    }
}

/// An accepted, non-blocking byte stream.
pub enum Stream {
    /// A Unix socket connection.
    Unix(UnixStream),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.flush(),
        }
    }
}

/// Delegates mio registration to the transport's own source.
macro_rules! delegate_source {
    ($ty:ident { $($variant:ident),* }) => {
        impl Source for $ty {
            fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
                match self { $($ty::$variant(s) => s.register(r, t, i)),* }
            }
            fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
                match self { $($ty::$variant(s) => s.reregister(r, t, i)),* }
            }
            fn deregister(&mut self, r: &Registry) -> io::Result<()> {
                match self { $($ty::$variant(s) => s.deregister(r)),* }
            }
        }
    };
}

delegate_source!(Listener { Unix });
delegate_source!(Stream { Unix });
