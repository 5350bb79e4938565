//! Change notifications under load: how long after an edit its `goxel.world_changed` reaches a
//! subscriber [target: p99 ≤ 5 ms], and sequential `add_voxel` with 1,000 subscribers that
//! all read [target: ≥ 70 % of the rate with none].
//!
//! `cargo bench --bench live_notifications` (release). `VOXELD_BENCH_EDITS` sets the edits per
//! measurement (default 5000), `VOXELD_BENCH_SUBSCRIBERS` the subscriber count (1000).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use voxeld::config::Config;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A blocking line client.
struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    line: String,
}

impl Client {
    fn connect(path: &std::path::Path) -> Client {
        let s = UnixStream::connect(path).unwrap();
        Client {
            reader: BufReader::new(s.try_clone().unwrap()),
            writer: s,
            line: String::new(),
        }
    }

    fn send(&mut self, line: &str) {
        self.writer.write_all(line.as_bytes()).unwrap();
        self.writer.write_all(b"\n").unwrap();
    }

    fn recv(&mut self) -> &str {
        self.line.clear();
        self.reader.read_line(&mut self.line).unwrap();
        &self.line
    }
}

fn add_voxel(i: usize) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{i},"method":"goxel.add_voxel","params":{{"x":{},"y":{},"z":0,"color":[{},1,2,255]}}}}"#,
        i % 500,
        i / 500 % 500,
        i % 256
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn start(dir: &std::path::Path) -> voxeld::server::RunningServer {
    let mut config = Config::default();
    config.socket.path = dir.join("s.sock");
    config.data_dir = dir.join("data");
    config.socket.max_connections = 2048;
    voxeld::server::spawn(config).unwrap()
}

/// Edit → notification on one subscriber.
fn latency(edits: usize) {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let mut watcher = Client::connect(&server.socket);
    watcher.send(r#"{"jsonrpc":"2.0","id":0,"method":"goxel.subscribe","params":{"events":["world_changed"]}}"#);
    watcher.recv();
    let mut editor = Client::connect(&server.socket);
    let mut notified = Vec::with_capacity(edits);
    let mut replied = Vec::with_capacity(edits);
    for i in 0..edits {
        let t0 = Instant::now();
        editor.send(&add_voxel(i));
        editor.recv();
        replied.push(t0.elapsed());
        let note = watcher.recv();
        assert!(note.contains("goxel.world_changed"), "{note}");
        notified.push(t0.elapsed());
    }
    notified.sort();
    replied.sort();
    println!(
        "latency, {edits} sequential add_voxel, 1 subscriber: reply p50 {:?} p99 {:?}; notification (from request sent) p50 {:?} p99 {:?} max {:?}",
        percentile(&replied, 0.5),
        percentile(&replied, 0.99),
        percentile(&notified, 0.5),
        percentile(&notified, 0.99),
        notified[notified.len() - 1],
    );
    server.stop().unwrap();
}

/// Sequential add_voxel per second with `subscribers` reading subscribers, and the p99 of
/// edit → notification on one more subscriber among them.
fn rate(edits: usize, subscribers: usize) -> (f64, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let mut watcher = Client::connect(&server.socket);
    watcher.send(r#"{"jsonrpc":"2.0","id":0,"method":"goxel.subscribe","params":{"events":["world_changed"]}}"#);
    watcher.recv();
    let mut subs = Vec::new();
    for _ in 0..subscribers {
        let mut c = Client::connect(&server.socket);
        c.send(r#"{"jsonrpc":"2.0","id":0,"method":"goxel.subscribe","params":{"events":["world_changed"]}}"#);
        c.recv();
        subs.push(c.writer);
    }
    // One thread drains every subscriber, as a fan-out client would.
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let reader = std::thread::spawn(move || {
        let mut poll = mio::Poll::new().unwrap();
        let mut streams: Vec<mio::net::UnixStream> = subs
            .into_iter()
            .map(|s| {
                s.set_nonblocking(true).unwrap();
                mio::net::UnixStream::from_std(s)
            })
            .collect();
        for (i, s) in streams.iter_mut().enumerate() {
            poll.registry()
                .register(s, mio::Token(i), mio::Interest::READABLE)
                .unwrap();
        }
        let mut events = mio::Events::with_capacity(1024);
        let mut buf = vec![0u8; 1 << 16];
        let mut bytes = 0usize;
        while !stop2.load(Ordering::Relaxed) {
            let _ = poll.poll(&mut events, Some(Duration::from_millis(50)));
            for e in events.iter() {
                let s = &mut streams[e.token().0];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    bytes += n;
                }
            }
        }
        bytes
    });
    let mut editor = Client::connect(&server.socket);
    for i in 0..200 {
        editor.send(&add_voxel(i));
        editor.recv();
    }
    let t0 = Instant::now();
    for i in 0..edits {
        editor.send(&add_voxel(i + 200));
        editor.recv();
    }
    let per_second = edits as f64 / t0.elapsed().as_secs_f64();
    // Latency: wait for each edit's notification before the next edit.
    watcher.send(r#"{"jsonrpc":"2.0","id":99,"method":"ping"}"#);
    while !watcher.recv().contains(r#""id":99"#) {}
    let mut latencies = Vec::new();
    for i in 0..500 {
        let t = Instant::now();
        editor.send(&add_voxel(i + 200 + edits));
        editor.recv();
        let note = watcher.recv();
        assert!(note.contains("goxel.world_changed"), "{note}");
        latencies.push(t.elapsed());
    }
    latencies.sort();
    stop.store(true, Ordering::Relaxed);
    let bytes = reader.join().unwrap();
    if subscribers > 0 {
        assert!(bytes > 0, "the subscribers were notified");
    }
    server.stop().unwrap();
    (per_second, percentile(&latencies, 0.99))
}

fn main() {
    let edits = env("VOXELD_BENCH_EDITS", 5000);
    let subscribers = env("VOXELD_BENCH_SUBSCRIBERS", 1000);
    latency(edits);
    let mut base = Vec::new();
    let mut loaded = Vec::new();
    let mut p99 = Vec::new();
    for _ in 0..3 {
        base.push(rate(edits, 0).0);
        let (r, l) = rate(edits, subscribers);
        loaded.push(r);
        p99.push(l);
    }
    base.sort_by(f64::total_cmp);
    loaded.sort_by(f64::total_cmp);
    p99.sort();
    println!(
        "sequential add_voxel: no subscribers {:.0}/s, {subscribers} subscribers {:.0}/s (medians of 3): {:.0} % [target ≥ 70 %]; runs {base:.0?} / {loaded:.0?}",
        base[1],
        loaded[1],
        100.0 * loaded[1] / base[1]
    );
    println!(
        "edit → notification p99 with {subscribers} subscribers: {:?} (median of 3 runs: {p99:?}) [target ≤ 5 ms]",
        p99[1]
    );
}
