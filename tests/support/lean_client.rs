//! A lean blocking client for the socket benches: one request line out, one reply line back,
//! no JSON parsing, so the figures are the server's, not the client's. Benches include it with
//! `#[path = "../tests/support/lean_client.rs"]`.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// One connection.
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    line: String,
}

impl Client {
    /// Connects to the server socket at `path`.
    pub fn connect(path: &Path) -> Client {
        let stream = UnixStream::connect(path).expect("connect to the server socket");
        Client {
            reader: BufReader::new(stream.try_clone().expect("clone stream")),
            writer: stream,
            line: String::new(),
        }
    }

    /// Sends `request` (one JSON line; a trailing newline is optional) and returns the reply
    /// line; panics on an error reply.
    pub fn call(&mut self, request: &str) -> &str {
        self.exchange(request).expect("reply");
        assert!(
            !self.line.contains("\"error\""),
            "error reply: {}",
            self.line
        );
        &self.line
    }

    /// Sends `request` and returns the reply line, error replies included.
    pub fn exchange(&mut self, request: &str) -> std::io::Result<&str> {
        let request = request.trim_end_matches('\n');
        self.writer.write_all(request.as_bytes())?;
        self.writer.write_all(b"\n")?;
        self.line.clear();
        if self.reader.read_line(&mut self.line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(&self.line)
    }
}
