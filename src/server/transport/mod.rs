//! Transports: how bytes reach the world loop. Each transport is one module that binds its
//! listener and accepts streams; every stream then feeds the same
//! [`Connection`](super::connection::Connection) (framing, JSON-RPC, bounded output), so the
//! methods a client reaches do not depend on the transport it came in by.
//!
//! - `unix.rs`: the Unix socket, named and bound through `interprocess`, polled by mio.
//! - `tcp.rs`: raw TCP, the same newline-delimited JSON-RPC.
//! - `websocket.rs`: WebSocket (one message per text frame), and the static pages of
//!   `pages.rs` on the same port.

pub mod pages;
pub mod tcp;
pub mod unix;
pub mod websocket;

use std::io::{self, Read, Write};
use std::sync::Arc;

use mio::event::Source;
use mio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use mio::{Interest, Registry, Token};

use super::auth::Access;
use websocket::{Settings, WsStream};

/// A bound listener the loop polls.
pub enum Listener {
    /// The Unix socket.
    Unix(UnixListener),
    /// Raw TCP.
    Tcp(TcpListener),
    /// WebSocket (and its static pages).
    WebSocket(TcpListener, Arc<Settings>),
}

impl Listener {
    /// Takes the next waiting connection (`WouldBlock` when none is left).
    pub fn accept(&self) -> io::Result<Stream> {
        match self {
            Listener::Unix(l) => l.accept().map(|(s, _)| Stream::Unix(s)),
            Listener::Tcp(l) => {
                let (s, _) = l.accept()?;
                // Replies are small and a client waits for each: send them at once.
                s.set_nodelay(true)?;
                Ok(Stream::Tcp(s))
            }
            Listener::WebSocket(l, settings) => {
                let (s, _) = l.accept()?;
                s.set_nodelay(true)?;
                Ok(Stream::WebSocket(Box::new(WsStream::new(
                    s,
                    settings.clone(),
                ))))
            }
        }
    }

    /// Whether clients come over the network (they then need a token, when tokens are
    /// configured); the Unix socket is guarded by its file mode.
    pub fn is_network(&self) -> bool {
        !matches!(self, Listener::Unix(_))
    }
}

/// An accepted, non-blocking stream of newline-delimited JSON-RPC.
pub enum Stream {
    /// A Unix socket connection.
    Unix(UnixStream),
    /// A TCP connection.
    Tcp(TcpStream),
    /// A WebSocket connection (messages presented as lines).
    WebSocket(Box<WsStream>),
}

impl Stream {
    /// Output the transport holds beyond the connection's buffer (WebSocket frames not yet
    /// written); non-zero keeps the connection asking for write readiness.
    pub fn buffered(&self) -> usize {
        match self {
            Stream::WebSocket(s) => s.buffered(),
            _ => 0,
        }
    }

    /// Access the transport granted on its own (a token in a WebSocket upgrade), taken once.
    pub fn take_granted(&mut self) -> Option<Access> {
        match self {
            Stream::WebSocket(s) => s.take_granted(),
            _ => None,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
            Stream::WebSocket(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
            Stream::WebSocket(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Unix(s) => s.flush(),
            Stream::Tcp(s) => s.flush(),
            Stream::WebSocket(s) => s.flush(),
        }
    }
}

impl Source for Listener {
    fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Listener::Unix(l) => l.register(r, t, i),
            Listener::Tcp(l) | Listener::WebSocket(l, _) => l.register(r, t, i),
        }
    }
    fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Listener::Unix(l) => l.reregister(r, t, i),
            Listener::Tcp(l) | Listener::WebSocket(l, _) => l.reregister(r, t, i),
        }
    }
    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        match self {
            Listener::Unix(l) => l.deregister(r),
            Listener::Tcp(l) | Listener::WebSocket(l, _) => l.deregister(r),
        }
    }
}

impl Stream {
    /// The socket mio polls.
    fn source(&mut self) -> io::Result<&mut dyn Source> {
        Ok(match self {
            Stream::Unix(s) => s,
            Stream::Tcp(s) => s,
            Stream::WebSocket(s) => s
                .tcp_mut()
                .ok_or_else(|| io::Error::other("websocket stream between phases"))?,
        })
    }
}

impl Source for Stream {
    fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        self.source()?.register(r, t, i)
    }
    fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        self.source()?.reregister(r, t, i)
    }
    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        self.source()?.deregister(r)
    }
}
