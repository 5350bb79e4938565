//! Live clients end to end: subscriptions and their notifications, coalescing of a subscriber
//! that never reads, `goxel.get_chunks`, over the real Unix socket (and, in
//! `tests/network_transports.rs`, over TCP and WebSocket).

mod support;

use std::io::{BufRead, Read, Write};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use support::{Client, TestServer};

/// Reads lines until the reply with `id`, keeping the notifications met on the way.
fn call(
    client: &mut Client,
    notes: &mut Vec<Value>,
    id: u64,
    method: &str,
    params: Value,
) -> Value {
    client.send_line(
        &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string(),
    );
    loop {
        let v = client.read_json();
        if v.get("id").is_some() {
            assert_eq!(v["id"], id, "{v}");
            return v;
        }
        notes.push(v);
    }
}

fn ok(reply: Value) -> Value {
    assert!(reply.get("error").is_none(), "{reply}");
    reply["result"].clone()
}

#[test]
fn subscribe_notify_unsubscribe_over_the_unix_socket() {
    let server = TestServer::start();
    let mut watcher = server.client();
    let mut editor = server.client();
    let mut notes = Vec::new();
    let sub = ok(call(
        &mut watcher,
        &mut notes,
        1,
        "goxel.subscribe",
        json!({"events": ["world_changed", "tick", "script_finished"]}),
    ));
    let id = sub["subscription"].as_u64().unwrap();
    assert_eq!(
        sub["events"],
        json!(["world_changed", "script_finished", "tick"])
    );

    ok(editor.call(
        "goxel.add_voxel",
        json!({"x": 17, "y": 0, "z": -1, "color": [1, 2, 3, 255]}),
    ));
    let seq = editor.result("goxel.get_status", json!({}))["seq"].clone();
    let note = watcher.read_json();
    assert_eq!(note["method"], "goxel.world_changed", "{note}");
    assert!(note.get("id").is_none(), "a notification has no id: {note}");
    let p = &note["params"];
    assert_eq!(p["subscription"], id);
    assert_eq!(p["seq"], seq);
    assert_eq!(p["chunks"], json!([[1, 1, 0, -1]]));
    assert_eq!(p["bbox"], json!({"min": [16, 0, -16], "max": [31, 15, -1]}));

    // A tick, and a finished script (with its edit), each notified.
    ok(editor.call("goxel.step", json!({"ticks": 1})));
    let note = watcher.read_json();
    assert_eq!(note["method"], "goxel.tick", "{note}");
    assert_eq!(note["params"]["tick"], 1);
    ok(editor.call(
        "goxel.execute_script",
        json!({"script": "goxel.addVoxel(0, 40, 0, [9, 9, 9, 255]); 7"}),
    ));
    let mut methods: Vec<String> = (0..2)
        .map(|_| watcher.read_json()["method"].as_str().unwrap().to_string())
        .collect();
    methods.sort();
    assert_eq!(methods, ["goxel.script_finished", "goxel.world_changed"]);

    let r = ok(call(
        &mut watcher,
        &mut notes,
        2,
        "goxel.unsubscribe",
        json!({"subscription": id}),
    ));
    assert_eq!(r["unsubscribed"], id);
    ok(editor.call(
        "goxel.add_voxel",
        json!({"x": 0, "y": 0, "z": 0, "color": [1, 2, 3, 255]}),
    ));
    // The next line the watcher sees is its own reply: no notification came in between.
    let pong = call(&mut watcher, &mut notes, 3, "ping", json!({}));
    assert!(pong["result"]["pong"] == true);
    assert!(notes.is_empty(), "{notes:?}");
    // Unsubscribing twice, or someone else's subscription, is an error naming the field.
    let e = call(
        &mut watcher,
        &mut notes,
        4,
        "goxel.unsubscribe",
        json!({"subscription": id}),
    );
    assert_eq!(e["error"]["code"], -32602, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("subscription"),
        "{e}"
    );
}

#[test]
fn filters_keep_other_layers_and_regions_quiet_and_bad_events_are_named() {
    let server = TestServer::start();
    let mut watcher = server.client();
    let mut editor = server.client();
    let mut notes = Vec::new();
    ok(call(
        &mut watcher,
        &mut notes,
        1,
        "goxel.subscribe",
        json!({"events": ["world_changed"], "region": {"min": [100, 100, 100], "max": [120, 120, 120]}}),
    ));
    ok(editor.call(
        "goxel.add_voxel",
        json!({"x": 0, "y": 0, "z": 0, "color": [1, 2, 3, 255]}),
    ));
    ok(editor.call(
        "goxel.add_voxel",
        json!({"x": 110, "y": 100, "z": 100, "color": [1, 2, 3, 255]}),
    ));
    let note = watcher.read_json();
    assert_eq!(
        note["params"]["chunks"],
        json!([[1, 6, 6, 6]]),
        "only the edit inside the region: {note}"
    );
    let e = call(
        &mut watcher,
        &mut notes,
        2,
        "goxel.subscribe",
        json!({"events": ["world_changed", "explosions"]}),
    );
    assert_eq!(e["error"]["code"], -32602);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("events[1]"),
        "{e}"
    );
}

#[test]
fn a_subscriber_that_never_reads_gets_one_resync_and_bounded_output_and_others_get_everything() {
    let server = TestServer::start_with(|c| c.subscriptions.max_pending_bytes = 64 << 10);
    // The sleeper subscribes and then reads nothing until the end.
    let mut sleeper = std::os::unix::net::UnixStream::connect(&server.socket).unwrap();
    sleeper
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"goxel.subscribe\"}\n")
        .unwrap();
    let mut watcher = server.client();
    let mut editor = server.client();
    let mut notes = Vec::new();
    ok(call(
        &mut watcher,
        &mut notes,
        1,
        "goxel.subscribe",
        json!({}),
    ));
    // Each edit sets one voxel in each of 2744 chunks: a notification of about 40 kB.
    let edits = 40;
    let mut watched = 0;
    let mut last_seq = 0;
    for i in 0..edits {
        let voxels: Vec<Value> = (0..14 * 14 * 14)
            .map(|k| json!({"x": (k % 14) * 16, "y": (k / 14 % 14) * 16, "z": (k / 196) * 16, "r": i, "g": 1, "b": 2}))
            .collect();
        ok(editor.call("add_voxels", json!({"voxels": voxels})));
        let note = watcher.read_json();
        assert_eq!(note["method"], "goxel.world_changed");
        assert_eq!(
            note["params"]["chunk_count"],
            2744,
            "{}",
            &note.to_string()[..200]
        );
        watched += 1;
        last_seq = note["params"]["seq"].as_u64().unwrap();
    }
    assert_eq!(watched, edits);
    let status = editor.result("goxel.get_status", json!({}));
    assert_eq!(
        status["seq"], last_seq,
        "the reading subscriber saw every edit"
    );

    // What the sleeper finds when it finally reads: some notifications, then one resync, and
    // far less than the 1.6 MB the edits produced.
    sleeper
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut bytes = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let started = Instant::now();
    loop {
        match sleeper.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
        assert!(started.elapsed() < Duration::from_secs(20));
    }
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines[0]["result"]["subscription"].is_u64(), "{}", lines[0]);
    let resyncs = lines
        .iter()
        .filter(|l| l["method"] == "goxel.resync")
        .count();
    let changed = lines
        .iter()
        .filter(|l| l["method"] == "goxel.world_changed")
        .count();
    assert_eq!(resyncs, 1, "one resync notice");
    assert_eq!(lines.last().unwrap()["method"], "goxel.resync");
    assert!(
        changed < edits / 2,
        "{changed} notifications of {edits} reached the sleeper"
    );
    assert!(
        text.len() < 3 << 20,
        "{} bytes queued for a client that never read",
        text.len()
    );

    // Having read, it is notified again.
    ok(editor.call(
        "goxel.add_voxel",
        json!({"x": 0, "y": 0, "z": 0, "color": [1, 2, 3, 255]}),
    ));
    sleeper
        .set_read_timeout(Some(support::READ_TIMEOUT))
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(&sleeper)
        .read_line(&mut line)
        .unwrap();
    let note: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(note["method"], "goxel.world_changed", "{note}");
}

#[test]
fn get_chunks_round_trips_to_what_get_voxel_reads() {
    let server = TestServer::start();
    let mut c = server.client();
    ok(c.call("goxel.procedural_shape", json!({"shape": "sphere", "size": [13, 13, 13], "position": [8, 8, 8], "color": [200, 10, 10, 255]})));
    for i in 0..40 {
        ok(c.call("goxel.add_voxel", json!({"x": i % 16, "y": (i * 7) % 16, "z": (i * 3) % 16, "color": [i * 6, 255 - i, 3, 255]})));
    }
    let r = c.result(
        "goxel.get_chunks",
        json!({"chunks": [[1, 0, 0, 0], [1, 5, 5, 5]]}),
    );
    assert_eq!(r["encoding"], "rle1");
    let b64 = base64::engine::general_purpose::STANDARD;
    let data = b64
        .decode(r["chunks"][0]["data"].as_str().unwrap())
        .unwrap();
    let voxels = voxeld::chunk_encoding::decode(&data).unwrap();
    for z in 0..16 {
        for y in 0..16 {
            for x in 0..16 {
                let v = c.result("goxel.get_voxel", json!({"x": x, "y": y, "z": z}));
                let want: [u8; 4] = serde_json::from_value(v["color"].clone()).unwrap();
                assert_eq!(voxels[x + 16 * y + 256 * z], want, "at {x},{y},{z}");
            }
        }
    }
    let empty = voxeld::chunk_encoding::decode(
        &b64.decode(r["chunks"][1]["data"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(empty.iter().all(|v| *v == [0, 0, 0, 0]));
    // By region: the existing chunks only.
    let r = c.result(
        "goxel.get_chunks",
        json!({"region": {"min": [-100, -100, -100], "max": [100, 100, 100]}}),
    );
    assert_eq!(r["chunks"].as_array().unwrap().len(), 1, "{r}");
    let e = c.error("goxel.get_chunks", json!({"chunks": [[1, 0, "x", 0]]}));
    assert!(
        e["message"].as_str().unwrap().contains("chunks[0][2]"),
        "{e}"
    );
}
