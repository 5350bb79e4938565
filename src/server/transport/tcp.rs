//! The raw TCP transport: the same newline-delimited JSON-RPC as the Unix socket, for clients
//! on other machines or without Unix sockets. Off by default, loopback by default; with tokens
//! configured a client must authenticate first (`auth.rs`).

use std::net::SocketAddr;

use anyhow::Context;
use mio::net::TcpListener;

/// Binds `address` (an `ip:port`), non-blocking.
pub fn bind(address: &str) -> anyhow::Result<TcpListener> {
    let addr: SocketAddr = address
        .parse()
        .with_context(|| format!("tcp.address {address:?}"))?;
    TcpListener::bind(addr).with_context(|| format!("binding tcp {addr}"))
}
