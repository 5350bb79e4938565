//! `goxel.execute_script` over the real socket, driven by lean Rust clients.
//!
//! The Python client (`tools/bench_scripts.py`) spends ≈ 35 µs of CPU per request, which on a
//! two-core machine is CPU the server does not get; these clients are plain blocking
//! `UnixStream`s, so the figures are closer to what the server itself can do.
//!
//! Run with `cargo bench --bench socket_scripts`. It starts a server in-process on a temporary
//! directory with the default configuration, or, with `VOXELD_SOCKET=/path/to.sock`, drives a
//! server that is already running. Scenarios (issue targets in brackets):
//!
//! - `seq-1plus1`: `1+1` sequentially on one connection [≥ 9 k scripts/s]
//! - `conc-1plus1`: `1+1` from 4 connections at once, one thread each [≥ 15 k scripts/s]
//! - `seq-cube`: the seed's 5×5×5 cube script sequentially [≥ 5 k scripts/s]
//!
//! Each prints the median of 5 rounds and the rounds themselves.

use std::path::{Path, PathBuf};
use std::time::Instant;

/// The seed's 5×5×5 cube script, as shipped in `assets/scripts/`.
const CUBE: &str = include_str!("../assets/scripts/create_cube.js");

const ROUNDS: usize = 5;

#[path = "../tests/support/lean_client.rs"]
mod socket_client;

/// One connection that runs scripts under increasing ids.
struct Client {
    inner: socket_client::Client,
    next_id: u64,
}

impl Client {
    fn connect(path: &Path) -> Client {
        Client {
            inner: socket_client::Client::connect(path),
            next_id: 0,
        }
    }

    /// Runs `script_json` (a JSON string literal) and checks the reply.
    fn script(&mut self, script_json: &str) {
        self.next_id += 1;
        let request = format!(
            "{{\"jsonrpc\":\"2.0\",\"method\":\"goxel.execute_script\",\"params\":{{\"script\":{script_json}}},\"id\":{}}}",
            self.next_id
        );
        let id = format!("\"id\":{}}}", self.next_id);
        let line = self.inner.call(&request);
        assert!(
            line.contains("\"success\":true") && line.trim_end().ends_with(&id),
            "bad reply: {line}"
        );
    }
}

/// Scripts per second for `clients` connections running `per_client` scripts each.
fn rate(socket: &Path, source: &str, clients: usize, per_client: usize) -> f64 {
    let script_json = serde_json::to_string(source).expect("encode script");
    let mut connections: Vec<Client> = (0..clients).map(|_| Client::connect(socket)).collect();
    for c in &mut connections {
        c.script(&script_json); // connected and warm before the clock starts
    }
    let barrier = std::sync::Barrier::new(clients + 1);
    let start = std::thread::scope(|s| {
        for mut c in connections {
            let (barrier, script_json) = (&barrier, &script_json);
            s.spawn(move || {
                barrier.wait();
                for _ in 0..per_client {
                    c.script(script_json);
                }
            });
        }
        barrier.wait();
        Instant::now()
    });
    (clients * per_client) as f64 / start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument selects scenarios by name.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let (_dir, server, socket) = match std::env::var_os("VOXELD_SOCKET") {
        Some(path) => (None, None, PathBuf::from(path)),
        None => {
            let dir = tempfile::tempdir().expect("temporary directory");
            let mut config = voxeld::config::Config::default();
            config.socket.path = dir.path().join("bench.sock");
            config.data_dir = dir.path().join("data");
            let server = voxeld::server::spawn(config).expect("start the server");
            let socket = server.socket.clone();
            (Some(dir), Some(server), socket)
        }
    };
    println!("{:<12} {:>12}  rounds", "scenario", "median");
    for (name, source, clients, per_client) in [
        ("seq-1plus1", "1+1", 1, 20_000),
        ("conc-1plus1", "1+1", 4, 5_000),
        ("seq-cube", CUBE, 1, 5_000),
    ] {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let rounds: Vec<f64> = (0..ROUNDS)
            .map(|_| rate(&socket, source, clients, per_client))
            .collect();
        let shown: Vec<String> = rounds.iter().map(|r| format!("{r:.0}")).collect();
        println!(
            "{name:<12} {:>10.0}/s  {}",
            median(rounds.clone()),
            shown.join(", ")
        );
    }
    if let Some(server) = server {
        server.stop().expect("stop the server");
    }
}
