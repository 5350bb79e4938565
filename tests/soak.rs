//! A soak in miniature (issue 12): the real `voxeld` binary under the load tool's mixed traffic
//! (`tests/support/load.rs`: reads, edits, scripts on 64 connections) for several rounds, with
//! no error, and with its resident memory and open descriptors flat from the first round to the
//! last. CI runs 4 rounds of 3 s; `VOXELD_SOAK_SECONDS=60` makes each round a minute. The
//! issue's full-size targets are measured with the load tool (`cargo bench --bench load`,
//! README).

mod support;

use std::time::Duration;

use support::child::ChildServer;
use support::eventually;
use support::load::{self, LoadSpec, Mix};
use support::procfs::{fd_count, rss_bytes};

const ROUNDS: usize = 4;
/// Slack for allocator noise: the world is bounded (a 32×32×8 region), so real growth is a leak.
const RSS_SLACK: u64 = 4 << 20;

#[test]
fn a_server_under_mixed_load_keeps_its_memory_and_descriptors_flat() {
    let seconds: f64 = std::env::var("VOXELD_SOAK_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3.0);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.ron");
    std::fs::write(&config, "(scripts: (workers: 2))\n").unwrap();
    let server = ChildServer::start(dir.path(), &config);
    let pid = server.pid();
    let spec = LoadSpec {
        socket: server.socket.clone(),
        connections: 64,
        duration: Duration::from_secs_f64(seconds),
        max_requests: u64::MAX,
        mix: Mix::default(),
    };
    // Idle, with the start-up probe's connection closed.
    let mut idle_fds = fd_count(pid).unwrap();
    eventually(Duration::from_millis(500), || {
        idle_fds = fd_count(pid).unwrap();
        false
    });
    // Round 0 warms up (the world reaches its size, buffers their capacity); then flat.
    let mut figures = Vec::new();
    for round in 0..=ROUNDS {
        let report = load::run(&spec);
        eprintln!("round {round}: {}", report.summary());
        assert_eq!(report.errors, 0, "round {round}: {}", report.summary());
        assert!(report.replies > 100, "round {round}: {}", report.summary());
        // The clients are gone: the server's descriptors settle back to the idle count.
        let settled = eventually(Duration::from_secs(5), || {
            fd_count(pid).unwrap() <= idle_fds
        });
        let fds = fd_count(pid).unwrap();
        assert!(
            settled,
            "round {round}: {fds} descriptors, {idle_fds} when idle"
        );
        figures.push((rss_bytes(pid).unwrap(), fds));
    }
    eprintln!("idle fds {idle_fds}; (rss bytes, fds) after each round: {figures:?}");
    let (rss0, _) = figures[0];
    for (round, &(rss, _)) in figures.iter().enumerate() {
        assert!(
            rss <= rss0 + RSS_SLACK,
            "round {round}: rss grew from {rss0} to {rss} bytes"
        );
    }
}
