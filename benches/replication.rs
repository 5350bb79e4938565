//! Replication figures on a 3-node loopback NATS cluster with three voxeld nodes (release
//! build): the replicated `add_voxel` round trip on the leader, a follower's lag behind the
//! leader under a paced stream of edits, and fail-over (`kill -9` of the leader to the first
//! edit a new leader accepts) with the default lease TTL.
//!
//! `cargo bench --bench replication` (needs `nats-server`); `-- --requests N --rate R
//! --seconds S --failovers F --ttl-ms T` change the sizes (defaults 5000, 10000, 5, 3, 10000).

#[path = "../tests/support/replication.rs"]
mod harness;

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use harness::*;
use serde_json::json;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn options(ttl: u64) -> NodeOptions {
    NodeOptions {
        lease_ttl_ms: ttl,
        replicas: 3,
        snapshot_every: 0,
        keep: 0,
    }
}

/// Three nodes on a fresh 3-server cluster, `a` leading.
fn cluster(ttl: u64) -> (Vec<Nats>, Node, Node, Node) {
    let (nats, urls) = nats_cluster(3);
    let a = Node::start("a", &urls, &options(ttl));
    wait_for_leader(&[&a], START_TIMEOUT);
    let b = Node::start("b", &urls[1..], &options(ttl));
    let c = Node::start("c", &urls[2..], &options(ttl));
    wait_until_known(&b, "a");
    wait_until_known(&c, "a");
    (nats, a, b, c)
}

fn main() {
    let requests = arg("--requests", 5000) as usize;
    let rate = arg("--rate", 10_000);
    let seconds = arg("--seconds", 5);
    let failovers = arg("--failovers", 3);
    let ttl = arg("--ttl-ms", 10_000);

    // Round trip: one client, one add_voxel at a time, each acknowledged after the stream's ack.
    let (_nats, a, b, _c) = cluster(ttl);
    let mut client = a.client();
    for i in 0..200 {
        add(&mut client, i).unwrap();
    }
    let mut times = Vec::with_capacity(requests);
    for i in 0..requests {
        let t = Instant::now();
        let reply = add(&mut client, 200 + i).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(reply.get("error").is_none(), "{reply}");
    }
    times.sort_by(f64::total_cmp);
    println!(
        "replicated add_voxel round trip ({requests} sequential, 3 replicas): p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms",
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        percentile(&times, 0.99)
    );

    // Lag: edits paced at `rate`/s on one pipelining connection; a poller watches follower b.
    let base = a.status()["seq"].as_u64().unwrap();
    let total = (rate * seconds) as usize;
    let acked_at: Arc<std::sync::Mutex<Vec<Instant>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let mut writer = a.client();
    let reader = {
        let reader = writer.reader.get_ref().try_clone().unwrap();
        reader.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let acked_at = acked_at.clone();
        std::thread::spawn(move || {
            let mut reader = std::io::BufReader::new(reader);
            let mut line = String::new();
            for _ in 0..total {
                line.clear();
                reader.read_line(&mut line).unwrap();
                assert!(!line.contains("\"error\""), "{line}");
                acked_at.lock().unwrap().push(Instant::now());
            }
        })
    };
    let poller = {
        let socket = b.socket.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let mut c = Client::try_connect(&socket).unwrap();
            let mut seen = Vec::new();
            while !done.load(Ordering::SeqCst) {
                let s = c.result("goxel.get_status", json!({}));
                seen.push((Instant::now(), s["seq"].as_u64().unwrap()));
            }
            seen
        })
    };
    let started = Instant::now();
    let period = Duration::from_secs_f64(1.0 / rate as f64);
    let mut out = Vec::new();
    for i in 0..total {
        let due = started + period * i as u32;
        let now = Instant::now();
        if due > now {
            if !out.is_empty() {
                writer.writer.write_all(&out).unwrap();
                out.clear();
            }
            std::thread::sleep(due - now);
        }
        let ([x, y, z], color) = edit(100_000 + i);
        let line = json!({"jsonrpc": "2.0", "method": "goxel.add_voxel", "id": i,
            "params": {"x": x, "y": y, "z": z, "color": color}});
        out.extend_from_slice(line.to_string().as_bytes());
        out.push(b'\n');
    }
    writer.writer.write_all(&out).unwrap();
    reader.join().unwrap();
    let elapsed = started.elapsed();
    converge(&[&a, &b], base + total as u64);
    done.store(true, Ordering::SeqCst);
    let seen = poller.join().unwrap();
    let acked = acked_at.lock().unwrap();
    // For each edit: first time the follower's seq reached it, minus the leader's ack time.
    let mut lags = Vec::with_capacity(total);
    let mut j = 0;
    for (i, t_ack) in acked.iter().enumerate() {
        let seq = base + i as u64 + 1;
        while j < seen.len() && seen[j].1 < seq {
            j += 1;
        }
        if j == seen.len() {
            break;
        }
        lags.push(seen[j].0.saturating_duration_since(*t_ack).as_secs_f64() * 1e3);
    }
    lags.sort_by(f64::total_cmp);
    println!(
        "follower lag at {:.0} edits/s ({total} edits, {} status polls): p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        total as f64 / elapsed.as_secs_f64(),
        seen.len(),
        percentile(&lags, 0.5),
        percentile(&lags, 0.9),
        percentile(&lags, 0.99),
        lags[lags.len() - 1]
    );
    drop((a, b, _c, _nats));

    // Fail-over: kill -9 of the leader while a client edits, to the first edit a new leader takes.
    let mut failover_times = Vec::new();
    for _ in 0..failovers {
        let (_nats, mut a, b, c) = cluster(ttl);
        let mut client = a.client();
        for i in 0..100 {
            add(&mut client, i).unwrap();
        }
        a.kill9();
        let killed = Instant::now();
        let new = wait_for_leader(&[&b, &c], Duration::from_secs(60));
        let new = if new == 0 { &b } else { &c };
        let mut client = new.client();
        let reply = add(&mut client, 100).unwrap();
        assert!(reply.get("error").is_none(), "{reply}");
        failover_times.push(killed.elapsed().as_secs_f64());
    }
    failover_times.sort_by(f64::total_cmp);
    if !failover_times.is_empty() {
        println!(
            "fail-over with lease_ttl_ms {ttl} (kill -9 to first accepted edit, {failovers} runs): median {:.2} s, runs {:?}",
            percentile(&failover_times, 0.5),
            failover_times
                .iter()
                .map(|t| format!("{t:.2}"))
                .collect::<Vec<_>>()
        );
    }
}
