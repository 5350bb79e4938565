//! The determinism promise, end to end: a live server fed by many concurrent clients replays
//! from its journal to the hash it reported (at the end and at an earlier seq), and a batch file
//! gives one hash whatever the worker count and however often it runs.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use support::{Client, TestServer};
use voxeld::rpc::codes;

const BIN: &str = env!("CARGO_BIN_EXE_voxeld");
const CLIENTS: i64 = 8;
const OPS_PER_PHASE: i64 = 27;
const SHAPES: [&str; 3] = ["sphere", "cube", "cone"];

/// The `i`-th request of client `k`: scripts (some reading what others wrote) and RPC edits,
/// all in one small region so that their order matters.
fn request(k: i64, i: i64) -> (&'static str, Value) {
    match (i + k) % 9 {
        0 => (
            "goxel.execute_script",
            json!({"script": format!(
                "for (let j = 0; j < 10; j++) goxel.addVoxel(j % 5, {k} % 4, j, [{}, {}, j * 20, 255]);",
                k * 30, i
            )}),
        ),
        1 => (
            "goxel.execute_script",
            json!({"script": format!(
                "goxel.fillBox(0, 0, 0, 3, 3, {}, [{}, 7, {}, 255]);\n\
                 const c = goxel.getVoxel({}, {}, 1);\n\
                 if (c) goxel.addVoxel(-1, -1, {}, c); else goxel.addVoxel(-2, -2, {}, [1, 1, 1, 255]);\n\
                 if (Math.random() < 0.5) goxel.addVoxel(-3, {k}, {i}, [9, 9, 9, 255]);",
                i % 4, k * 20, i, i % 5, k % 4, k * 100 + i, k * 100 + i
            )}),
        ),
        2 => (
            "goxel.add_voxel",
            json!({"x": i % 5, "y": k % 3, "z": i % 4, "color": [k * 25, i, 200]}),
        ),
        3 => (
            "goxel.remove_voxel",
            json!({"x": i % 5, "y": k % 3, "z": 0}),
        ),
        4 => (
            "goxel.paint_voxels",
            json!({"positions": [[0, 0, 0], [1, 1, 1], [2, k % 4, i % 4]], "color": [i, k, 77]}),
        ),
        5 => (
            "goxel.procedural_shape",
            json!({"shape": SHAPES[(i % 3) as usize], "size": 5,
                   "center": [k % 3, i % 4, 1], "color": [k * 10, 100, i]}),
        ),
        6 => (
            "goxel.batch_operations",
            json!({"operations": [
                {"op": "add", "x": k % 4, "y": i % 4, "z": 2, "color": [1, k, i]},
                {"op": "paint", "x": 1, "y": 1, "z": 1, "color": [k, i, 3]},
                {"op": "remove", "x": i % 4, "y": k % 4, "z": 3},
            ]}),
        ),
        7 => ("goxel.undo", json!({})),
        _ => ("goxel.redo", json!({})),
    }
}

/// Runs `OPS_PER_PHASE` requests of every client concurrently and waits for all replies.
fn run_phase(server: &TestServer, phase: i64) {
    std::thread::scope(|scope| {
        for k in 0..CLIENTS {
            let mut client = server.client();
            scope.spawn(move || {
                for i in phase * OPS_PER_PHASE..(phase + 1) * OPS_PER_PHASE {
                    let (method, params) = request(k, i);
                    let reply = client.call(method, params.clone());
                    if let Some(error) = reply.get("error") {
                        // Undo and redo may find nothing to do; nothing else may fail.
                        assert!(
                            matches!(method, "goxel.undo" | "goxel.redo")
                                && error["code"] == codes::EDIT_REFUSED,
                            "{method} {params}: {reply}"
                        );
                    }
                }
            });
        }
    });
}

fn status(client: &mut Client) -> (String, u64) {
    let s = client.result("goxel.get_status", Value::Null);
    (
        s["world_hash"].as_str().unwrap().to_string(),
        s["seq"].as_u64().unwrap(),
    )
}

fn replay(journal: &Path, until: Option<u64>) -> Value {
    let mut command = Command::new(BIN);
    command.arg("replay").arg(journal);
    if let Some(seq) = until {
        command.arg("--until-seq").arg(seq.to_string());
    }
    let out = command.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn eight_concurrent_clients_replay_to_the_live_hash_at_the_end_and_midway() {
    let mut server = TestServer::start_with(|c| c.scripts.workers = 4);
    let journal = server.dir.path().join("data").join("journal");
    let mut observer = server.client();

    run_phase(&server, 0);
    let (midway_hash, midway_seq) = status(&mut observer);
    run_phase(&server, 1);
    let (final_hash, final_seq) = status(&mut observer);
    assert!(0 < midway_seq && midway_seq < final_seq);
    assert_ne!(midway_hash, final_hash);

    // Every edit is written to the journal before its reply, so the file is complete now.
    let end = replay(&journal, None);
    assert_eq!(end["world_hash"], final_hash.as_str(), "{end}");
    assert_eq!(end["seq"], final_seq);
    let midway = replay(&journal, Some(midway_seq));
    assert_eq!(midway["world_hash"], midway_hash.as_str(), "{midway}");
    assert_eq!(midway["seq"], midway_seq);

    // The server agrees after it stops, too (its shutdown changes nothing).
    server.stop();
    assert_eq!(replay(&journal, None)["world_hash"], final_hash.as_str());
}

/// A batch file mixing edits, scripts that use `Math.random()`, shapes, layers and undo.
fn batch_file() -> String {
    let random_script = |n: i32| {
        json!({"script": format!(
            "for (let i = 0; i < 40; i++) {{\n\
               const x = Math.floor(Math.random() * 16) - 8, y = Math.floor(Math.random() * 16);\n\
               goxel.addVoxel(x, y, {n}, [Math.floor(Math.random() * 255), {n}, 100, 255]);\n\
             }}\n\
             const c = goxel.getVoxel(0, 0, 0);\n\
             if (c) goxel.fillBox(20, 0, {n}, 22, 2, {n}, c);"
        )})
    };
    let requests = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "goxel.add_voxel", "params": {"x": 0, "y": 0, "z": 0, "color": [255, 0, 0]}}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "goxel.execute_script", "params": random_script(1)}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "goxel.procedural_shape", "params": {"shape": "sphere", "size": 9, "center": [0, 0, 10], "color": "#3366ff"}}),
        json!({"jsonrpc": "2.0", "id": 4, "method": "goxel.create_layer", "params": {"name": "second"}}),
        json!({"jsonrpc": "2.0", "id": 5, "method": "goxel.execute_script", "params": random_script(2)}),
        json!({"jsonrpc": "2.0", "id": 6, "method": "goxel.procedural_shape", "params": {"shape": "pyramid", "size": [7, 5, 7], "center": [5, 5, 5], "color": [0, 200, 0]}}),
        json!({"jsonrpc": "2.0", "id": 7, "method": "goxel.undo"}),
        json!({"jsonrpc": "2.0", "id": 8, "method": "goxel.batch_operations", "params": {"operations": [
            {"op": "add", "x": 1, "y": 1, "z": 1, "color": [1, 2, 3]},
            {"op": "paint", "x": 0, "y": 0, "z": 10, "color": [9, 9, 9]},
            {"op": "remove", "x": 0, "y": 0, "z": 0},
        ]}}),
        json!({"jsonrpc": "2.0", "id": 9, "method": "goxel.set_active_layer", "params": {"layer_id": 1}}),
        json!({"jsonrpc": "2.0", "id": 10, "method": "goxel.paint_voxels", "params": {"positions": [[0, 0, 10], [0, 1, 10]], "color": [50, 60, 70]}}),
        json!({"jsonrpc": "2.0", "id": 11, "method": "goxel.undo"}),
        json!({"jsonrpc": "2.0", "id": 12, "method": "goxel.flood_fill", "params": {"x": 0, "y": 0, "z": 10, "color": [200, 10, 10]}}),
    ];
    let mut text: String = requests.iter().map(|r| format!("{r}\n")).collect();
    // A JSON-RPC batch of scripts on one line: batch mode still runs them one after another.
    let array = json!([
        {"jsonrpc": "2.0", "id": 13, "method": "goxel.execute_script", "params": random_script(3)},
        {"jsonrpc": "2.0", "id": 14, "method": "goxel.execute_script", "params": random_script(4)},
        {"jsonrpc": "2.0", "id": 15, "method": "goxel.remove_voxel", "params": {"x": 1, "y": 1, "z": 1}},
        {"jsonrpc": "2.0", "id": 16, "method": "goxel.execute_script", "params": random_script(5)},
    ]);
    text.push_str(&format!("{array}\n"));
    text
}

/// Runs `voxeld batch` and returns its final line, after checking no request failed.
fn run_batch(file: &Path, workers: usize) -> Value {
    let out = Command::new(BIN)
        .arg("batch")
        .arg(file)
        .arg("--workers")
        .arg(workers.to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (summary, replies) = lines.split_last().unwrap();
    assert_eq!(replies.len(), 13, "{stdout}");
    for reply in replies.iter().flat_map(|r| match r {
        Value::Array(items) => items.clone(),
        one => vec![one.clone()],
    }) {
        assert!(reply.get("result").is_some(), "{reply}");
    }
    summary.clone()
}

#[test]
fn batch_file_gives_one_hash_for_any_worker_count_and_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("edits.ndjson");
    std::fs::write(&file, batch_file()).unwrap();
    let first = run_batch(&file, 1);
    assert!(first["voxel_count"].as_u64().unwrap() > 100, "{first}");
    assert_eq!(first["seq"], 16);
    for workers in [1, 4] {
        for run in 0..3 {
            let summary = run_batch(&file, workers);
            assert_eq!(summary, first, "workers {workers}, run {run}");
        }
    }
}
