//! Crash recovery of the real `voxeld` binary: `kill -9` mid-stream under every fsync policy, a
//! torn journal tail, a corrupt record in the middle, snapshots across restarts, and (in
//! process) a journal write that fails under a request.
//!
//! Every server here runs in its own temporary directory; a test that fails kills its child.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use systems::VoxelWorld;
use voxeld::config::{Config, FsyncPolicy};
use voxeld::journal::reader::scan_bytes;
use voxeld::journal::{FaultyStorage, FileStorage, MemStorage, scan};
use voxeld::methods::{self, Ctx, Reply, ServerFacts};
use voxeld::persist::{Persistence, replay_records};
use voxeld::rpc::Params;
use voxeld::rpc::codes;
use voxeld::server::world_settings;

mod support;

use support::Client;
use support::child::{BIN, ChildServer as Server, serve_command};
use support::faulty::{SharedStorage, in_process_config, journal_error};

const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// Writes a config file into `dir` with the given fsync policy and snapshot settings.
fn write_config(dir: &Path, fsync: &str, every_records: u64, on_shutdown: bool) -> PathBuf {
    let path = dir.join("server.ron");
    let text = format!(
        "(\n  scripts: (workers: 1),\n  journal: (\n    fsync: {fsync},\n    snapshot: (every_records: {every_records}, on_shutdown: {on_shutdown}),\n  ),\n)\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// The `i`-th edit of a stream: distinct positions, colours that differ from their neighbours.
fn edit(i: usize) -> ((i32, i32, i32), [u8; 4]) {
    let i32_ = i as i32;
    let pos = (i32_ % 40 - 20, (i32_ / 40) % 40 - 20, i32_ / 1600);
    let color = [
        (i * 7 % 256) as u8,
        (i * 13 % 256) as u8,
        (i / 256) as u8,
        255,
    ];
    (pos, color)
}

fn add(client: &mut Client, i: usize) -> Option<Value> {
    let ((x, y, z), color) = edit(i);
    client.try_call(
        "goxel.add_voxel",
        json!({"x": x, "y": y, "z": z, "color": color}),
    )
}

fn add_all(client: &mut Client, range: std::ops::Range<usize>) {
    for i in range {
        let reply = add(client, i).expect("connection lost");
        assert!(reply.get("error").is_none(), "{reply}");
    }
}

fn assert_edits_present(client: &mut Client, range: std::ops::Range<usize>) {
    for i in range {
        let (pos, color) = edit(i);
        assert_eq!(client.voxel(pos), Some(color), "edit {i} at {pos:?} lost");
    }
}

/// The first journal segment (these tests take no periodic snapshot, so it is the only one).
fn journal_path(dir: &Path) -> PathBuf {
    dir.join("data")
        .join("journal")
        .join("segment-00000000000000000001.vxj")
}

/// Byte offsets of the records of the journal at `path`, in order.
fn record_offsets(path: &Path) -> Vec<u64> {
    let scan = scan_bytes(std::fs::read(path).unwrap()).unwrap();
    scan.records().map(|(offset, _)| offset).collect()
}

fn journal_cli(args: &[&str], path: &Path) -> std::process::Output {
    Command::new(BIN)
        .arg("journal")
        .args(args)
        .arg(path)
        .output()
        .unwrap()
}

/// Streams `add_voxel` on one connection, kills the server with SIGKILL after a few hundred
/// acknowledgements while requests are still in flight, restarts it on the same data directory
/// and checks every acknowledged edit.
fn kill9_loses_nothing_acknowledged(fsync: &str) {
    const KILL_AFTER: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), fsync, 0, true);
    let server = Server::start(dir.path(), &config);

    let acked = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let streamer = {
        let socket = server.socket.clone();
        let acked = acked.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut client = Client::connect(&socket);
            let mut i = 0;
            // The kill ends the stream; the bound only keeps a broken test from running forever.
            while i < 1_000_000 && !stop.load(Ordering::SeqCst) {
                match add(&mut client, i) {
                    Some(reply) => {
                        assert!(reply.get("error").is_none(), "{reply}");
                        i += 1;
                        acked.store(i, Ordering::SeqCst);
                    }
                    None => break,
                }
            }
            i
        })
    };
    let deadline = Instant::now() + IO_TIMEOUT;
    while acked.load(Ordering::SeqCst) < KILL_AFTER {
        assert!(Instant::now() < deadline, "stream too slow");
        std::thread::sleep(Duration::from_millis(1));
    }
    server.kill9();
    stop.store(true, Ordering::SeqCst);
    let acknowledged = streamer.join().unwrap();
    assert!(acknowledged >= KILL_AFTER);

    let server = Server::start(dir.path(), &config);
    let mut client = server.client();
    let (_, seq) = client.status();
    assert!(
        seq >= acknowledged as u64,
        "{fsync}: seq {seq} after restart, {acknowledged} edits acknowledged"
    );
    // At most the one request in flight at the kill may have been applied without a reply.
    assert!(seq <= acknowledged as u64 + 1, "{fsync}: seq {seq}");
    assert_edits_present(&mut client, 0..acknowledged);
    server.kill9();
}

#[test]
fn kill9_mid_stream_loses_no_acknowledged_edit_fsync_always() {
    kill9_loses_nothing_acknowledged("Always");
}

#[test]
fn kill9_mid_stream_loses_no_acknowledged_edit_fsync_every_sec() {
    kill9_loses_nothing_acknowledged("EverySec");
}

#[test]
fn kill9_mid_stream_loses_no_acknowledged_edit_fsync_never() {
    kill9_loses_nothing_acknowledged("Never");
}

/// Writes `count` edits, stops the server cleanly without a snapshot (so start-up must replay
/// the journal) and returns the journal's length.
fn journal_of(dir: &Path, config: &Path, count: usize) -> u64 {
    let server = Server::start(dir, config);
    add_all(&mut server.client(), 0..count);
    server.terminate();
    std::fs::metadata(journal_path(dir)).unwrap().len()
}

#[test]
fn torn_tail_of_garbage_is_cut_and_every_edit_survives() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "Always", 0, false);
    let len = journal_of(dir.path(), &config, 40);
    let path = journal_path(dir.path());
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    file.write_all(&[0xde, 0xad, 0xbe, 0xef, 0x01]).unwrap();
    drop(file);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len + 5);

    let server = Server::start(dir.path(), &config);
    let mut client = server.client();
    assert_eq!(client.status().1, 40);
    assert_edits_present(&mut client, 0..40);
    server.kill9();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
    let check = journal_cli(&["check"], &path);
    assert!(check.status.success(), "{check:?}");
}

#[test]
fn journal_cut_mid_record_loses_only_that_record() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "Always", 0, false);
    let len = journal_of(dir.path(), &config, 40);
    let path = journal_path(dir.path());
    let offsets = record_offsets(&path);
    assert_eq!(offsets.len(), 40);
    let last = *offsets.last().unwrap();
    // Cut the last record in the middle, as a crash inside write(2) would leave it.
    let cut = last + (len - last) / 2;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(cut)
        .unwrap();

    let server = Server::start(dir.path(), &config);
    let mut client = server.client();
    assert_eq!(client.status().1, 39);
    assert_edits_present(&mut client, 0..39);
    assert_eq!(client.voxel(edit(39).0), None);
    server.kill9();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), last);
    let check = journal_cli(&["check"], &path);
    assert!(check.status.success(), "{check:?}");
}

#[test]
fn corrupt_record_mid_file_stops_start_up_until_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "Always", 0, false);
    let len = journal_of(dir.path(), &config, 40);
    let path = journal_path(dir.path());
    let offsets = record_offsets(&path);
    // Flip a byte inside the fourth record (seq 4); the records after it are intact.
    let bad = offsets[3];
    let mut bytes = std::fs::read(&path).unwrap();
    let at = usize::try_from(bad + (offsets[4] - bad) / 2).unwrap();
    bytes[at] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();

    let out = serve_command(dir.path(), &config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
        .wait_with_output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "serve started on a corrupt journal");
    assert!(
        stderr.contains(&format!("byte offset {bad}")),
        "the error does not name offset {bad}: {stderr}"
    );
    // Nothing was cut: the corruption is left for the operator to look at.
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len);

    assert!(!journal_cli(&["check"], &path).status.success());
    let repair = journal_cli(&["repair", "--truncate-corrupt"], &path);
    assert!(repair.status.success(), "{repair:?}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), bad);
    assert!(journal_cli(&["check"], &path).status.success());

    let server = Server::start(dir.path(), &config);
    let mut client = server.client();
    assert_eq!(client.status().1, 3);
    assert_edits_present(&mut client, 0..3);
    assert_eq!(client.voxel(edit(3).0), None);
    // And it journals again from there.
    add_all(&mut client, 3..5);
    assert_eq!(client.status().1, 5);
    server.kill9();
    assert!(journal_cli(&["check"], &path).status.success());
}

/// A few kinds of edit, so the hash covers more than single voxels.
fn mixed_edits(client: &mut Client, round: i32) {
    client.result(
        "goxel.procedural_shape",
        json!({"shape": "sphere", "size": 7, "center": [round * 9, 0, 0], "color": [10, 20, 30]}),
    );
    client.result(
        "goxel.batch_operations",
        json!({"operations": [
            {"op": "add", "x": round, "y": 30, "z": 0, "color": [1, 2, 3]},
            {"op": "paint", "x": round * 9, "y": 0, "z": 0, "color": [4, 5, 6]},
            {"op": "remove", "x": round * 9 + 1, "y": 0, "z": 0},
        ]}),
    );
    client.result(
        "goxel.add_voxel",
        json!({"x": round, "y": -30, "z": 5, "color": "#ff8800"}),
    );
    client.result("goxel.undo", json!({}));
}

fn hash_survives_restarts(every_records: u64) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "EverySec", every_records, true);
    let snapshot = dir.path().join("data").join("snapshot.vxs");

    let server = Server::start(dir.path(), &config);
    let mut client = server.client();
    for round in 0..10 {
        mixed_edits(&mut client, round);
    }
    let before_stop = client.status();
    server.terminate();
    assert!(snapshot.exists(), "no shutdown snapshot");

    let server = Server::start(dir.path(), &config);
    let mut client = server.client();
    assert_eq!(client.status(), before_stop, "after SIGTERM and restart");
    for round in 10..25 {
        mixed_edits(&mut client, round);
    }
    let before_kill = client.status();
    if every_records > 0 {
        // A background snapshot newer than the shutdown one must land (it is written off the
        // world thread), so the restart below starts from it.
        let shutdown_snapshot_seq = before_stop.1;
        let deadline = Instant::now() + IO_TIMEOUT;
        while snapshot_seq(&snapshot) <= shutdown_snapshot_seq {
            assert!(Instant::now() < deadline, "no background snapshot");
            client.status();
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    server.kill9();

    let server = Server::start(dir.path(), &config);
    let mut client = server.client();
    assert_eq!(client.status(), before_kill, "after kill -9 and restart");
    // The replay tool agrees, from the data directory (snapshot + segments after it).
    let out = Command::new(BIN)
        .arg("replay")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["world_hash"], before_kill.0.as_str());
    assert_eq!(line["seq"], before_kill.1);
    server.kill9();
}

fn snapshot_seq(path: &Path) -> u64 {
    match voxeld::journal::read_snapshot(path) {
        Ok((seq, _)) => seq,
        Err(_) => 0,
    }
}

#[test]
fn hash_and_seq_survive_shutdown_snapshot_and_kill9() {
    hash_survives_restarts(0);
}

#[test]
fn hash_and_seq_survive_background_snapshots_and_kill9() {
    hash_survives_restarts(7);
}

/// The server's own journal (`Persistence`) over storage that fails on demand, in memory.
type FaultyPersistence = Persistence<FaultyStorage<MemStorage>>;

/// A world recovered by `Persistence` from an empty in-memory journal, with the lock and
/// snapshots in `dir`.
fn faulty_persistence(dir: &Path, fsync: FsyncPolicy) -> (VoxelWorld, FaultyPersistence) {
    let mut config = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    config.journal.fsync = fsync;
    config.journal.snapshot.every_records = 0;
    let mut world = VoxelWorld::new(world_settings(&config));
    let p =
        Persistence::open_with_storage(&config, &mut world, FaultyStorage::new(MemStorage::new()))
            .unwrap();
    (world, p)
}

fn call(
    world: &mut VoxelWorld,
    recorder: &mut FaultyPersistence,
    method: &str,
    params: Value,
) -> Result<Value, voxeld::rpc::RpcError> {
    let raw = serde_json::value::to_raw_value(&params).unwrap();
    let params = Params::parse(&raw).unwrap();
    let mut clock = voxeld::methods::simulation::SimClock::new(&voxeld::config::Config::default());
    let mut ctx = Ctx {
        world,
        journal: recorder,
        started: Instant::now(),
        facts: ServerFacts::default(),
        files: voxeld::files::FileAccess::defaults(),
        clock: &mut clock,
    };
    match methods::call(&mut ctx, method, &params)? {
        Reply::Value(v) => Ok(v),
        Reply::Raw(r) => Ok(serde_json::from_str(r.get()).unwrap()),
        Reply::Script(_) | Reply::Background(_) | Reply::Session(_) => {
            panic!("no scripts, jobs or sessions here")
        }
    }
}

fn live(world: &VoxelWorld) -> (String, u64) {
    let s = world.snapshot();
    (s.hash_hex(), s.seq)
}

/// The world a restart recovers from the journal bytes `p` holds.
fn replayed(p: &FaultyPersistence) -> (String, u64) {
    let scan = scan(p.writer().storage()).unwrap();
    assert!(scan.torn_tail().is_none());
    let mut world = VoxelWorld::new(world_settings(&Config::default()));
    replay_records(&mut world, &scan, 0, None).unwrap();
    live(&world)
}

/// Requests of every kind of edit the methods make.
fn mixed_requests() -> Vec<(&'static str, Value)> {
    vec![
        (
            "goxel.add_voxel",
            json!({"x": 1, "y": 2, "z": 3, "color": [255, 0, 0]}),
        ),
        (
            "goxel.procedural_shape",
            json!({"shape": "cube", "size": 4, "center": [10, 10, 10], "color": [0, 255, 0]}),
        ),
        ("goxel.undo", json!({})),
        ("goxel.redo", json!({})),
        (
            "goxel.batch_operations",
            json!({"operations": [{"op": "add", "x": 5, "y": 5, "z": 5, "color": [1, 2, 3]}, {"op": "remove", "x": 1, "y": 2, "z": 3}]}),
        ),
        ("goxel.create_layer", json!({"name": "second"})),
        (
            "goxel.add_voxel",
            json!({"x": 7, "y": 7, "z": 7, "color": [9, 9, 9]}),
        ),
    ]
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    /// The write fails, nothing reaches storage.
    Append,
    /// The write stores a few bytes of the record, then fails.
    TornAppend,
}

/// A failed write (not a sync) refuses its request, takes the edit back, and leaves the journal
/// usable: the same request then succeeds. Under `Always` the loop's group sync follows each
/// request, as in the server.
fn injected_write_failure_takes_the_edit_back(fault: Fault) {
    let dir = tempfile::tempdir().unwrap();
    let (mut world, mut p) = faulty_persistence(dir.path(), FsyncPolicy::Always);
    let requests = mixed_requests();
    // Every request, in turn, is the one whose journal write fails.
    for failing in 0..requests.len() {
        for (i, (method, params)) in requests.iter().enumerate() {
            if i == failing {
                let storage = p.writer_mut().storage_mut();
                match fault {
                    Fault::Append => storage.fail_append_at(storage.append_count()),
                    Fault::TornAppend => storage.tear_append_at(storage.append_count(), 7),
                }
                let before = live(&world);
                let before_len = p.writer().storage().inner().bytes().len();
                let error = call(&mut world, &mut p, method, params.clone())
                    .expect_err("the journal write failed, so must the request");
                assert_eq!(error.code, codes::JOURNAL, "{fault:?} {method}: {error:?}");
                assert_eq!(live(&world), before, "{fault:?} {method} changed the world");
                assert_eq!(
                    p.writer().storage().inner().bytes().len(),
                    before_len,
                    "{fault:?} {method}: the failed write left bytes behind"
                );
                p.end_of_iteration(&mut world).unwrap();
            }
            // The same request now succeeds (undo/redo may have nothing to do: an edit refusal,
            // not a journal error).
            match call(&mut world, &mut p, method, params.clone()) {
                Ok(_) => {}
                Err(e) => assert_eq!(e.code, codes::EDIT_REFUSED, "{method}: {e:?}"),
            }
            p.end_of_iteration(&mut world).unwrap();
        }
    }
    let live = live(&world);
    assert_eq!(live.1, p.writer().next_seq().unwrap() - 1);
    assert_eq!(replayed(&p), live, "{fault:?}: replay differs");
}

#[test]
fn failed_journal_append_refuses_the_request_and_changes_nothing() {
    injected_write_failure_takes_the_edit_back(Fault::Append);
}

#[test]
fn torn_journal_append_refuses_the_request_and_changes_nothing() {
    injected_write_failure_takes_the_edit_back(Fault::TornAppend);
}

/// Regression (#12): under `Always` a failed group fsync was logged and the group acknowledged.
/// Now the whole iteration is taken back (world, seq, undo history), its records are cut out of
/// the journal, and the journal refuses edits while reads keep working.
#[test]
fn failed_group_sync_takes_the_iteration_back_and_the_journal_refuses_edits() {
    let dir = tempfile::tempdir().unwrap();
    let (mut world, mut p) = faulty_persistence(dir.path(), FsyncPolicy::Always);
    let requests = mixed_requests();
    for (method, params) in &requests[..2] {
        call(&mut world, &mut p, method, params.clone()).unwrap();
        p.end_of_iteration(&mut world).unwrap();
    }
    let synced = live(&world);
    let synced_len = p.writer().storage().inner().bytes().len();
    // One iteration: every kind of edit, then its group sync fails.
    for (method, params) in &requests[2..] {
        call(&mut world, &mut p, method, params.clone()).unwrap();
    }
    assert_ne!(live(&world), synced);
    let storage = p.writer_mut().storage_mut();
    storage.fail_sync_at(storage.sync_count());
    let reason = p.end_of_iteration(&mut world).unwrap_err();
    assert!(reason.contains("injected sync failure"), "{reason}");
    assert_eq!(live(&world), synced, "the iteration is taken back");
    assert_eq!(
        p.writer().storage().inner().bytes().len(),
        synced_len,
        "its records are cut out of the journal"
    );
    assert_eq!(
        replayed(&p),
        synced,
        "a restart recovers what was acknowledged"
    );

    // Edits are refused before they are applied, with a message saying how to recover; reads
    // and the status work and say so.
    for (method, params) in &requests {
        let e = call(&mut world, &mut p, method, params.clone()).unwrap_err();
        assert_eq!(e.code, codes::JOURNAL, "{method}: {e:?}");
        assert!(e.message.contains("journal failed"), "{}", e.message);
        assert!(
            e.data.unwrap()["recovery"]
                .as_str()
                .unwrap()
                .contains("restart")
        );
        assert_eq!(live(&world), synced);
    }
    let voxel = call(
        &mut world,
        &mut p,
        "goxel.get_voxel",
        json!({"x": 10, "y": 10, "z": 10}),
    );
    assert_eq!(voxel.unwrap()["exists"], true);
    let status = call(&mut world, &mut p, "goxel.get_status", json!({})).unwrap();
    assert_eq!(status["journal"]["state"], "failed", "{status}");
    assert!(
        status["journal"]["error"]
            .as_str()
            .unwrap()
            .contains("injected sync failure")
    );
    assert_eq!(status["read_only"], true);
    assert_eq!(status["seq"], synced.1);
    // The failed journal is not synced again (a retried fsync can lie).
    let syncs = p.writer().storage().sync_count();
    p.end_of_iteration(&mut world).unwrap();
    assert_eq!(p.writer().storage().sync_count(), syncs);
}

/// Under `EverySec` the sync that fails is a commit's (or a tick's): that request is refused
/// and taken back, the edits acknowledged before it stay, and the journal refuses edits.
#[test]
fn failed_periodic_sync_refuses_that_edit_keeps_the_acknowledged_ones_and_fails_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let (mut world, mut p) = faulty_persistence(dir.path(), FsyncPolicy::EverySec);
    let requests = mixed_requests();
    // The first commit syncs (no sync yet); the next ones within the second do not.
    for (method, params) in &requests[..3] {
        call(&mut world, &mut p, method, params.clone()).unwrap();
        p.end_of_iteration(&mut world).unwrap();
    }
    let acknowledged = live(&world);
    let storage = p.writer_mut().storage_mut();
    storage.fail_sync_at(storage.sync_count());
    std::thread::sleep(voxeld::journal::writer::SYNC_INTERVAL);
    let (method, params) = &requests[3];
    let e = call(&mut world, &mut p, method, params.clone()).unwrap_err();
    assert_eq!(e.code, codes::JOURNAL, "{e:?}");
    assert_eq!(live(&world), acknowledged);
    assert_eq!(replayed(&p), acknowledged);
    let e = call(
        &mut world,
        &mut p,
        "goxel.add_voxel",
        json!([0, 0, 0, 1, 2, 3, 255]),
    )
    .unwrap_err();
    assert!(e.message.contains("journal failed"), "{e:?}");
    let status = call(&mut world, &mut p, "goxel.get_status", json!({})).unwrap();
    assert_eq!(status["journal"]["state"], "failed", "{status}");
}

/// Regression: a journal repaired back to before the newest snapshot used to leave the server
/// refusing every edit ("record seq 21 out of order (expected 7)").
#[test]
fn a_journal_cut_behind_the_snapshot_is_set_aside_and_edits_continue() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "Always", 0, true);
    let server = Server::start(dir.path(), &config);
    let mut client = server.client();
    add_all(&mut client, 0..20);
    let before = client.status();
    server.terminate();
    // Cut the journal after record 6, as `repair --truncate-corrupt` would.
    let path = journal_path(dir.path());
    let offsets = record_offsets(&path);
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(offsets[6]).unwrap();
    drop(file);

    let server = Server::start(dir.path(), &config);
    let mut client = server.client();
    assert_eq!(client.status(), before, "the snapshot holds every edit");
    assert_edits_present(&mut client, 0..20);
    add_all(&mut client, 20..23);
    assert_eq!(client.status().1, 23);
    server.kill9();
    let aside = dir
        .path()
        .join("data/journal/segment-00000000000000000001.vxj.behind-snapshot-20");
    assert!(aside.exists(), "the old journal is kept for inspection");
    let server = Server::start(dir.path(), &config);
    let mut client = server.client();
    assert_edits_present(&mut client, 0..23);
}

/// A project load is one journaled change: one undo brings the old world back, after `kill -9`
/// the loaded world is back, the journal replays to the same hash, and a file that fails to load
/// changes nothing.
#[test]
fn a_loaded_project_survives_kill_9_and_replays_to_the_same_hash() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "EverySec", 0, false);
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/samples/goxel-sample.gox"
    );
    std::fs::copy(sample, dir.path().join("data/sample.gox")).unwrap();
    std::fs::write(
        dir.path().join("data/bad.gox"),
        b"GOX \x02\x00\x00\x00LAYR\xff\xff",
    )
    .unwrap();

    let server = Server::start(dir.path(), &config);
    let mut c = server.client();
    c.result("goxel.add_voxel", json!([50, 50, 50, 1, 2, 3, 255]));
    let before_load = c.status();
    let r = c.result("goxel.load_project", json!(["sample.gox"]));
    assert_eq!(
        (r["voxel_count"].clone(), r["format"].clone()),
        (json!(137), json!("gox"))
    );
    assert_eq!(c.voxel((5, 5, 1)), Some([250, 250, 0, 128]));
    assert_eq!(c.voxel((50, 50, 50)), None, "the load replaced the world");
    c.result("goxel.add_voxel", json!([9, 9, 9, 4, 5, 6, 255]));
    let after = c.status();
    // A malformed file is an error naming the file, and nothing changes.
    let e = c
        .try_call("goxel.load_project", json!({"path": "bad.gox"}))
        .unwrap();
    assert_eq!(e["error"]["code"], -1002, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("bad.gox"),
        "{e}"
    );
    assert_eq!(c.status().0, after.0);
    // Two undos take back the edit, then the load; two redos bring both back.
    c.result("goxel.undo", json!({}));
    c.result("goxel.undo", json!({}));
    assert_eq!(c.status().0, before_load.0);
    assert_eq!(c.voxel((50, 50, 50)), Some([1, 2, 3, 255]));
    c.result("goxel.redo", json!({}));
    c.result("goxel.redo", json!({}));
    let after = c.status();
    assert_eq!(c.voxel((9, 9, 9)), Some([4, 5, 6, 255]));
    server.kill9();

    let server = Server::start(dir.path(), &config);
    let mut c = server.client();
    assert_eq!(
        c.status(),
        after,
        "the load and the edit after it survive kill -9"
    );
    assert_eq!(c.voxel((9, 9, 9)), Some([4, 5, 6, 255]));
    let out = Command::new(BIN)
        .arg("replay")
        .arg(journal_path(dir.path()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let replayed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(replayed["world_hash"], after.0.as_str());
}

impl Client {
    /// Sends one raw line and reads one reply line.
    fn line(&mut self, line: &str) -> Value {
        self.request(line)
    }
}

/// Regression (#12): under `fsync: Always` the real server answered the edits of a group whose
/// fsync failed as successes. Now no reply of that group acknowledges anything: its edits are
/// taken back, their replies and those of the reads that saw them are withdrawn with the journal
/// error, the script and the save asked for on that world never start; later edits are refused,
/// reads work, `get_status` says so, and a restart recovers exactly what was acknowledged.
#[test]
fn the_real_server_never_acknowledges_an_edit_whose_group_fsync_failed() {
    let dir = tempfile::tempdir().unwrap();
    let config = in_process_config(FsyncPolicy::Always, dir.path());
    std::fs::create_dir_all(&config.data_dir).unwrap();
    let storage = SharedStorage(Arc::new(Mutex::new(FaultyStorage::new(
        FileStorage::open(config.journal_path()).unwrap(),
    ))));
    let server = voxeld::server::spawn_with_storage(config.clone(), storage.clone()).unwrap();
    let mut c = Client::connect(&server.socket);
    add_all(&mut c, 0..10);
    // The success path of a held batch: the script asked for after an edit starts after the
    // group sync and commits in a later group.
    let ok = c.line(
        r#"[{"jsonrpc":"2.0","method":"goxel.add_voxel","params":[30,0,0,1,1,1,255],"id":"a"},
            {"jsonrpc":"2.0","method":"goxel.execute_script","params":{"script":"goxel.addVoxel(31,0,0,[2,2,2,255]); 7"},"id":"b"}]"#
            .replace('\n', "")
            .as_str(),
    );
    assert!(
        ok[0].get("result").is_some() && ok[1]["result"]["success"] == true,
        "{ok}"
    );
    assert_eq!(c.voxel((31, 0, 0)), Some([2, 2, 2, 255]));
    let acknowledged = c.status();
    assert_eq!(acknowledged.1, 12);

    let next_sync = storage.lock().sync_count();
    storage.lock().fail_sync_at(next_sync);
    let ((x, y, z), color) = edit(10);
    let batch = json!([
        {"jsonrpc": "2.0", "method": "goxel.get_voxel", "params": {"x": x, "y": y, "z": z}, "id": 1},
        {"jsonrpc": "2.0", "method": "goxel.add_voxel", "params": {"x": x, "y": y, "z": z, "color": color}, "id": 2},
        {"jsonrpc": "2.0", "method": "goxel.get_voxel", "params": {"x": x, "y": y, "z": z}, "id": 3},
        {"jsonrpc": "2.0", "method": "goxel.execute_script", "params": {"script": "goxel.getVoxel(0,0,0); 1"}, "id": 4},
        {"jsonrpc": "2.0", "method": "goxel.save_project", "params": {"path": "after.gox"}, "id": 5},
        {"jsonrpc": "2.0", "method": "goxel.get_status", "id": 6},
        {"jsonrpc": "2.0", "method": "goxel.add_voxel", "params": {"x": "nope"}, "id": 7},
    ]);
    let replies = c.line(&batch.to_string());
    let replies = replies.as_array().unwrap();
    let by_id = |id: i64| replies.iter().find(|r| r["id"] == id).unwrap();
    // The read before the group's first edit saw the synced world: its answer stands.
    assert_eq!(by_id(1)["result"]["exists"], false, "{replies:?}");
    for id in 2..=6 {
        let error = journal_error(by_id(id));
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("injected sync failure"),
            "{error}"
        );
        assert_eq!(error["data"]["seq"], acknowledged.1, "{error}");
    }
    assert_eq!(by_id(2)["error"]["data"]["withdrawn"], true);
    // An error stays what it was: it changed nothing.
    assert_eq!(by_id(7)["error"]["code"], codes::INVALID_PARAMS);
    assert!(
        !config.data_dir.join("after.gox").exists(),
        "the held save never ran"
    );

    // The world is the acknowledged one; edits are refused, reads answered.
    assert_eq!(c.status(), acknowledged);
    assert_eq!(c.voxel((x, y, z)), None);
    assert_edits_present(&mut c, 0..10);
    let refused = add(&mut c, 11).unwrap();
    let error = journal_error(&refused);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("journal failed"),
        "{error}"
    );
    assert!(
        error["data"]["recovery"]
            .as_str()
            .unwrap()
            .contains("restart")
    );
    let script = c
        .try_call(
            "goxel.execute_script",
            json!({"script": "goxel.addVoxel(40,0,0,[1,1,1,255])"}),
        )
        .unwrap();
    journal_error(&script);
    journal_error(&c.try_call("goxel.undo", json!({})).unwrap());
    let status = c.result("goxel.get_status", json!({}));
    assert_eq!(status["journal"]["state"], "failed", "{status}");
    assert_eq!(status["read_only"], true);
    assert_eq!(c.status(), acknowledged);

    // Stopping a failed journal writes nothing (no sync, no snapshot here), so the file is what
    // a kill -9 would leave; the restart recovers exactly what was acknowledged.
    let journal = std::fs::read(config.journal_path()).unwrap();
    drop(c);
    server.stop().unwrap();
    assert_eq!(std::fs::read(config.journal_path()).unwrap(), journal);
    let server = voxeld::server::spawn(config.clone()).unwrap();
    let mut c = Client::connect(&server.socket);
    assert_eq!(c.status(), acknowledged);
    assert_eq!(
        c.result("goxel.get_status", json!({}))["journal"]["state"],
        "ok"
    );
    add_all(&mut c, 10..12);
    assert_edits_present(&mut c, 0..12);
    server.stop().unwrap();
}

/// #12 item 6: the undo history is kept in memory only, so after a restart (clean or `kill -9`)
/// there is nothing to undo, and the reply says so plainly; the world itself is recovered, and
/// steps made after the restart undo as usual.
#[test]
fn after_a_restart_undo_says_plainly_that_the_history_starts_empty() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "Always", 0, true);
    let server = Server::start(dir.path(), &config);
    let mut c = server.client();
    add_all(&mut c, 0..3);
    c.result("goxel.undo", json!({}));
    let before = c.status();
    server.terminate();
    for restart in ["SIGTERM", "kill -9"] {
        let server = Server::start(dir.path(), &config);
        let mut c = server.client();
        assert_eq!(c.status(), before, "{restart}");
        for method in ["goxel.undo", "goxel.redo"] {
            let reply = c.try_call(method, json!({})).unwrap();
            let error = &reply["error"];
            assert_eq!(error["code"], codes::EDIT_REFUSED, "{restart}: {reply}");
            let message = error["message"].as_str().unwrap();
            assert!(message.starts_with("nothing to"), "{message}");
            assert!(message.contains("a restart empties it"), "{message}");
            assert_eq!(error["data"]["started_seq"], before.1, "{reply}");
        }
        assert_eq!(
            c.status(),
            before,
            "{restart}: a refused undo changes nothing"
        );
        if restart == "SIGTERM" {
            server.kill9();
        } else {
            add_all(&mut c, 3..4);
            c.result("goxel.undo", json!({}));
            assert_eq!(
                c.status().0,
                before.0,
                "a step made after the restart undoes"
            );
        }
    }
}
