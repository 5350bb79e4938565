//! A bounded, mixed load over the real socket, shared by the load tool (`benches/load.rs`) and
//! the soak test (`tests/soak.rs`), so what CI asserts and what the README measures is the
//! same traffic.
//!
//! [`run`] drives N connections from one client thread (mio, one request in flight per
//! connection) with a deterministic mix of reads (`get_voxel`), edits (`add_voxel`) and
//! scripts (`execute_script`), all inside a 32×32×8 region so the world stays small; it stops
//! issuing at a deadline or a request count, whichever comes first, and waits (bounded) for
//! the replies still owed. Every reply's latency goes into a [`Histogram`]; an error reply, a
//! failed script, a broken connection or a reply that never came counts as an error.
//! [`lifetimes`] repeats connect → one request → close.

#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};

/// Relative weights of the request kinds.
#[derive(Clone, Copy, Debug)]
pub struct Mix {
    /// `goxel.get_voxel`.
    pub reads: u32,
    /// `goxel.add_voxel`.
    pub edits: u32,
    /// `goxel.execute_script` (a small script that edits one voxel).
    pub scripts: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            reads: 70,
            edits: 25,
            scripts: 5,
        }
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct LoadSpec {
    /// The server socket.
    pub socket: PathBuf,
    /// Connections open at once, each with one request in flight.
    pub connections: usize,
    /// No request is issued after this.
    pub duration: Duration,
    /// No request is issued after this many (over all connections).
    pub max_requests: u64,
    /// The request mix.
    pub mix: Mix,
}

/// What a run measured.
#[derive(Debug)]
pub struct LoadReport {
    /// Replies received.
    pub replies: u64,
    /// Error replies, failed scripts, broken connections, replies that never came.
    pub errors: u64,
    /// The first error, for the message.
    pub first_error: Option<String>,
    /// From the first request to the last reply.
    pub elapsed: Duration,
    /// Latency of every reply.
    pub latency: Histogram,
}

impl LoadReport {
    /// Replies per second.
    pub fn throughput(&self) -> f64 {
        self.replies as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// One line: throughput, latency quantiles and errors.
    pub fn summary(&self) -> String {
        let us = |q: f64| self.latency.quantile(q).as_secs_f64() * 1e6;
        format!(
            "{} replies in {:.2} s: {:.0} req/s; latency p50 {:.0} µs, p99 {:.0} µs, p999 {:.0} µs, max {:.0} µs; {} errors{}",
            self.replies,
            self.elapsed.as_secs_f64(),
            self.throughput(),
            us(0.50),
            us(0.99),
            us(0.999),
            self.latency.max().as_secs_f64() * 1e6,
            self.errors,
            match &self.first_error {
                Some(e) => format!(" (first: {e})"),
                None => String::new(),
            }
        )
    }
}

/// Runs `spec` to its end and reports.
pub fn run(spec: &LoadSpec) -> LoadReport {
    let mut report = LoadReport {
        replies: 0,
        errors: 0,
        first_error: None,
        elapsed: Duration::ZERO,
        latency: Histogram::default(),
    };
    let mut poll = Poll::new().expect("poll");
    let mut conns: Vec<Conn> = Vec::with_capacity(spec.connections);
    for i in 0..spec.connections {
        match std::os::unix::net::UnixStream::connect(&spec.socket) {
            Ok(stream) => {
                stream.set_nonblocking(true).expect("non-blocking");
                let mut stream = mio::net::UnixStream::from_std(stream);
                poll.registry()
                    .register(
                        &mut stream,
                        Token(i),
                        Interest::READABLE | Interest::WRITABLE,
                    )
                    .expect("register");
                conns.push(Conn::new(stream, i as u64));
            }
            Err(e) => report.error(format!("connect: {e}")),
        }
    }
    let start = Instant::now();
    let deadline = start + spec.duration;
    let mut issued = 0u64;
    let mut in_flight = 0usize;
    for conn in &mut conns {
        if issued < spec.max_requests {
            conn.issue(&spec.mix, &mut report);
            issued += 1;
            in_flight += 1;
        }
    }
    // Replies still owed after the deadline get this long.
    let drain_until = deadline + Duration::from_secs(30);
    let mut events = Events::with_capacity(1024);
    let mut lines = Vec::new();
    while in_flight > 0 && Instant::now() < drain_until {
        if let Err(e) = poll.poll(&mut events, Some(Duration::from_millis(100))) {
            assert_eq!(e.kind(), ErrorKind::Interrupted, "poll: {e}");
            continue;
        }
        for event in events.iter() {
            let conn = &mut conns[event.token().0];
            if !conn.alive {
                continue;
            }
            if event.is_writable() {
                conn.flush(&mut report);
            }
            if !event.is_readable() && !event.is_read_closed() {
                continue;
            }
            lines.clear();
            conn.receive(&mut lines);
            for line in &lines {
                let now = Instant::now();
                if let Some(sent) = conn.sent_at.take() {
                    report.latency.record(now - sent);
                }
                report.replies += 1;
                in_flight -= 1;
                if line.contains("\"error\"") || line.contains("\"success\":false") {
                    report.error(line.chars().take(300).collect());
                }
                if now < deadline && issued < spec.max_requests && conn.alive {
                    conn.issue(&spec.mix, &mut report);
                    issued += 1;
                    in_flight += 1;
                }
            }
            if !conn.alive && conn.sent_at.take().is_some() {
                in_flight -= 1;
                report.error("connection closed with a request in flight".into());
            }
        }
    }
    report.elapsed = start.elapsed();
    if in_flight > 0 {
        report.errors += in_flight as u64 - 1;
        report.error(format!("{in_flight} replies never came"));
    }
    report
}

/// What [`lifetimes`] measured.
#[derive(Debug)]
pub struct LifetimeReport {
    /// Connections that got their reply.
    pub lifetimes: u64,
    /// Connections that failed to connect, got an error, or no reply.
    pub errors: u64,
    /// The first error.
    pub first_error: Option<String>,
    /// Wall time.
    pub elapsed: Duration,
}

/// `total` connection lifetimes (connect, one `get_voxel`, close) from `threads` threads.
pub fn lifetimes(socket: &Path, total: u64, threads: u64) -> LifetimeReport {
    let start = Instant::now();
    let results: Vec<(u64, u64, Option<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let n = total / threads + u64::from(t < total % threads);
                s.spawn(move || {
                    let (mut ok, mut errors, mut first) = (0u64, 0u64, None);
                    for i in 0..n {
                        match one_lifetime(socket, i) {
                            Ok(()) => ok += 1,
                            Err(e) => {
                                errors += 1;
                                first.get_or_insert(e);
                            }
                        }
                    }
                    (ok, errors, first)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut report = LifetimeReport {
        lifetimes: 0,
        errors: 0,
        first_error: None,
        elapsed: start.elapsed(),
    };
    for (ok, errors, first) in results {
        report.lifetimes += ok;
        report.errors += errors;
        if report.first_error.is_none() {
            report.first_error = first;
        }
    }
    report
}

fn one_lifetime(socket: &Path, i: u64) -> Result<(), String> {
    let mut stream =
        std::os::unix::net::UnixStream::connect(socket).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "{{\"jsonrpc\":\"2.0\",\"method\":\"goxel.get_voxel\",\"params\":[{},0,0],\"id\":{i}}}\n",
        i % 32
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut reply = Vec::with_capacity(128);
    let mut buf = [0u8; 256];
    while !reply.contains(&b'\n') {
        match stream.read(&mut buf) {
            Ok(0) => return Err("closed before the reply".into()),
            Ok(n) => reply.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    let reply = String::from_utf8_lossy(&reply);
    if reply.contains("\"error\"") {
        return Err(reply.into_owned());
    }
    Ok(())
}

impl LoadReport {
    fn error(&mut self, message: String) {
        self.errors += 1;
        self.first_error.get_or_insert(message);
    }
}

/// One client connection of [`run`].
struct Conn {
    stream: mio::net::UnixStream,
    /// Which connection (seeds its requests).
    index: u64,
    /// Requests issued on it.
    count: u64,
    out: Vec<u8>,
    written: usize,
    input: Vec<u8>,
    /// When the request in flight was sent.
    sent_at: Option<Instant>,
    alive: bool,
}

impl Conn {
    fn new(stream: mio::net::UnixStream, index: u64) -> Conn {
        Conn {
            stream,
            index,
            count: 0,
            out: Vec::with_capacity(256),
            written: 0,
            input: Vec::with_capacity(4096),
            sent_at: None,
            alive: true,
        }
    }

    /// Queues and sends the next request of the mix.
    fn issue(&mut self, mix: &Mix, report: &mut LoadReport) {
        self.count += 1;
        let h = splitmix(self.index << 32 | self.count);
        let (x, y, z) = (h >> 8 & 31, h >> 16 & 31, h >> 24 & 7);
        let (r, g, b) = (h >> 32 & 255, h >> 40 & 255, h >> 48 & 255);
        let total = u64::from(mix.reads + mix.edits + mix.scripts).max(1);
        let pick = h % total;
        let id = self.count;
        self.out.clear();
        self.written = 0;
        let line = if pick < u64::from(mix.reads) {
            format!(
                "{{\"jsonrpc\":\"2.0\",\"method\":\"goxel.get_voxel\",\"params\":[{x},{y},{z}],\"id\":{id}}}\n"
            )
        } else if pick < u64::from(mix.reads + mix.edits) {
            format!(
                "{{\"jsonrpc\":\"2.0\",\"method\":\"goxel.add_voxel\",\"params\":[{x},{y},{z},{r},{g},{b},255],\"id\":{id}}}\n"
            )
        } else {
            format!(
                "{{\"jsonrpc\":\"2.0\",\"method\":\"goxel.execute_script\",\"params\":{{\"script\":\"goxel.addVoxel({x},{y},{z},[{r},{g},{b},255]); 6*7\"}},\"id\":{id}}}\n"
            )
        };
        self.out.extend_from_slice(line.as_bytes());
        self.sent_at = Some(Instant::now());
        self.flush(report);
    }

    fn flush(&mut self, report: &mut LoadReport) {
        while self.written < self.out.len() {
            match self.stream.write(&self.out[self.written..]) {
                Ok(n) => self.written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    report.error(format!("write: {e}"));
                    self.alive = false;
                    return;
                }
            }
        }
    }

    /// Reads what arrived; pushes the complete reply lines.
    fn receive(&mut self, lines: &mut Vec<String>) {
        let mut buf = [0u8; 16 << 10];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    self.alive = false;
                    break;
                }
                Ok(n) => self.input.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    self.alive = false;
                    break;
                }
            }
        }
        while let Some(end) = self.input.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.input.drain(..=end).collect();
            lines.push(String::from_utf8_lossy(&line[..end]).into_owned());
        }
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Latencies in log-linear buckets (64 per power of two: ≤ 1.6 % error), in nanoseconds.
#[derive(Clone, Debug, Default)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

const SUB_BUCKETS: u64 = 64;

impl Histogram {
    /// Adds one sample.
    pub fn record(&mut self, d: Duration) {
        let v = d.as_nanos().min(u128::from(u64::MAX)) as u64;
        let i = bucket(v);
        if self.counts.len() <= i {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
        self.total += 1;
        self.max = self.max.max(v);
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The largest sample.
    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.max)
    }

    /// The sample at quantile `q` (0..=1), to the bucket's lower bound; zero when empty.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.total == 0 {
            return Duration::ZERO;
        }
        let target = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= target {
                return Duration::from_nanos(lower_bound(i).min(self.max));
            }
        }
        self.max()
    }
}

fn bucket(v: u64) -> usize {
    if v < SUB_BUCKETS {
        return v as usize;
    }
    let power = 63 - u64::from(v.leading_zeros()); // ≥ 6
    let shift = power - 6;
    (SUB_BUCKETS + shift * SUB_BUCKETS + ((v >> shift) - SUB_BUCKETS)) as usize
}

fn lower_bound(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB_BUCKETS {
        return i;
    }
    let j = i - SUB_BUCKETS;
    (SUB_BUCKETS + j % SUB_BUCKETS) << (j / SUB_BUCKETS)
}
