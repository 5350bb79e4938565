//! The test harnesses, in one place: an in-process [`TestServer`] and a raw-socket [`Client`]
//! (write a line, read a line, parse it with serde_json: it speaks bytes, not a client
//! library, so the tests see what a real client sees); `child.rs`, a `voxeld serve` child
//! process (`kill -9`, SIGTERM, its log); `procfs.rs`, a process's RSS and descriptors;
//! `load.rs`, the mixed load of the load tool and the soak test; `lean_client.rs`, the benches'
//! client that does not parse replies (benches include these files with `#[path]`);
//! `python.rs`, a venv with pinned PyPI packages for the independent clients; `faulty.rs`, an
//! in-process server's fault-injecting journal storage and its configuration.

#![allow(dead_code)]

pub mod child;
pub mod faulty;
pub mod load;
pub mod procfs;
pub mod python;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;
use voxeld::config::Config;
use voxeld::server::{RunningServer, spawn};

/// How long a read may block before the test fails instead of hanging.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A server on its own socket in its own temporary directory.
pub struct TestServer {
    /// The running server; `None` once stopped.
    pub server: Option<RunningServer>,
    /// The socket path.
    pub socket: PathBuf,
    /// Holds the temporary directory until the test ends.
    pub dir: TempDir,
}

impl TestServer {
    /// A server with the default configuration.
    pub fn start() -> TestServer {
        Self::start_with(|_| {})
    }

    /// A server whose configuration `tweak` may change (socket path is already set).
    pub fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.socket.path = dir.path().join("voxeld.sock");
        config.data_dir = dir.path().join("data");
        tweak(&mut config);
        let server = spawn(config).unwrap();
        let socket = server.socket.clone();
        TestServer {
            server: Some(server),
            socket,
            dir,
        }
    }

    /// A new client connection.
    pub fn client(&self) -> Client {
        Client::connect(&self.socket)
    }

    /// Stops the server and waits for it.
    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().unwrap();
        }
    }
}

/// One client connection speaking newline-delimited JSON.
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next_id: u64,
}

impl Client {
    /// Connects to `path`.
    pub fn connect(path: &Path) -> Client {
        let stream = UnixStream::connect(path).unwrap();
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        Client {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
            next_id: 1,
        }
    }

    /// Writes bytes exactly as given.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
    }

    /// Writes `line` and a newline.
    pub fn send_line(&mut self, line: &str) {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        self.send_raw(&bytes);
    }

    /// Reads one line (without its newline); panics on timeout or EOF.
    pub fn read_line(&mut self) -> String {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).unwrap();
        assert!(n > 0, "server closed the connection");
        assert!(line.ends_with('\n'), "unterminated reply: {line}");
        line.pop();
        line
    }

    /// Reads one line and parses it.
    pub fn read_json(&mut self) -> Value {
        let line = self.read_line();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("reply is not JSON ({e}): {line}"))
    }

    /// Sends a raw request line and returns the parsed reply line.
    pub fn request(&mut self, line: &str) -> Value {
        self.send_line(line);
        self.read_json()
    }

    /// Calls `method` with `params` (any JSON; `Value::Null` leaves `params` out) under a fresh
    /// numeric id; returns the whole reply after checking its envelope and id.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut request = json!({"jsonrpc": "2.0", "method": method, "id": id});
        if !params.is_null() {
            request["params"] = params;
        }
        let reply = self.request(&request.to_string());
        assert_eq!(reply["jsonrpc"], "2.0", "{reply}");
        assert_eq!(reply["id"], id, "{reply}");
        reply
    }

    /// Calls `method` like [`Client::call`], but `None` when the connection broke (the server
    /// was killed) instead of a panic.
    pub fn try_call(&mut self, method: &str, params: Value) -> Option<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let mut request = json!({"jsonrpc": "2.0", "method": method, "id": id});
        if !params.is_null() {
            request["params"] = params;
        }
        let mut bytes = request.to_string().into_bytes();
        bytes.push(b'\n');
        self.writer.write_all(&bytes).ok()?;
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(n) if n > 0 && line.ends_with('\n') => {}
            _ => return None,
        }
        let reply: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(reply["id"], id, "{reply}");
        Some(reply)
    }

    /// `(world_hash, seq)` from `goxel.get_status`.
    pub fn status(&mut self) -> (String, u64) {
        let s = self.result("goxel.get_status", Value::Null);
        (
            s["world_hash"].as_str().unwrap().to_string(),
            s["seq"].as_u64().unwrap(),
        )
    }

    /// The colour at `(x, y, z)`, `None` where there is no voxel.
    pub fn voxel(&mut self, (x, y, z): (i32, i32, i32)) -> Option<[u8; 4]> {
        let r = self.result("goxel.get_voxel", json!({"x": x, "y": y, "z": z}));
        if r["exists"].as_bool().unwrap() {
            Some(serde_json::from_value(r["color"].clone()).unwrap())
        } else {
            None
        }
    }

    /// Calls `method` and returns its `result`; panics on an error reply.
    pub fn result(&mut self, method: &str, params: Value) -> Value {
        let reply = self.call(method, params.clone());
        assert!(
            reply.get("error").is_none(),
            "{method} {params} failed: {reply}"
        );
        reply["result"].clone()
    }

    /// Calls `method` and returns its `error` object; panics on a success reply.
    pub fn error(&mut self, method: &str, params: Value) -> Value {
        let reply = self.call(method, params.clone());
        assert!(
            reply.get("result").is_none(),
            "{method} {params} should fail: {reply}"
        );
        reply["error"].clone()
    }

    /// Reads every line until the server closes the connection; panics if it stays open past
    /// the read timeout.
    pub fn read_to_eof(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) => return lines,
                Ok(_) => lines.push(line.trim_end_matches('\n').to_string()),
                Err(e) => panic!("reading to EOF: {e}; got {lines:?}"),
            }
        }
    }

    /// Shuts the write side so the server sees EOF.
    pub fn shutdown_write(&mut self) {
        self.writer.shutdown(std::net::Shutdown::Write).unwrap();
    }

    /// Sets how long a read may block (a short one proves silence).
    pub fn set_read_timeout(&mut self, timeout: Duration) {
        self.writer.set_read_timeout(Some(timeout)).unwrap();
    }
}

/// Polls `condition` until it holds or `deadline` passes; returns whether it held.
pub fn eventually(deadline: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
