//! The WebSocket transport: one JSON-RPC message (or batch) per text frame in, each reply and
//! notification its own text frame out, over a non-blocking TCP stream polled by mio like any
//! other connection. `tungstenite` does the framing; the HTTP part (the upgrade, and the
//! static pages of `pages.rs` at `GET /`) is handled here, so one port serves the viewer page
//! and its WebSocket.
//!
//! The stream presents the bytes the connection expects: reading yields each message's text
//! followed by a newline, so the connection's line framer sees one frame per message; writing
//! takes whole reply lines and sends each as a text message. So the connection type, its
//! bounded output and the loop are the same for every transport.
//!
//! An upgrade is refused (HTTP 403) when its `Origin` is neither absent, nor listed in
//! `websocket.allowed_origins`, nor this port on a loopback host: a page of another site must
//! not drive a local voxeld through the visitor's browser. A token may come with the upgrade
//! (`Authorization: Bearer`, or `?token=`); a wrong one is refused (HTTP 401).

use std::io::{self, Read, Write};
use std::sync::Arc;

use mio::net::TcpStream;
use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::{Message, WebSocket};

use super::pages;
use crate::server::auth::{Access, Tokens};

/// Longest HTTP request head accepted.
const MAX_REQUEST_BYTES: usize = 16 << 10;

/// What every WebSocket connection of one listener shares.
pub struct Settings {
    /// `Origin` values allowed besides loopback pages of this port.
    pub allowed_origins: Vec<String>,
    /// The port the listener is bound to (for the loopback origins).
    pub port: u16,
    /// The tokens an upgrade may carry.
    pub tokens: Arc<Tokens>,
    /// Largest message accepted (`socket.max_frame_bytes`).
    pub max_message_bytes: usize,
}

impl Settings {
    /// Whether a page at `origin` may open a WebSocket here.
    fn origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o == origin)
            || ["127.0.0.1", "localhost", "[::1]"]
                .iter()
                .any(|host| origin == format!("http://{host}:{}", self.port))
    }
}

/// A WebSocket connection, from its HTTP request to its close.
pub struct WsStream {
    phase: Phase,
    settings: Arc<Settings>,
    /// Access granted by a token in the upgrade request, for the connection to take.
    granted: Option<Access>,
}

enum Phase {
    /// Reading the HTTP request head.
    Request { tcp: TcpStream, head: Vec<u8> },
    /// Writing the HTTP response; then the WebSocket (with the bytes read past the head), or
    /// the end (a page or a refusal).
    Respond {
        tcp: TcpStream,
        response: Vec<u8>,
        written: usize,
        upgrade: Option<Vec<u8>>,
    },
    /// Upgraded.
    Open(Box<Open>),
    /// Answered over HTTP, or closed: nothing more to read.
    Done(TcpStream),
    /// Only while moving from one phase to the next.
    Moving,
}

struct Open {
    ws: WebSocket<TcpStream>,
    /// The current message's text and newline, and how much of it was read.
    incoming: Vec<u8>,
    at: usize,
    /// Whether tungstenite may hold bytes not yet written to the socket.
    unflushed: bool,
}

impl WsStream {
    /// A connection whose HTTP request is still to be read.
    pub fn new(tcp: TcpStream, settings: Arc<Settings>) -> WsStream {
        WsStream {
            phase: Phase::Request {
                tcp,
                head: Vec::new(),
            },
            settings,
            granted: None,
        }
    }

    /// The socket, for mio (`None` only inside a phase change).
    pub fn tcp_mut(&mut self) -> Option<&mut TcpStream> {
        match &mut self.phase {
            Phase::Request { tcp, .. } | Phase::Respond { tcp, .. } | Phase::Done(tcp) => Some(tcp),
            Phase::Open(open) => Some(open.ws.get_mut()),
            Phase::Moving => None,
        }
    }

    /// Access a token in the upgrade request granted (taken once).
    pub fn take_granted(&mut self) -> Option<Access> {
        self.granted.take()
    }

    /// Output held here rather than in the connection's buffer: an unwritten HTTP response,
    /// or frames tungstenite has not written yet (counted as one byte: "not empty").
    pub fn buffered(&self) -> usize {
        match &self.phase {
            Phase::Respond {
                response, written, ..
            } => response.len() - written,
            Phase::Open(open) => usize::from(open.unflushed),
            _ => 0,
        }
    }

    /// Writes what is left of the HTTP response; `WouldBlock` while the socket is full. Once
    /// written, moves to the WebSocket or to the end.
    fn respond(&mut self) -> io::Result<()> {
        let Phase::Respond {
            tcp,
            response,
            written,
            ..
        } = &mut self.phase
        else {
            return Ok(());
        };
        while *written < response.len() {
            match tcp.write(&response[*written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => *written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if let Phase::Respond { tcp, upgrade, .. } =
            std::mem::replace(&mut self.phase, Phase::Moving)
        {
            self.phase = self.after_response(tcp, upgrade);
        }
        Ok(())
    }

    /// The phase after the HTTP response: the WebSocket, or the end.
    fn after_response(&self, tcp: TcpStream, upgrade: Option<Vec<u8>>) -> Phase {
        match upgrade {
            Some(leftover) => {
                let config = WebSocketConfig::default()
                    .max_message_size(Some(self.settings.max_message_bytes))
                    .max_frame_size(Some(self.settings.max_message_bytes));
                Phase::Open(Box::new(Open {
                    ws: WebSocket::from_partially_read(tcp, leftover, Role::Server, Some(config)),
                    incoming: Vec::new(),
                    at: 0,
                    unflushed: false,
                }))
            }
            None => Phase::Done(tcp),
        }
    }

    /// Answers a complete request head: the response, and for an accepted upgrade the access
    /// its token grants (if it carried one).
    fn answer(&mut self, head: &[u8]) -> (Vec<u8>, bool) {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        if !matches!(req.parse(head), Ok(httparse::Status::Complete(_))) {
            return (plain(400, "Bad Request", "malformed HTTP request\n"), false);
        }
        if req.method != Some("GET") {
            return (plain(405, "Method Not Allowed", "only GET\n"), false);
        }
        let path = req.path.unwrap_or("/");
        let header = |name: &str| {
            req.headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .and_then(|h| std::str::from_utf8(h.value).ok())
        };
        let upgrade = header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
        if !upgrade {
            return match pages::find(path) {
                Some(page) => (response(200, "OK", page.content_type, page.body, ""), false),
                None => (plain(404, "Not Found", "no such page\n"), false),
            };
        }
        if let Some(origin) = header("origin")
            && !self.settings.origin_allowed(origin)
        {
            tracing::info!(origin, "websocket upgrade from a foreign origin refused");
            return (
                plain(
                    403,
                    "Forbidden",
                    "this Origin may not open a WebSocket here (websocket.allowed_origins)\n",
                ),
                false,
            );
        }
        if header("sec-websocket-version") != Some("13") {
            return (
                response(
                    426,
                    "Upgrade Required",
                    "text/plain",
                    b"WebSocket version 13 only\n",
                    "Sec-WebSocket-Version: 13\r\n",
                ),
                false,
            );
        }
        let Some(key) = header("sec-websocket-key") else {
            return (plain(400, "Bad Request", "no Sec-WebSocket-Key\n"), false);
        };
        let token = header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string())
            .or_else(|| query_token(path));
        if let Some(token) = token
            && self.settings.tokens.required()
        {
            match self.settings.tokens.find(&token) {
                Some(p) => self.granted = Some(Access::Token(p)),
                None => {
                    tracing::info!("websocket upgrade with an unknown token refused");
                    return (plain(401, "Unauthorized", "invalid token\n"), false);
                }
            }
        }
        let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        );
        (response.into_bytes(), true)
    }
}

impl Read for WsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match &mut self.phase {
                Phase::Request { tcp, head } => {
                    let mut chunk = [0u8; 4096];
                    let n = tcp.read(&mut chunk)?;
                    if n == 0 {
                        return Ok(0);
                    }
                    head.extend_from_slice(&chunk[..n]);
                    let end = head
                        .windows(4)
                        .position(|w| w == b"\r\n\r\n")
                        .map(|i| i + 4);
                    let (response, upgrade) = match end {
                        Some(end) => {
                            let (head_bytes, rest) = {
                                let h = std::mem::take(head);
                                (h[..end].to_vec(), h[end..].to_vec())
                            };
                            let (response, upgraded) = self.answer(&head_bytes);
                            (response, upgraded.then_some(rest))
                        }
                        None if head.len() > MAX_REQUEST_BYTES => (
                            plain(
                                431,
                                "Request Header Fields Too Large",
                                "request too large\n",
                            ),
                            None,
                        ),
                        None => continue,
                    };
                    if let Phase::Request { tcp, .. } =
                        std::mem::replace(&mut self.phase, Phase::Moving)
                    {
                        self.phase = Phase::Respond {
                            tcp,
                            response,
                            written: 0,
                            upgrade,
                        };
                    }
                }
                Phase::Respond { .. } => self.respond()?,
                Phase::Open(open) => {
                    if open.at < open.incoming.len() {
                        let n = buf.len().min(open.incoming.len() - open.at);
                        buf[..n].copy_from_slice(&open.incoming[open.at..open.at + n]);
                        open.at += n;
                        return Ok(n);
                    }
                    match open.ws.read() {
                        Ok(Message::Text(text)) => {
                            open.incoming.clear();
                            open.incoming.extend_from_slice(text.as_bytes());
                            open.incoming.push(b'\n');
                            open.at = 0;
                        }
                        Ok(Message::Binary(bytes)) => {
                            open.incoming.clear();
                            open.incoming.extend_from_slice(&bytes);
                            open.incoming.push(b'\n');
                            open.at = 0;
                        }
                        // Pings are answered by tungstenite on the next flush.
                        Ok(_) => open.unflushed = true,
                        Err(tungstenite::Error::Io(e)) => return Err(e),
                        Err(
                            tungstenite::Error::ConnectionClosed
                            | tungstenite::Error::AlreadyClosed,
                        ) => return Ok(0),
                        Err(e) => return Err(io::Error::other(e)),
                    }
                }
                Phase::Done(_) | Phase::Moving => return Ok(0),
            }
        }
    }
}

impl Write for WsStream {
    /// Takes whole reply lines and queues each as a text message, until the socket is full.
    ///
    /// Backpressure is ours, not tungstenite's write-buffer limit: that limit refuses any
    /// message larger than itself for ever (a 10 MB `get_chunks` reply stalled the connection
    /// until the slow-reader timeout dropped it). So tungstenite's buffer is unlimited, and
    /// while it still holds bytes the socket would not take, no more lines are taken: it holds
    /// at most one call's worth of lines, and the rest waits in the connection's bounded output.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Phase::Open(open) = &mut self.phase else {
            // Nothing is answered before the upgrade, and nothing after an HTTP answer.
            return Ok(buf.len());
        };
        if open.unflushed {
            match open.ws.flush() {
                Ok(()) => open.unflushed = false,
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Err(tungstenite::Error::Io(e)) => return Err(e),
                Err(e) => return Err(io::Error::other(e)),
            }
        }
        let mut consumed = 0;
        for line in buf.split_inclusive(|&b| b == b'\n') {
            let text = line.strip_suffix(b"\n").unwrap_or(line);
            let message = Message::text(String::from_utf8_lossy(text).into_owned());
            let full = match open.ws.write(message) {
                Ok(()) => false,
                // Queued; the socket is full for now.
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => true,
                Err(tungstenite::Error::Io(e)) => return Err(e),
                Err(e) => return Err(io::Error::other(e)),
            };
            open.unflushed = true;
            consumed += line.len();
            if full {
                break;
            }
        }
        Ok(consumed)
    }

    /// Writes what tungstenite holds, or the rest of an HTTP response; a full socket is not
    /// an error (the loop asks for write readiness while [`WsStream::buffered`] is non-zero).
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.phase {
            Phase::Respond { .. } => match self.respond() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
                other => other,
            },
            Phase::Open(open) => match open.ws.flush() {
                Ok(()) => {
                    open.unflushed = false;
                    Ok(())
                }
                Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
                Err(tungstenite::Error::Io(e)) => Err(e),
                Err(e) => Err(io::Error::other(e)),
            },
            _ => Ok(()),
        }
    }
}

/// `token` from a request path's query (`/?token=...`), percent-decoded.
fn query_token(path: &str) -> Option<String> {
    let query = path.split_once('?')?.1;
    let value = query.split('&').find_map(|kv| kv.strip_prefix("token="))?;
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// A plain-text HTTP response that closes the connection.
fn plain(code: u16, reason: &str, body: &str) -> Vec<u8> {
    response(
        code,
        reason,
        "text/plain; charset=utf-8",
        body.as_bytes(),
        "",
    )
}

/// An HTTP response that closes the connection.
fn response(code: u16, reason: &str, content_type: &str, body: &[u8], extra: &str) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_tokens_are_percent_decoded() {
        assert_eq!(query_token("/?token=a%2Fb+c&x=1").as_deref(), Some("a/b c"));
        assert_eq!(query_token("/?x=1"), None);
        assert_eq!(query_token("/"), None);
        assert_eq!(query_token("/?token=%zz"), None);
        assert_eq!(query_token("/?token=%4"), Some("%4".into()));
    }
}
