//! What `voxeld mcp` adds to a request [target: an MCP `tools/call` of `add_voxel` costs ≤ 1 ms
//! more than the same `goxel.add_voxel` over the socket].
//!
//! Run with `cargo bench --bench mcp`: an in-process server (journal off, so both paths measure
//! the same world work) on a temporary directory; `add_voxel/socket` sends the JSON-RPC line
//! over the socket, `add_voxel/mcp` sends a `tools/call` line to a `voxeld mcp --socket`
//! child over its stdin and reads the result from its stdout, as an MCP client does. The
//! difference of the two medians is the bridge's cost.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "../tests/support/lean_client.rs"]
mod socket_client;

/// An MCP client speaking newline-delimited JSON-RPC to a `voxeld mcp` child.
struct McpClient {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    line: String,
}

impl McpClient {
    fn start(socket: &std::path::Path) -> McpClient {
        let mut child = Command::new(env!("CARGO_BIN_EXE_voxeld"))
            .arg("mcp")
            .arg("--socket")
            .arg(socket)
            .env("VOXELD_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start voxeld mcp");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut client = McpClient {
            child,
            stdin,
            stdout,
            line: String::new(),
        };
        client.request(
            r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}"#,
        );
        client.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        client
    }

    fn send(&mut self, line: &str) {
        self.stdin.write_all(line.as_bytes()).expect("send");
        self.stdin.write_all(b"\n").expect("send");
        self.stdin.flush().expect("flush");
    }

    fn request(&mut self, line: &str) -> &str {
        self.send(line);
        self.line.clear();
        self.stdout.read_line(&mut self.line).expect("reply");
        assert!(
            self.line.contains("\"result\"") && !self.line.contains("\"isError\":true"),
            "failed: {}",
            self.line
        );
        &self.line
    }
}

impl Drop for McpClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn add_voxel(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut config = voxeld::config::Config::default();
    config.socket.path = dir.path().join("bench.sock");
    config.data_dir = dir.path().join("data");
    config.journal.enabled = false;
    let server = voxeld::server::spawn(config).expect("start the server");

    let mut g = c.benchmark_group("add_voxel");
    let mut socket = socket_client::Client::connect(&server.socket);
    let mut n = 0u64;
    g.bench_function("socket", |b| {
        b.iter(|| {
            n += 1;
            let x = n % 1000;
            socket
                .call(&format!(
                    r#"{{"jsonrpc":"2.0","method":"goxel.add_voxel","params":{{"x":{x},"y":1,"z":2,"color":[200,30,30,255]}},"id":{n}}}"#
                ))
                .len()
        })
    });
    let mut mcp = McpClient::start(&server.socket);
    g.bench_function("mcp", |b| {
        b.iter(|| {
            n += 1;
            let x = n % 1000;
            mcp.request(&format!(
                r#"{{"jsonrpc":"2.0","id":{n},"method":"tools/call","params":{{"name":"add_voxel","arguments":{{"x":{x},"y":1,"z":2,"color":[200,30,30,255]}}}}}}"#
            ))
            .len()
        })
    });
    g.finish();
    drop(mcp);
    server.stop().expect("stop the server");
}

criterion_group!(benches, add_voxel);
criterion_main!(benches);
