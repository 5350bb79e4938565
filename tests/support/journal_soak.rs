//! The edit soak of #12's disk target, shared by the CI test (`tests/journal_soak.rs`, a few
//! seconds) and the bench binary (`cargo bench --bench journal_soak -- --minutes 10`): a real
//! `voxeld serve` child takes edits from a few connections for a while, with snapshots every
//! few hundred records; a sampler watches the data directory the whole time.
//!
//! The bound it checks: at most 2 snapshot files (the snapshot and the one being written),
//! and no journal segment that the newest snapshot covers, except for the moment between a
//! snapshot's rename and the deletion that follows it (at most one snapshot period's
//! segments). At the end the server stops cleanly, the directory holds only the segments
//! after the newest snapshot, and `voxeld replay` of it gives the live hash.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use voxeld::journal::segments::{covered_count, list_segments};

/// How a soak runs.
#[derive(Clone, Debug)]
pub struct Soak {
    /// How long edits stream.
    pub duration: Duration,
    /// Connections streaming edits.
    pub clients: usize,
    /// `journal.snapshot.every_records`.
    pub every_records: u64,
    /// `journal.segment_bytes`.
    pub segment_bytes: u64,
    /// The `voxeld` binary.
    pub binary: PathBuf,
}

/// What a soak saw.
#[derive(Clone, Debug, Default)]
pub struct SoakReport {
    /// Edits acknowledged.
    pub edits: u64,
    /// Directory samples taken.
    pub samples: u64,
    /// Snapshots written (distinct snapshot seqs seen).
    pub snapshots_seen: u64,
    /// Most snapshot files seen at once.
    pub max_snapshot_files: usize,
    /// Most segments the newest snapshot covered at once (the moment before a deletion).
    pub max_covered: usize,
    /// Most segment files at once.
    pub max_segments: usize,
    /// Most bytes of journal segments and snapshots at once.
    pub max_bytes: u64,
    /// Bytes in the first and the last tenth of the run (the bound is flat, not growing).
    pub early_max_bytes: u64,
    pub late_max_bytes: u64,
    /// Bytes after the clean stop.
    pub final_bytes: u64,
    /// Violations of the bound, described (empty when it held).
    pub violations: Vec<String>,
}

struct Server {
    child: Child,
    socket: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(soak: &Soak, dir: &Path) -> Server {
    let socket = dir.join("soak.sock");
    let _ = std::fs::remove_file(&socket);
    let config = dir.join("soak.ron");
    std::fs::write(
        &config,
        format!(
            "(scripts: (workers: 1), journal: (fsync: EverySec, segment_bytes: {}, snapshot: (every_records: {}, on_shutdown: true)))",
            soak.segment_bytes, soak.every_records
        ),
    )
    .unwrap();
    let mut child = Command::new(&soak.binary)
        .arg("serve")
        .arg("--socket")
        .arg(&socket)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--config")
        .arg(&config)
        .env("VOXELD_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while UnixStream::connect(&socket).is_err() {
        assert!(child.try_wait().unwrap().is_none(), "soak server exited");
        assert!(Instant::now() < deadline, "soak server did not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    Server { child, socket }
}

fn call(stream: &mut BufReader<UnixStream>, method: &str, params: Value) -> Value {
    let line = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1});
    stream
        .get_mut()
        .write_all(format!("{line}\n").as_bytes())
        .unwrap();
    let mut reply = String::new();
    stream.read_line(&mut reply).unwrap();
    let reply: Value = serde_json::from_str(&reply).unwrap();
    assert!(reply.get("error").is_none(), "{method}: {reply}");
    reply["result"].clone()
}

fn connect(socket: &Path) -> BufReader<UnixStream> {
    let stream = UnixStream::connect(socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    BufReader::new(stream)
}

/// One sample of the data directory.
struct Sample {
    snapshot_files: usize,
    snapshot_seq: u64,
    segments: Vec<u64>,
    bytes: u64,
}

fn sample(data: &Path) -> Sample {
    // The snapshot first: a snapshot newer than the listing would make segments that were
    // just being deleted look covered.
    let snapshot = data.join("snapshot.vxs");
    let snapshot_seq = voxeld::journal::read_snapshot(&snapshot).map_or(0, |(seq, _)| seq);
    let mut snapshot_files = 0;
    let mut bytes = 0;
    for entry in std::fs::read_dir(data).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("snapshot.vxs") {
            snapshot_files += 1;
            bytes += entry.metadata().map_or(0, |m| m.len());
        }
    }
    let listed = list_segments(&data.join("journal")).unwrap_or_default();
    bytes += listed
        .iter()
        .filter_map(|(_, p)| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum::<u64>();
    Sample {
        snapshot_files,
        snapshot_seq,
        segments: listed.into_iter().map(|s| s.0).collect(),
        bytes,
    }
}

/// Runs the soak in `dir` and reports what it saw.
pub fn run(soak: &Soak, dir: &Path) -> SoakReport {
    let server = start(soak, dir);
    let data = dir.join("data");
    // The whole region the clients write, first: from here on the world (and each snapshot)
    // keeps its size, so disk use can be compared between the start and the end.
    let mut stream = connect(&server.socket);
    let fill = format!(
        "for (let z = 0; z < {}; z++) for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) goxel.addVoxel(x, y, z, [x * 3, y * 3, z, 255]); 1",
        soak.clients * 4
    );
    let filled = call(
        &mut stream,
        "goxel.execute_script",
        json!({"script": fill, "timeout_ms": 300000}),
    );
    assert_eq!(filled["success"], true, "{filled}");
    drop(stream);
    let stop = Arc::new(AtomicBool::new(false));
    let edits = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..soak.clients)
        .map(|c| {
            let (stop, edits) = (stop.clone(), edits.clone());
            let socket = server.socket.clone();
            std::thread::spawn(move || {
                let mut stream = connect(&socket);
                let mut i: i64 = 0;
                while !stop.load(Ordering::SeqCst) {
                    // A bounded region, so the world (and each snapshot) stays the same size.
                    let (x, y, z) = (i % 64, (i / 64) % 64, c as i64 * 4 + (i / 4096) % 4);
                    let color = [(i % 251) as u8, (i % 241) as u8, c as u8, 255];
                    call(
                        &mut stream,
                        "goxel.add_voxel",
                        json!({"x": x, "y": y, "z": z, "color": color}),
                    );
                    i += 1;
                    edits.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    let mut report = SoakReport::default();
    let started = Instant::now();
    let mut previous_snapshot = 0;
    let mut newest_snapshot = 0;
    while started.elapsed() < soak.duration {
        std::thread::sleep(Duration::from_millis(20));
        let s = sample(&data);
        report.samples += 1;
        if s.snapshot_seq != newest_snapshot {
            previous_snapshot = newest_snapshot;
            newest_snapshot = s.snapshot_seq;
            report.snapshots_seen += 1;
        }
        let covered = covered_count(&s.segments, s.snapshot_seq);
        report.max_snapshot_files = report.max_snapshot_files.max(s.snapshot_files);
        report.max_covered = report.max_covered.max(covered);
        report.max_segments = report.max_segments.max(s.segments.len());
        report.max_bytes = report.max_bytes.max(s.bytes);
        let tenth = soak.duration / 10;
        if started.elapsed() < tenth {
            report.early_max_bytes = report.early_max_bytes.max(s.bytes);
        } else if started.elapsed() > soak.duration - tenth {
            report.late_max_bytes = report.late_max_bytes.max(s.bytes);
        }
        if s.snapshot_files > 2 {
            report
                .violations
                .push(format!("{} snapshot files", s.snapshot_files));
        }
        // Only the previous period's segments may still wait for their deletion.
        if covered_count(&s.segments, previous_snapshot) > 0 {
            report.violations.push(format!(
                "segments {:?} with snapshots at {previous_snapshot} and {}",
                s.segments, s.snapshot_seq
            ));
        }
    }
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.join().unwrap();
    }
    report.edits = edits.load(Ordering::Relaxed);
    let mut stream = connect(&server.socket);
    let live = call(&mut stream, "goxel.get_status", json!({}));
    drop(stream);
    // A clean stop: the pending snapshot is collected and what it covers deleted.
    let mut server = server;
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(server.child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(server.child.wait().unwrap().success());
    let end = sample(&data);
    report.final_bytes = end.bytes;
    if covered_count(&end.segments, end.snapshot_seq) > 0 {
        report.violations.push(format!(
            "after the stop: segments {:?}, snapshot at {}",
            end.segments, end.snapshot_seq
        ));
    }
    let out = Command::new(&soak.binary)
        .arg("replay")
        .arg(&data)
        .env("VOXELD_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let replayed: Value = serde_json::from_slice(&out.stdout).unwrap();
    if replayed["world_hash"] != live["world_hash"] || replayed["seq"] != live["seq"] {
        report.violations.push(format!(
            "replay gives {} at seq {}, the server had {} at seq {}",
            replayed["world_hash"], replayed["seq"], live["world_hash"], live["seq"]
        ));
    }
    report
}
