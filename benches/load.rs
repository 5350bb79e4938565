//! The load tool (issue 12): N concurrent connections on the loopback socket with a mix of
//! reads, edits and scripts, bounded in time and count; prints throughput, p50/p99/p999
//! latency, errors, and the server's RSS and open descriptors (from `/proc/PID`) before and
//! after. Exits with status 1 if any request failed.
//!
//! ```text
//! cargo bench --bench load -- [--connections N] [--seconds S (10)] [--requests N]
//!     [--mix READS,EDITS,SCRIPTS] [--warmup-seconds S] [--lifetimes N]
//!     [--socket PATH --pid PID]
//! ```
//!
//! Without `--socket` it starts its own `voxeld serve` (the release binary) in a temporary
//! directory, with `socket.max_connections` and `scripts.queue_capacity` raised to fit (one
//! request in flight per connection); with `--socket` (and `--pid`, for the `/proc` figures) it drives a server that is already running. A warm-up run comes first so
//! "before" is the steady state, not the empty process. `--lifetimes N` then runs N connection
//! lifetimes (connect, one request, close) from 4 threads. The traffic is
//! `tests/support/load.rs`, the same as the soak test's.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::time::Duration;

use support::child::{ChildServer, bare_serve_command};
use support::load::{self, LoadSpec, Mix};
use support::procfs::{fd_count, rss_bytes};

struct Args {
    connections: usize,
    /// `None`: 10 s, or 600 s when `--requests` bounds the run.
    seconds: Option<f64>,
    requests: u64,
    mix: Mix,
    warmup_seconds: f64,
    lifetimes: u64,
    socket: Option<PathBuf>,
    pid: Option<u32>,
}

fn parse_args() -> Args {
    let mut args = Args {
        connections: 100,
        seconds: None,
        requests: u64::MAX,
        mix: Mix::default(),
        warmup_seconds: 2.0,
        lifetimes: 0,
        socket: None,
        pid: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--connections" => args.connections = value().parse().expect("--connections N"),
            "--seconds" => args.seconds = Some(value().parse().expect("--seconds S")),
            "--requests" => args.requests = value().parse().expect("--requests N"),
            "--warmup-seconds" => {
                args.warmup_seconds = value().parse().expect("--warmup-seconds S")
            }
            "--lifetimes" => args.lifetimes = value().parse().expect("--lifetimes N"),
            "--socket" => args.socket = Some(PathBuf::from(value())),
            "--pid" => args.pid = Some(value().parse().expect("--pid PID")),
            "--mix" => {
                let parts: Vec<u32> = value()
                    .split(',')
                    .map(|p| p.trim().parse().expect("--mix READS,EDITS,SCRIPTS"))
                    .collect();
                assert_eq!(parts.len(), 3, "--mix READS,EDITS,SCRIPTS");
                args.mix = Mix {
                    reads: parts[0],
                    edits: parts[1],
                    scripts: parts[2],
                };
            }
            // `cargo bench` passes `--bench`.
            "--bench" => {}
            other => panic!("unknown argument {other}; see benches/load.rs"),
        }
    }
    args
}

/// `rss MiB, fds N` of `pid`, and the raw figures.
fn proc_figures(pid: Option<u32>) -> (String, Option<(u64, usize)>) {
    match pid.and_then(|p| Some((rss_bytes(p)?, fd_count(p)?))) {
        Some((rss, fds)) => (
            format!("rss {:.2} MiB, fds {fds}", rss as f64 / (1 << 20) as f64),
            Some((rss, fds)),
        ),
        None => ("rss and fds unknown (no --pid)".into(), None),
    }
}

fn main() {
    let args = parse_args();
    let dir = tempfile::tempdir().expect("temporary directory");
    let (server, socket, pid) = match &args.socket {
        Some(socket) => (None, socket.clone(), args.pid),
        None => {
            let config = dir.path().join("server.ron");
            // Room for every connection, and for a script from each at once: the default
            // queue (100) answers a burst beyond it "worker pool exhausted", by design.
            let room = args.connections + 64;
            let text =
                format!("(socket: (max_connections: {room}), scripts: (queue_capacity: {room}))\n");
            std::fs::write(&config, text).expect("write the config");
            let mut command = bare_serve_command(dir.path());
            command.arg("--config").arg(&config);
            let server = ChildServer::spawn(command, dir.path(), None);
            let (socket, pid) = (server.socket.clone(), server.pid());
            (Some(server), socket, Some(pid))
        }
    };
    println!(
        "server: {} (pid {}), {} connections, mix {:?}",
        socket.display(),
        pid.map_or("?".into(), |p| p.to_string()),
        args.connections,
        args.mix
    );
    let spec = |seconds: f64, requests: u64| LoadSpec {
        socket: socket.clone(),
        connections: args.connections,
        duration: Duration::from_secs_f64(seconds),
        max_requests: requests,
        mix: args.mix,
    };
    let mut errors = 0;
    if args.warmup_seconds > 0.0 {
        let warm = load::run(&spec(args.warmup_seconds, u64::MAX));
        println!("warm-up: {}", warm.summary());
        errors += warm.errors;
        // Closed connections leave the server's table at its next loop iteration.
        std::thread::sleep(Duration::from_millis(300));
    }
    let (text, before) = proc_figures(pid);
    println!("before: {text}");
    let seconds = match (args.seconds, args.requests) {
        (Some(s), _) => s,
        (None, u64::MAX) => 10.0,
        (None, _) => 600.0,
    };
    let report = load::run(&spec(seconds, args.requests));
    println!("load: {}", report.summary());
    errors += report.errors;
    // Closed connections leave the server's table at its next loop iteration.
    std::thread::sleep(Duration::from_millis(300));
    let (text, after) = proc_figures(pid);
    match (before, after) {
        (Some((rss0, fds0)), Some((rss1, fds1))) => println!(
            "after: {text} (rss {:+.0} KiB, fds {:+})",
            (rss1 as f64 - rss0 as f64) / 1024.0,
            fds1 as i64 - fds0 as i64
        ),
        _ => println!("after: {text}"),
    }
    if args.lifetimes > 0 {
        let report = load::lifetimes(&socket, args.lifetimes, 4);
        std::thread::sleep(Duration::from_millis(300));
        let (text, _) = proc_figures(pid);
        println!(
            "lifetimes: {} in {:.2} s ({:.0}/s), {} errors{}; after: {text}",
            report.lifetimes,
            report.elapsed.as_secs_f64(),
            report.lifetimes as f64 / report.elapsed.as_secs_f64(),
            report.errors,
            report
                .first_error
                .as_ref()
                .map_or(String::new(), |e| format!(" (first: {e})"))
        );
        errors += report.errors;
    }
    drop(server);
    if errors > 0 {
        eprintln!("{errors} errors");
        std::process::exit(1);
    }
}
