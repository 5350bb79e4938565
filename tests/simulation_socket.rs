//! The simulation on a live server: it ticks on its own, answers while it ticks, pauses, steps
//! on request, and its journal (ticks, edits, scripts and rule changes from several clients)
//! replays to the live hash whatever the configuration says at replay time.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use support::{Client, TestServer, eventually};
use voxeld::config::{Config, RuleConfig};

const BIN: &str = env!("CARGO_BIN_EXE_voxeld");
const SAND: [u8; 3] = [194, 178, 128];
const WATER: [u8; 3] = [48, 112, 255];

fn sand_rules() -> Vec<RuleConfig> {
    serde_json::from_value(json!([
        {"Fall": {"matches": ["#C2B280"], "slide": true}},
        {"Flow": {"matches": ["#3070FF"], "spread": 6}},
    ]))
    .unwrap()
}

fn with_sand(c: &mut Config) {
    c.tick_rate_hz = 100;
    c.simulation.seed = 11;
    c.simulation.rules = sand_rules();
    c.scripts.workers = 2;
}

fn status(client: &mut Client) -> Value {
    client.result("goxel.get_status", Value::Null)
}

fn replay(journal: &Path) -> Value {
    replay_until(journal, None)
}

/// `voxeld replay`, up to `until` (a live server may have ticked on since it answered).
fn replay_until(journal: &Path, until: Option<&Value>) -> Value {
    let mut command = Command::new(BIN);
    command.arg("replay").arg(journal);
    if let Some(seq) = until {
        command.arg("--until-seq").arg(seq.to_string());
    }
    let out = command.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The floor every test builds on.
fn floor(client: &mut Client) {
    client.result(
        "goxel.procedural_shape",
        json!({"shape": "cube", "size": [24, 24, 1], "center": [0, 0, 0], "color": [90, 90, 90]}),
    );
}

#[test]
fn the_server_ticks_on_its_own_and_get_status_reports_the_tick() {
    let server = TestServer::start_with(with_sand);
    let mut c = server.client();
    floor(&mut c);
    c.result(
        "goxel.add_voxel",
        json!({"x": 0, "y": 0, "z": 30, "color": SAND}),
    );
    assert!(
        eventually(Duration::from_secs(10), || {
            let v = c.result("goxel.get_voxel", json!({"x": 0, "y": 0, "z": 1}));
            v["exists"] == true || v["color"][3] == 255
        }),
        "the grain lands on the floor"
    );
    let tick = status(&mut c)["tick"].as_u64().unwrap();
    assert!(tick >= 29, "tick {tick}");
    let sim = c.result("goxel.get_simulation", Value::Null);
    assert_eq!(sim["running"], true);
    assert_eq!(sim["tick_rate"], 100);
    assert_eq!(sim["seed"], 11);
    assert_eq!(
        sim["rules"][0],
        json!({"Fall": {"matches": ["#c2b280"], "slide": true}})
    );
    assert!(sim["last_tick"]["duration_us"].is_u64(), "{sim}");
}

#[test]
fn pausing_stops_all_change_and_step_runs_ticks_on_request() {
    let server = TestServer::start_with(with_sand);
    let mut c = server.client();
    let paused = c.result("goxel.set_simulation", json!({"running": false}));
    assert_eq!(paused["running"], false);
    assert_eq!(paused["ticking"], false);
    floor(&mut c);
    c.result(
        "goxel.procedural_shape",
        json!({"shape": "cube", "size": [3, 3, 3], "center": [0, 0, 10], "color": SAND}),
    );
    let before = status(&mut c);
    std::thread::sleep(Duration::from_millis(300));
    let after = status(&mut c);
    for field in ["world_hash", "seq", "tick"] {
        assert_eq!(before[field], after[field], "{field} moved while paused");
    }
    let stepped = c.result("goxel.step", json!({"ticks": 3}));
    assert_eq!(stepped["ticks"], 3);
    assert_eq!(stepped["tick"], before["tick"].as_u64().unwrap() + 3);
    assert_eq!(
        stepped["seq"],
        before["seq"].as_u64().unwrap() + 1,
        "one Step record"
    );
    assert!(stepped["changed_voxels"].as_u64().unwrap() > 0);
    let s = status(&mut c);
    assert_eq!(s["world_hash"], stepped["world_hash"]);
    assert_eq!(s["tick"], stepped["tick"]);

    let e = c.error("goxel.step", json!({"ticks": 0}));
    assert_eq!(e["code"], -32602);
    let e = c.error(
        "goxel.set_simulation",
        json!({"rules": [{"Flow": {"matches": ["#3070FF"], "spread": 0}}]}),
    );
    assert_eq!(e["code"], -32602);
    assert!(
        e["message"].as_str().unwrap().contains("rules[0].spread"),
        "{e}"
    );
    let e = c.error("goxel.set_simulation", json!({"rules": [{"Melt": {}}]}));
    assert_eq!(e["code"], -32602);
    // Nothing of that changed the world.
    assert_eq!(status(&mut c)["world_hash"], s["world_hash"]);
}

#[test]
fn tick_rate_zero_ticks_only_on_step() {
    let server = TestServer::start_with(|c| {
        with_sand(c);
        c.tick_rate_hz = 0;
    });
    let mut c = server.client();
    c.result(
        "goxel.add_voxel",
        json!({"x": 0, "y": 0, "z": 5, "color": SAND}),
    );
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(status(&mut c)["tick"], 0);
    c.result("goxel.step", Value::Null);
    assert_eq!(status(&mut c)["tick"], 1);
    let sim = c.result("goxel.set_simulation", json!({"tick_rate": 200}));
    assert_eq!(sim["ticking"], true);
    assert!(eventually(Duration::from_secs(5), || {
        status(&mut c)["tick"].as_u64().unwrap() > 5
    }));
}

/// Client `k`'s `i`-th request: edits and scripts dropping sand and water, reading what is
/// there (which depends on the ticks), and the odd undo.
fn request(k: i64, i: i64) -> (&'static str, Value) {
    let x = (k * 5 + i) % 16 - 8;
    let y = (k * 3 + i * 7) % 16 - 8;
    match (i + k) % 6 {
        0 => (
            "goxel.add_voxel",
            json!({"x": x, "y": y, "z": 12 + i % 5, "color": SAND}),
        ),
        1 => (
            "goxel.execute_script",
            json!({"script": format!(
                "for (let j = 0; j < 6; j++) goxel.addVoxel({x} + j % 3, {y}, 8 + j, [{}, {}, {}, 255]);\n\
                 const c = goxel.getVoxel({x}, {y}, 1);\n\
                 if (c) goxel.addVoxel({x}, {y}, 20, c);\n\
                 goxel.getTick()",
                WATER[0], WATER[1], WATER[2]
            )}),
        ),
        2 => (
            "goxel.procedural_shape",
            json!({"shape": "cube", "size": [2, 2, 3], "center": [y, x, 15], "color": SAND}),
        ),
        3 => ("goxel.remove_voxel", json!({"x": x, "y": y, "z": 1})),
        4 => (
            "goxel.execute_script",
            json!({"script": format!(
                "let n = 0; for (let z = 1; z < 6; z++) if (goxel.getVoxel({x}, {y}, z)) n++;\n\
                 goxel.addVoxel({y}, {x}, 10 + n, [{}, {}, {}, 255]); n",
                SAND[0], SAND[1], SAND[2]
            )}),
        ),
        _ => ("goxel.undo", json!({})),
    }
}

fn run_clients(server: &TestServer, clients: i64, ops: i64) {
    std::thread::scope(|scope| {
        for k in 0..clients {
            let mut client = server.client();
            scope.spawn(move || {
                for i in 0..ops {
                    let (method, params) = request(k, i);
                    let reply = client.call(method, params.clone());
                    if let Some(error) = reply.get("error") {
                        assert_eq!(method, "goxel.undo", "{params}: {reply}");
                        assert_eq!(error["code"], -32010, "{reply}");
                    } else if method == "goxel.execute_script" {
                        assert_eq!(reply["result"]["success"], true, "{reply}");
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            });
        }
    });
}

#[test]
fn a_live_run_with_ticks_edits_scripts_and_rule_changes_replays_to_the_live_hash() {
    let mut server = TestServer::start_with(with_sand);
    let journal = server.dir.path().join("data").join("journal");
    let mut c = server.client();
    floor(&mut c);
    run_clients(&server, 4, 30);
    // A rule change at run time, mid-stream: water becomes sand-like, a Life rule joins.
    c.result(
        "goxel.set_simulation",
        json!({"seed": 12, "rules": [
            {"Fall": {"matches": ["#C2B280", "#3070FF"], "slide": true}},
            {"Life": {"alive": ["#40FF40"], "birth": [3], "survive": [1]}},
        ]}),
    );
    c.result(
        "goxel.batch_operations",
        json!({"operations": [
            {"op": "add", "x": 5, "y": 5, "z": 5, "color": [64, 255, 64]},
            {"op": "add", "x": 6, "y": 6, "z": 5, "color": [64, 255, 64]},
            {"op": "add", "x": 7, "y": 7, "z": 6, "color": [64, 255, 64]},
        ]}),
    );
    run_clients(&server, 3, 20);
    // Pause, so no tick can be journaled between the live status and the replay.
    c.result("goxel.set_simulation", json!({"running": false}));
    let live = status(&mut c);
    assert!(live["tick"].as_u64().unwrap() > 10, "{live}");
    // Every tick and edit so far is in the journal (written before its reply); the server
    // ticks on, so replay to the seq it reported.
    let replayed = replay_until(&journal, Some(&live["seq"]));
    assert_eq!(
        replayed["world_hash"], live["world_hash"],
        "{replayed} vs {live}"
    );
    assert_eq!(replayed["seq"], live["seq"]);

    // Stop: the world keeps whatever it reached; replay still agrees.
    c.result("goxel.set_simulation", json!({"running": false}));
    let stopped = status(&mut c);
    server.stop();
    let replayed = replay(&journal);
    assert_eq!(replayed["world_hash"], stopped["world_hash"]);

    // Restart with other rules in the config, paused, from the journal alone: recovery runs
    // each tick under the rules recorded for it and reaches the same world; then the new
    // configuration's rules are recorded and in force.
    let data = server.dir.path().join("data");
    std::fs::remove_file(data.join("snapshot.vxs")).unwrap();
    let dir = server.dir.path().to_path_buf();
    let restarted = voxeld::server::spawn({
        let mut config = Config::default();
        config.socket.path = dir.join("again.sock");
        config.data_dir = data.clone();
        config.simulation.running = false;
        config.simulation.rules =
            serde_json::from_value(json!([{"Decay": {"matches": ["any"], "after": 3}}])).unwrap();
        config
    })
    .unwrap();
    let mut c = Client::connect(&restarted.socket);
    let recovered = status(&mut c);
    assert_eq!(recovered["world_hash"], stopped["world_hash"]);
    assert_eq!(recovered["tick"], stopped["tick"]);
    let sim = c.result("goxel.get_simulation", Value::Null);
    assert_eq!(
        sim["rules"],
        json!([{"Decay": {"matches": ["any"], "into": null, "after": 3}}])
    );
    let stepped = c.result("goxel.step", json!({"ticks": 3}));
    restarted.stop().unwrap();
    let replayed = replay(&journal);
    assert_eq!(replayed["world_hash"], stepped["world_hash"]);
    assert_ne!(
        stepped["world_hash"], stopped["world_hash"],
        "everything decayed"
    );
}

#[test]
fn a_snapshot_carries_the_tick_and_the_rules() {
    let mut server = TestServer::start_with(with_sand);
    let mut c = server.client();
    c.result("goxel.set_simulation", json!({"running": false}));
    floor(&mut c);
    c.result(
        "goxel.procedural_shape",
        json!({"shape": "cube", "size": [4, 4, 4], "center": [0, 0, 9], "color": SAND}),
    );
    c.result("goxel.step", json!({"ticks": 4}));
    let before = status(&mut c);
    server.stop();
    // The journal is gone: only the shutdown snapshot is left, and the config has no rules.
    let data = server.dir.path().join("data");
    std::fs::remove_dir_all(data.join("journal")).unwrap();
    let dir = server.dir.path().to_path_buf();
    let restarted = voxeld::server::spawn({
        let mut config = Config::default();
        config.socket.path = dir.join("again.sock");
        config.data_dir = data;
        config.simulation.running = false;
        config.simulation.rules = sand_rules();
        config.simulation.seed = 11;
        config
    })
    .unwrap();
    let mut c = Client::connect(&restarted.socket);
    let after = status(&mut c);
    assert_eq!(after["world_hash"], before["world_hash"]);
    assert_eq!(after["tick"], 4);
    assert_eq!(
        after["seq"], before["seq"],
        "the same rules: nothing new to record"
    );
    restarted.stop().unwrap();
}

#[test]
fn batch_mode_steps_are_requests_like_any_other() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.ron");
    std::fs::write(
        &rules,
        "(seed: 4, rules: [Fall(matches: [\"#C2B280\"], slide: true)])",
    )
    .unwrap();
    let config = dir.path().join("server.ron");
    std::fs::write(
        &config,
        "(simulation: (file: Some(\"rules.ron\")), tick_rate_hz: 1000)",
    )
    .unwrap();
    let requests = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "goxel.procedural_shape", "params": {"shape": "cube", "size": [9, 9, 1], "center": [0, 0, 0], "color": [9, 9, 9]}}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "goxel.procedural_shape", "params": {"shape": "cube", "size": [2, 2, 5], "center": [0, 0, 8], "color": "#C2B280"}}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "goxel.step", "params": {"ticks": 5}}),
        json!({"jsonrpc": "2.0", "id": 4, "method": "goxel.execute_script", "params": {"script": "goxel.addVoxel(0, 0, 20, [194, 178, 128, 255]); goxel.getTick()"}}),
        json!({"jsonrpc": "2.0", "id": 5, "method": "goxel.step", "params": {"ticks": 40}}),
        json!({"jsonrpc": "2.0", "id": 6, "method": "goxel.get_status"}),
    ];
    let file = dir.path().join("run.ndjson");
    std::fs::write(
        &file,
        requests
            .iter()
            .map(|r| format!("{r}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let run = || {
        let out = Command::new(BIN)
            .arg("batch")
            .arg("--config")
            .arg(&config)
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let lines = |out: String| -> Vec<Value> {
        out.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let first = lines(run());
    assert_eq!(first[2]["result"]["tick"], 5);
    assert_eq!(
        first[3]["result"]["result"], 5,
        "the script read the tick: {}",
        first[3]
    );
    assert_eq!(first[5]["result"]["tick"], 45);
    let again = lines(run());
    for i in [2, 4] {
        assert_eq!(again[i], first[i], "the same steps");
    }
    assert_eq!(again[6], first[6], "the same final hash and seq");
}

#[test]
fn after_timers_survive_a_snapshot_as_a_journal_replay_rebuilds_them() {
    let rules = || -> Vec<RuleConfig> {
        serde_json::from_value(
            json!([{"Decay": {"matches": ["#2A7A2A"], "into": "#808080", "after": 5}}]),
        )
        .unwrap()
    };
    let mut server = TestServer::start_with(|c| {
        c.simulation.running = false;
        c.simulation.rules = rules();
    });
    let mut c = server.client();
    c.result(
        "goxel.procedural_shape",
        json!({"shape": "cube", "size": [4, 4, 1], "center": [0, 0, 0], "color": "#2A7A2A"}),
    );
    c.result("goxel.step", json!({"ticks": 2}));
    c.result(
        "goxel.add_voxel",
        json!({"x": 9, "y": 9, "z": 9, "color": "#2A7A2A"}),
    );
    c.result("goxel.step", json!({"ticks": 1}));
    server.stop();
    // Two copies of the data: one keeps only the snapshot, the other only the journal.
    let data = server.dir.path().join("data");
    let recover = |name: &str, drop: &str| -> Value {
        let dir = server.dir.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        if drop != "snapshot.vxs" {
            std::fs::copy(data.join("snapshot.vxs"), dir.join("snapshot.vxs")).unwrap();
        }
        if drop != "journal" {
            std::fs::create_dir_all(dir.join("journal")).unwrap();
            for entry in std::fs::read_dir(data.join("journal")).unwrap() {
                let entry = entry.unwrap();
                std::fs::copy(entry.path(), dir.join("journal").join(entry.file_name())).unwrap();
            }
        }
        let running = voxeld::server::spawn({
            let mut config = Config::default();
            config.socket.path = dir.join("s.sock");
            config.data_dir = dir.clone();
            config.simulation.running = false;
            config.simulation.rules = rules();
            config
        })
        .unwrap();
        let mut c = Client::connect(&running.socket);
        let early = c.result("goxel.step", json!({"ticks": 1}));
        assert_eq!(early["changed_voxels"], 0, "tick 4: nothing is due yet");
        let due = c.result("goxel.step", json!({"ticks": 1}));
        assert_eq!(due["changed_voxels"], 16, "tick 5: the first sixteen");
        let last = c.result("goxel.step", json!({"ticks": 2}));
        assert_eq!(last["changed_voxels"], 1, "tick 7: the one added later");
        running.stop().unwrap();
        last
    };
    let from_snapshot = recover("snap", "journal");
    let from_journal = recover("jrnl", "snapshot.vxs");
    assert_eq!(from_snapshot["world_hash"], from_journal["world_hash"]);
    assert_eq!(from_snapshot["tick"], 7);
}
