//! `kill -9` of a real `voxeld serve` child while the journal rotates (#12 items 1 and 4):
//! snapshots every few records and small segments, so the kills land before, during and after
//! segment creation, snapshot writes, renames and deletions. After each kill the server starts,
//! ends at the last acknowledged seq (or one more: the request in flight), holds every
//! acknowledged edit, reports the hash `voxeld replay` computes from the data directory, and
//! keeps no segment its snapshot covers.
//!
//! The loops are bounded for CI; `VOXELD_KILL_LOOPS=N` runs N kills per test, and
//! `VOXELD_KILL_SEED=S` repeats a run (the seed is printed).

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::Client;
use support::child::{BIN, ChildServer};
use voxeld::journal::segments::{covered_count, list_segments};

const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Kills per test in CI.
const CI_LOOPS: u64 = 10;

fn loops() -> u64 {
    std::env::var("VOXELD_KILL_LOOPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CI_LOOPS)
}

/// A small seeded generator (xorshift64*), so a failing run can be repeated.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("VOXELD_KILL_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("VOXELD_KILL_SEED={seed}");
        Rng(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

fn start(dir: &Path) -> ChildServer {
    ChildServer::start(dir, &dir.join("server.ron"))
}

/// The `i`-th streamed edit: its position and colour.
fn edit(i: u64) -> ([i64; 3], [u64; 4]) {
    let i = i as i64;
    (
        [i % 50 - 25, (i / 50) % 50 - 25, -(i / 2500) - 1],
        [(i * 7 % 256) as u64, (i * 13 % 256) as u64, 40, 255],
    )
}

fn write_config(dir: &Path, fsync: &str, every_records: u64, segment_bytes: u64, retain: u64) {
    std::fs::write(
        dir.join("server.ron"),
        format!(
            "(scripts: (workers: 1), journal: (fsync: {fsync}, segment_bytes: {segment_bytes}, retain: {retain}, snapshot: (every_records: {every_records}, on_shutdown: true)))"
        ),
    )
    .unwrap();
}

/// `voxeld replay DATA_DIR`: `(world_hash, seq)`.
fn replay(dir: &Path) -> (String, u64) {
    let out = Command::new(BIN)
        .arg("replay")
        .arg(dir.join("data"))
        .env("VOXELD_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        line["world_hash"].as_str().unwrap().to_string(),
        line["seq"].as_u64().unwrap(),
    )
}

/// What a kill loop leaves to look at afterwards.
#[derive(Default)]
struct Tally {
    /// Kills that left a snapshot being written (`snapshot.vxs.tmp`).
    during_snapshot: u64,
    /// Kills that left a segment the snapshot covers (killed between rename and delete).
    before_retire: u64,
}

/// Streams edits, `kill -9`s at a random moment, restarts and checks, `loops()` times.
fn kill_loop(dir: &Path, rng: &mut Rng, max_wait_ms: u64) -> Tally {
    let data = dir.join("data");
    let mut tally = Tally::default();
    // Edits acknowledged so far (streamed edit `i` is acknowledged for every `i < acked`).
    let mut acked = 0u64;
    let mut acked_seq = {
        let server = start(dir);
        let seq = Client::connect(&server.socket).result("goxel.get_status", json!({}))["seq"]
            .as_u64()
            .unwrap();
        server.kill9();
        seq
    };
    for round in 0..loops() {
        let server = start(dir);
        let mut client = Client::connect(&server.socket);
        let start_seq = client.result("goxel.get_status", json!({}))["seq"]
            .as_u64()
            .unwrap();
        assert!(
            start_seq >= acked_seq && start_seq <= acked_seq + 1,
            "round {round}: restarted at seq {start_seq}, {acked_seq} acknowledged"
        );
        let done = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let streamer = {
            let (done, stop) = (done.clone(), stop.clone());
            let first = acked;
            std::thread::spawn(move || {
                let mut i = first;
                while !stop.load(Ordering::SeqCst) && i < first + 100_000 {
                    let (pos, color) = edit(i);
                    let params = json!({"x": pos[0], "y": pos[1], "z": pos[2], "color": color});
                    match client.try_call("goxel.add_voxel", params) {
                        Some(reply) => {
                            assert!(reply.get("error").is_none(), "{reply}");
                            i += 1;
                            done.store(i - first, Ordering::SeqCst);
                        }
                        None => break,
                    }
                }
            })
        };
        std::thread::sleep(Duration::from_millis(5 + rng.below(max_wait_ms)));
        server.kill9();
        stop.store(true, Ordering::SeqCst);
        streamer.join().unwrap();
        let n = done.load(Ordering::SeqCst);
        acked += n;
        acked_seq = start_seq + n;

        if data.join("snapshot.vxs.tmp").exists() {
            tally.during_snapshot += 1;
        }
        let snapshot_seq =
            voxeld::journal::read_snapshot(&data.join("snapshot.vxs")).map_or(0, |(seq, _)| seq);
        let names: Vec<u64> = list_segments(&data.join("journal"))
            .unwrap()
            .iter()
            .map(|s| s.0)
            .collect();
        if covered_count(&names, snapshot_seq) > 0 {
            tally.before_retire += 1;
        }

        // The replay of the data directory, before the server touches it ...
        let (replay_hash, replay_seq) = replay(dir);
        assert!(
            replay_seq >= acked_seq && replay_seq <= acked_seq + 1,
            "round {round}: replay reaches seq {replay_seq}, {acked_seq} acknowledged"
        );
        // ... is what the restarted server holds; every acknowledged edit is there.
        let server = start(dir);
        let mut client = Client::connect(&server.socket);
        let status = client.result("goxel.get_status", json!({}));
        assert_eq!(status["world_hash"], replay_hash.as_str(), "round {round}");
        assert_eq!(status["seq"], replay_seq, "round {round}");
        for i in acked.saturating_sub(n + 50)..acked {
            let (pos, color) = edit(i);
            let voxel = client.result(
                "goxel.get_voxel",
                json!({"x": pos[0], "y": pos[1], "z": pos[2]}),
            );
            assert_eq!(voxel["color"], json!(color), "round {round}: edit {i} lost");
        }
        // Start-up finished any interrupted rotation, and a snapshot it started is collected
        // by the next request the loop handles: soon no covered segment is left.
        let deadline = Instant::now() + IO_TIMEOUT;
        loop {
            let snapshot_seq = voxeld::journal::read_snapshot(&data.join("snapshot.vxs"))
                .map_or(0, |(seq, _)| seq);
            let names: Vec<u64> = list_segments(&data.join("journal"))
                .unwrap()
                .iter()
                .map(|s| s.0)
                .collect();
            if covered_count(&names, snapshot_seq) == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: {names:?} after a snapshot at {snapshot_seq}"
            );
            std::thread::sleep(Duration::from_millis(5));
            client.result("goxel.get_status", json!({}));
        }
        server.kill9();
    }
    // Every acknowledged edit of every round, at the end.
    let server = start(dir);
    let mut client = Client::connect(&server.socket);
    for i in 0..acked {
        let (pos, color) = edit(i);
        let voxel = client.result(
            "goxel.get_voxel",
            json!({"x": pos[0], "y": pos[1], "z": pos[2]}),
        );
        assert_eq!(voxel["color"], json!(color), "edit {i} lost");
    }
    server.kill9();
    tally
}

#[test]
fn kill9_during_rotation_recovers_every_acknowledged_edit_and_the_replay_hash() {
    let mut rng = Rng::new();
    for (fsync, retain) in [("EverySec", 0), ("Always", 2)] {
        let dir = tempfile::tempdir().unwrap();
        write_config(dir.path(), fsync, 5, 4096, retain);
        let tally = kill_loop(dir.path(), &mut rng, 150);
        eprintln!(
            "{fsync}, retain {retain}: {} kills during a snapshot write, {} before a retirement",
            tally.during_snapshot, tally.before_retire
        );
    }
}

/// #12 item 4: `kill -9` during snapshot writes. The world is large (a few hundred KiB of
/// distinct colours) and a snapshot is due every 3 records, so a snapshot is being encoded or
/// written most of the time the server runs.
#[test]
fn kill9_during_snapshot_writes_loses_nothing_acknowledged() {
    let mut rng = Rng::new();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "Always", 3, 1 << 20, 0);
    {
        let server = start(dir.path());
        let mut client = Client::connect(&server.socket);
        let script = "for (let x = 0; x < 64; x++) for (let y = 0; y < 64; y++) for (let z = 0; z < 24; z++) goxel.addVoxel(x + 100, y, z, [x * 4, y * 4, z * 10, 255]); 1";
        let r = client.result(
            "goxel.execute_script",
            json!({"script": script, "timeout_ms": 120000}),
        );
        assert_eq!(r["success"], true, "{r}");
        server.kill9();
    }
    let tally = kill_loop(dir.path(), &mut rng, 300);
    eprintln!(
        "{} of {} kills during a snapshot write",
        tally.during_snapshot,
        loops()
    );
}
