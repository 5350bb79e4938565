//! The worker pool end to end: concurrency, the bounded priority queue, statistics, shutdown.

mod script_support;
use script_support as support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use support::{MemHost, job};
use voxeld::scripting::{PoolConfig, ScriptDone, ScriptError, ScriptPool, SubmitError};

const BUSY_200MS: &str = "const t = Date.now(); while (Date.now() - t < 200) {} 'done'";

fn pool(
    workers: usize,
    capacity: usize,
) -> (
    ScriptPool<MemHost>,
    flume::Receiver<ScriptDone<MemHost>>,
    Arc<AtomicUsize>,
) {
    let (tx, rx) = flume::unbounded();
    let wakes = Arc::new(AtomicUsize::new(0));
    let w = wakes.clone();
    let pool = ScriptPool::new(
        PoolConfig {
            workers,
            queue_capacity: capacity,
        },
        tx,
        Arc::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        }),
    );
    (pool, rx, wakes)
}

fn wait_busy(pool: &ScriptPool<MemHost>, n: usize) {
    let start = Instant::now();
    while pool.stats().busy < n {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "workers never got busy"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn cpu_heavy_scripts_run_in_parallel() {
    let (pool, rx, wakes) = pool(4, 100);
    let t0 = Instant::now();
    for i in 0..5 {
        pool.submit(job(i, BUSY_200MS)).unwrap();
    }
    let mut spans = Vec::new();
    for _ in 0..5 {
        let done = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        let end = Instant::now();
        let s = done.outcome.unwrap();
        assert_eq!(s.result, json!("done"));
        spans.push((end - s.duration, end));
    }
    let wall = t0.elapsed();
    // The first four overlap: each started before any of them ended.
    let first_four = &spans[..4];
    let latest_start = first_four.iter().map(|s| s.0).max().unwrap();
    let earliest_end = first_four.iter().map(|s| s.1).min().unwrap();
    assert!(latest_start < earliest_end, "scripts did not overlap");
    // Serial execution would take 1000 ms; four workers need two rounds (400 ms).
    assert!(wall < Duration::from_millis(800), "took {wall:?}");
    let stats = pool.stats();
    assert_eq!(stats.completed, 5);
    assert_eq!(stats.failed, 0);
    assert!(stats.latency_p50_ms >= 200.0, "{stats:?}");
    assert!(stats.latency_p99_ms >= stats.latency_p50_ms);
    // The wake hook runs after each send; joining the workers makes all five visible.
    pool.shutdown();
    assert_eq!(wakes.load(Ordering::SeqCst), 5);
}

#[test]
fn full_queue_refuses_exactly_the_excess_at_once() {
    let (pool, rx, _) = pool(4, 100);
    for i in 0..4 {
        let mut j = job(1000 + i, "while(true){}");
        j.timeout = Duration::from_secs(30);
        pool.submit(j).unwrap();
    }
    wait_busy(&pool, 4);
    let start = Instant::now();
    let results: Vec<_> = (0..150).map(|i| pool.submit(job(i, "1"))).collect();
    assert!(
        start.elapsed() < Duration::from_millis(100),
        "submit blocked"
    );
    for (i, r) in results.iter().enumerate() {
        if i < 100 {
            assert_eq!(r, &Ok(()), "job {i}");
        } else {
            assert_eq!(r, &Err(SubmitError::Exhausted { capacity: 100 }), "job {i}");
        }
    }
    assert_eq!(
        SubmitError::Exhausted { capacity: 100 }.to_string(),
        "worker pool exhausted (100 scripts queued)"
    );
    let stats = pool.stats();
    assert_eq!((stats.busy, stats.queued), (4, 100));

    // Shutdown interrupts the running scripts and fails the queued ones.
    let t = Instant::now();
    pool.shutdown();
    assert!(t.elapsed() < Duration::from_secs(1));
    let done: Vec<_> = rx.drain().collect();
    assert_eq!(done.len(), 104);
    assert!(
        done.iter()
            .all(|d| matches!(d.outcome.as_ref().unwrap_err().error, ScriptError::ShutDown))
    );
}

#[test]
fn higher_priority_runs_first_fifo_within_equal() {
    let (pool, rx, _) = pool(1, 100);
    pool.submit(job(99, BUSY_200MS)).unwrap();
    wait_busy(&pool, 1);
    for (ticket, priority) in [(1, 1), (2, 5), (3, 3), (4, 5), (5, 0), (6, 3)] {
        let mut j = job(ticket, "0");
        j.priority = priority;
        pool.submit(j).unwrap();
    }
    let order: Vec<u64> = (0..7)
        .map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap().ticket)
        .collect();
    assert_eq!(order, [99, 2, 4, 3, 6, 1, 5]);
}

#[test]
fn timeout_through_the_pool_leaves_the_worker_healthy() {
    let (pool, rx, _) = pool(1, 10);
    let mut j = job(1, "while(true){}");
    j.timeout = Duration::from_millis(200);
    let start = Instant::now();
    pool.submit(j).unwrap();
    pool.submit(job(2, "goxel.addVoxel(0,0,0,[1,2,3]); 6*7"))
        .unwrap();
    let first = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        start.elapsed() < Duration::from_millis(250),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        first.outcome.unwrap_err().error,
        ScriptError::Timeout { timeout_ms: 200 }
    );
    let second = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(second.ticket, 2);
    assert_eq!(second.outcome.unwrap().result, json!(42));
    assert_eq!(second.host.voxels.len(), 1);
    let stats = pool.stats();
    assert_eq!((stats.completed, stats.failed, stats.timed_out), (1, 1, 1));
}

#[test]
fn submit_after_shutdown_started_is_refused_and_drop_joins() {
    let (pool, rx, _) = pool(2, 10);
    for i in 0..3 {
        pool.submit(job(i, "1")).unwrap();
    }
    let got: Vec<_> = (0..3)
        .map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap())
        .collect();
    assert!(got.iter().all(|d| d.outcome.is_ok()));
    drop(pool);
    assert!(rx.try_recv().is_err());
}
