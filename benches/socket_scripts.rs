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
//! Each prints the median of 5 rounds and the rounds themselves. Then the round trip of one
//! `goxel.run_script` of a library script (two parameters, a few numbers back), sequentially
//! on one connection, as latency quantiles over every request:
//!
//! - `lib-cached`: the same run again and again, answered from the result cache
//!   [issue 14: ≤ 50 µs server time];
//! - `lib-uncached`: the same script with a new `seed` each time, so every run is a miss and
//!   runs on a worker (plan, job, QuickJS, commit of nothing, reply).
//!
//! The two alternate round by round, so both see the same machine. These need the in-process
//! server (its script directory holds the script); with `VOXELD_SOCKET` they are skipped.

use std::path::{Path, PathBuf};
use std::time::Instant;

/// The seed's 5×5×5 cube script, as shipped in `assets/scripts/`.
const CUBE: &str = include_str!("../assets/scripts/create_cube.js");

const ROUNDS: usize = 5;

/// The library script of the `lib-*` scenarios (as `benches/script_library.rs`' `small`).
const LIBRARY_SCRIPT: &str = "// Sums.\n// @param a int = 1\n// @param b number = 2\n\
                              ({ sum: args.a + args.b, count: goxel.getVoxelCount() })\n";

/// Requests per round of each `lib-*` scenario.
const LIBRARY_REQUESTS: usize = 4_000;

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

/// The `q` quantile (0..1) of sorted `v`.
fn quantile(v: &[f64], q: f64) -> f64 {
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// Round trips, in µs, of `requests` sequential `run_script` calls of `bench_sum` on `c`: with
/// `cached`, the same run each time (after one that fills the cache); else a new seed each
/// time. Checks that each reply is what the scenario says it is.
fn library_round(c: &mut Client, cached: bool, requests: usize) -> Vec<f64> {
    let request = |c: &mut Client| {
        c.next_id += 1;
        let seed = if cached {
            String::new()
        } else {
            format!(",\"seed\":{}", c.next_id)
        };
        let line = format!(
            "{{\"jsonrpc\":\"2.0\",\"method\":\"goxel.run_script\",\"params\":{{\"name\":\"bench_sum\",\"args\":{{\"a\":5}}{seed}}},\"id\":{}}}",
            c.next_id
        );
        let start = Instant::now();
        let reply = c.inner.call(&line);
        let took = start.elapsed();
        let want = if cached {
            "\"cached\":true"
        } else {
            "\"cached\":false"
        };
        assert!(
            reply.contains("\"success\":true") && reply.contains(want),
            "bad reply: {reply}"
        );
        took.as_secs_f64() * 1e6
    };
    if cached {
        // The run that fills the cache (a hit if an earlier round filled it already).
        c.next_id += 1;
        let line = format!(
            "{{\"jsonrpc\":\"2.0\",\"method\":\"goxel.run_script\",\"params\":{{\"name\":\"bench_sum\",\"args\":{{\"a\":5}}}},\"id\":{}}}",
            c.next_id
        );
        c.inner.call(&line);
    }
    (0..requests).map(|_| request(c)).collect()
}

/// The `lib-*` scenarios: `ROUNDS` rounds of each, alternating; prints median and p99 over all
/// requests and the median of each round.
fn library_latency(socket: &Path, filter: &[String]) {
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let scenarios: Vec<(&str, bool)> = [("lib-cached", true), ("lib-uncached", false)]
        .into_iter()
        .filter(|(name, _)| wanted(name))
        .collect();
    if scenarios.is_empty() {
        return;
    }
    let mut c = Client::connect(socket);
    // Warm both paths (worker, code cache, result cache) before measuring.
    for &(_, cached) in &scenarios {
        library_round(&mut c, cached, 200);
    }
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); scenarios.len()];
    let mut rounds: Vec<Vec<f64>> = vec![Vec::new(); scenarios.len()];
    for _ in 0..ROUNDS {
        for (i, &(_, cached)) in scenarios.iter().enumerate() {
            let round = library_round(&mut c, cached, LIBRARY_REQUESTS);
            rounds[i].push(median(round.clone()));
            samples[i].extend(round);
        }
    }
    println!(
        "{:<12} {:>10} {:>10}  round medians (µs), {} requests per round",
        "scenario", "median", "p99", LIBRARY_REQUESTS
    );
    for (i, &(name, _)) in scenarios.iter().enumerate() {
        let mut all = std::mem::take(&mut samples[i]);
        all.sort_by(f64::total_cmp);
        let shown: Vec<String> = rounds[i].iter().map(|r| format!("{r:.1}")).collect();
        println!(
            "{name:<12} {:>8.1}µs {:>8.1}µs  {}",
            quantile(&all, 0.5),
            quantile(&all, 0.99),
            shown.join(", ")
        );
    }
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
            let scripts = dir.path().join("scripts");
            std::fs::create_dir(&scripts).expect("script directory");
            std::fs::write(scripts.join("bench_sum.js"), LIBRARY_SCRIPT).expect("library script");
            let mut config = voxeld::config::Config::default();
            config.socket.path = dir.path().join("bench.sock");
            config.data_dir = dir.path().join("data");
            config.scripts.script_dirs = vec![scripts];
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
        library_latency(&socket, &filter);
        server.stop().expect("stop the server");
    } else {
        println!("lib-cached, lib-uncached: skipped (they need the in-process server's library)");
    }
}
