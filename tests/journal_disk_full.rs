//! A full disk and other journal write errors (#12 item 4), through the real server
//! (`server::spawn_with_storage` over a fault-injecting storage): the edit is refused with a
//! JSON-RPC error that says so, reads keep working, `get_status` reports the journal state,
//! and edits resume once the disk takes writes again (a failed write is cut back out and
//! retried by the next edit; a failed fsync is not, see `crash_recovery.rs`). Also a failed
//! group sync after a simulation `goxel.step` under `fsync: Always`, through `Persistence`.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{Value, json};
use support::Client;
use support::faulty::{SharedStorage, in_process_config, journal_error};
use systems::VoxelWorld;
use voxeld::config::{Config, FsyncPolicy};
use voxeld::journal::{FaultyStorage, FileStorage, JournalStorage, MemStorage, scan};
use voxeld::methods::{self, Ctx, Recorder, Reply, ServerFacts};
use voxeld::persist::{Persistence, replay_records};
use voxeld::rpc::{Params, codes};
use voxeld::server::world_settings;

/// The calls these tests make, on the shared test client.
trait Calls {
    fn add(&mut self, i: i32) -> Value;
    fn exists(&mut self, i: i32) -> bool;
    fn status_json(&mut self) -> Value;
}

impl Calls for Client {
    fn add(&mut self, i: i32) -> Value {
        self.call(
            "goxel.add_voxel",
            json!({"x": i, "y": 0, "z": 0, "color": [i as u8, 1, 2, 255]}),
        )
    }

    fn exists(&mut self, i: i32) -> bool {
        self.result("goxel.get_voxel", json!({"x": i, "y": 0, "z": 0}))["exists"] == true
    }

    fn status_json(&mut self) -> Value {
        self.result("goxel.get_status", json!({}))
    }
}

/// Regression guard for #12 item 4: a full disk refuses the edit (nothing applied, nothing
/// left in the file), keeps reads and the status working, and once space is freed the next
/// edit goes through, under each fsync policy; so does an I/O error on a write, and a failed
/// rollback truncate (the edit after it waits until the truncate works). A restart recovers
/// exactly the acknowledged edits.
#[test]
fn a_full_disk_refuses_edits_keeps_reads_and_edits_resume_when_space_returns() {
    for fsync in [
        FsyncPolicy::Always,
        FsyncPolicy::EverySec,
        FsyncPolicy::Never,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let config = in_process_config(fsync, dir.path());
        std::fs::create_dir_all(&config.data_dir).unwrap();
        let storage = SharedStorage(Arc::new(Mutex::new(FaultyStorage::new(
            FileStorage::open(config.journal_path()).unwrap(),
        ))));
        let server = voxeld::server::spawn_with_storage(config.clone(), storage.clone()).unwrap();
        let mut c = Client::connect(&server.socket);
        for i in 0..10 {
            c.result("goxel.add_voxel", json!([i, 0, 0, 9, 9, 9, 255]));
        }
        let acknowledged = c.status_json()["seq"].clone();
        let len = storage.lock().len().unwrap();

        // The disk fills up: a few bytes of the next record fit, then ENOSPC.
        storage.lock().set_space(Some(5));
        for attempt in 0..3 {
            let refused = c.add(100);
            let error = journal_error(&refused);
            let message = error["message"].as_str().unwrap();
            assert!(message.contains("disk is full"), "{fsync:?}: {message}");
            assert_eq!(error["data"]["journal"], "write_error", "{refused}");
            assert!(
                error["data"]["retry"].as_str().unwrap().contains("space"),
                "{refused}"
            );
            assert!(
                !c.exists(100),
                "{fsync:?} attempt {attempt}: applied anyway"
            );
            assert_eq!(
                storage.lock().len().unwrap(),
                len,
                "{fsync:?}: the failed write was cut back out"
            );
        }
        let script = c.call(
            "goxel.execute_script",
            json!({"script": "goxel.addVoxel(101,0,0,[1,1,1,255]); 1"}),
        );
        journal_error(&script);
        // Reads work; the status says what is wrong, and that the journal has not failed.
        assert!(c.exists(3));
        let status = c.status_json();
        assert_eq!(status["journal"]["state"], "write_error", "{status}");
        assert!(
            status["journal"]["error"]
                .as_str()
                .unwrap()
                .contains("disk is full")
        );
        assert_eq!(status["read_only"], false, "{status}");
        assert_eq!(status["seq"], acknowledged);

        // Space returns: the next edit goes through, with nothing in between.
        storage.lock().set_space(None);
        c.result("goxel.add_voxel", json!([100, 0, 0, 1, 2, 3, 255]));
        assert_eq!(c.status_json()["journal"]["state"], "ok");

        // A plain I/O error on a write behaves the same.
        let next = storage.lock().append_count();
        storage.lock().fail_append_at(next);
        let refused = c.add(102);
        assert!(
            journal_error(&refused)["message"]
                .as_str()
                .unwrap()
                .contains("injected append failure"),
            "{refused}"
        );
        c.result("goxel.add_voxel", json!([102, 0, 0, 1, 2, 3, 255]));

        // A torn write whose cut-back fails too: edits are refused until the truncate works,
        // then the journal is clean again.
        let next = storage.lock().append_count();
        storage.lock().tear_append_at(next, 7);
        storage.lock().fail_truncate(true);
        journal_error(&c.add(103));
        journal_error(&c.add(103));
        assert!(!c.exists(103));
        storage.lock().fail_truncate(false);
        c.result("goxel.add_voxel", json!([103, 0, 0, 1, 2, 3, 255]));
        let done = c.status_json();
        assert_eq!(done["seq"], acknowledged.as_u64().unwrap() + 3);
        drop(c);
        server.stop().unwrap();

        // The file holds exactly the acknowledged edits: a restart (which moves the file into
        // the segment directory) recovers them.
        let server = voxeld::server::spawn(config.clone()).unwrap();
        let mut c = Client::connect(&server.socket);
        let status = c.status_json();
        assert_eq!(status["world_hash"], done["world_hash"], "{fsync:?}");
        assert_eq!(status["seq"], done["seq"]);
        for i in [0, 9, 100, 102, 103] {
            assert!(c.exists(i), "{fsync:?}: edit at {i} lost");
        }
        assert!(!c.exists(101));
        server.stop().unwrap();
    }
}

fn call(
    world: &mut VoxelWorld,
    p: &mut Persistence<FaultyStorage<MemStorage>>,
    method: &str,
    params: Value,
) -> Result<Value, voxeld::rpc::RpcError> {
    let raw = serde_json::value::to_raw_value(&params).unwrap();
    let params = Params::parse(&raw).unwrap();
    let mut clock = methods::simulation::SimClock::new(&Config::default());
    let mut ctx = Ctx {
        world,
        journal: p,
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

/// #12: a failed group sync after `goxel.step` under `Always`. The ticks cannot be taken back,
/// so they stay in memory only: the step's reply is withdrawn (the loop answers the group
/// with the error), the journal refuses edits and further ticks, no snapshot is written, not
/// even at shutdown, and a restart replays the journal without them.
#[test]
fn a_failed_sync_after_a_simulation_step_under_always_is_never_acknowledged_or_snapshotted() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    config.journal.fsync = FsyncPolicy::Always;
    config.journal.snapshot.every_records = 0;
    config.journal.snapshot.on_shutdown = true;
    let mut world = VoxelWorld::new(world_settings(&config));
    let mut p =
        Persistence::open_with_storage(&config, &mut world, FaultyStorage::new(MemStorage::new()))
            .unwrap();
    call(
        &mut world,
        &mut p,
        "goxel.set_simulation",
        json!({"running": false, "rules": [{"Fall": {"matches": ["#C2B280"]}}]}),
    )
    .unwrap();
    call(
        &mut world,
        &mut p,
        "goxel.procedural_shape",
        json!({"shape": "cube", "size": [3, 3, 3], "center": [0, 0, 20], "color": [194, 178, 128]}),
    )
    .unwrap();
    p.end_of_iteration(&mut world).unwrap();
    let synced = (world.snapshot().hash_hex(), world.seq(), world.tick());

    let stepped = call(&mut world, &mut p, "goxel.step", json!({"ticks": 3})).unwrap();
    assert!(stepped["changed_voxels"].as_u64().unwrap() > 0, "{stepped}");
    let next = p.writer().storage().sync_count();
    p.writer_mut().storage_mut().fail_sync_at(next);
    let reason = p.end_of_iteration(&mut world).unwrap_err();
    assert!(reason.contains("injected sync failure"), "{reason}");
    // The ticks stay in memory (a tick has no inverse) ...
    assert_eq!(world.tick(), synced.2 + 3);
    // ... but not in the journal: a restart replays to the synced world.
    let bytes = p.writer().storage().inner().bytes().to_vec();
    let scan = scan(&MemStorage::from_bytes(bytes)).unwrap();
    let mut replayed = VoxelWorld::new(world_settings(&config));
    replay_records(&mut replayed, &scan, 0, None).unwrap();
    assert_eq!(
        (
            replayed.snapshot().hash_hex(),
            replayed.seq(),
            replayed.tick()
        ),
        synced
    );
    // Edits and further ticks are refused; reads work and the status says so.
    assert!(p.refusal().is_some());
    for (method, params) in [
        ("goxel.step", json!({"ticks": 1})),
        (
            "goxel.add_voxel",
            json!({"x": 0, "y": 0, "z": 0, "color": [1, 2, 3, 255]}),
        ),
    ] {
        let e = call(&mut world, &mut p, method, params).unwrap_err();
        assert_eq!(e.code, codes::JOURNAL, "{method}: {e:?}");
    }
    assert_eq!(world.tick(), synced.2 + 3, "no tick ran after the failure");
    let status = call(&mut world, &mut p, "goxel.get_status", json!({})).unwrap();
    assert_eq!(status["journal"]["state"], "failed", "{status}");
    assert_eq!(status["read_only"], true);
    // No snapshot of a world the journal cannot reproduce, even at shutdown.
    p.shutdown(&world);
    assert!(
        !config.snapshot_path().exists(),
        "a snapshot holding the lost ticks was written"
    );
}
