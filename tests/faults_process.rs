//! Process faults against the real `voxeld` binary (issue 12, docs/RELIABILITY.md): SIGTERM
//! while clients are editing. (`kill -9` is in `tests/crash_recovery.rs`.)

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use support::child::{BIN, ChildServer, START_TIMEOUT, wait_timeout};

const CLIENTS: i32 = 4;

/// What one client had acknowledged: `(position, colour)` of each edit that got a success.
type Acknowledged = Vec<((i32, i32, i32), [u8; 4])>;

/// Edits distinct voxels (every fifth through a script) until the connection breaks.
fn edit_until_gone(server: &ChildServer, client: i32) -> Acknowledged {
    let mut c = server.client();
    let mut acknowledged = Vec::new();
    let mut i = 0;
    loop {
        let pos = (i % 64, client, i / 64);
        let color = [client as u8, (i % 256) as u8, (i / 256 % 256) as u8, 255];
        let reply = if i % 5 == 4 {
            let script = format!(
                "goxel.addVoxel({}, {}, {}, [{}, {}, {}, 255]); 1",
                pos.0, pos.1, pos.2, color[0], color[1], color[2]
            );
            c.try_call("goxel.execute_script", json!({ "script": script }))
        } else {
            c.try_call(
                "goxel.add_voxel",
                json!({"x": pos.0, "y": pos.1, "z": pos.2, "color": color}),
            )
        };
        let Some(reply) = reply else {
            return acknowledged;
        };
        let ok = match reply.get("result") {
            Some(Value::Object(r)) if r.contains_key("success") => r["success"] == true,
            Some(_) => true,
            None => false,
        };
        if ok {
            acknowledged.push((pos, color));
        }
        i += 1;
    }
}

/// `voxeld replay DATA`: the newest snapshot and the journal segments after it.
fn replay(data: &Path) -> Value {
    let out = Command::new(BIN).arg("replay").arg(data).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn sigterm_under_load(fsync: &str) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.ron");
    std::fs::write(
        &config,
        format!("(\n  scripts: (workers: 2),\n  journal: (fsync: {fsync}),\n)\n"),
    )
    .unwrap();
    let mut server = ChildServer::start(dir.path(), &config);
    let acknowledged: Vec<Acknowledged> = std::thread::scope(|s| {
        let server = &server;
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| s.spawn(move || edit_until_gone(server, client)))
            .collect();
        std::thread::sleep(Duration::from_millis(600));
        server.signal_term();
        clients.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let status = wait_timeout(&mut server.child, START_TIMEOUT);
    assert!(
        status.success(),
        "{fsync}: exit status {status} after SIGTERM"
    );
    assert!(
        !server.socket.exists(),
        "{fsync}: the socket file is removed"
    );
    let count: usize = acknowledged.iter().map(Vec::len).sum();
    assert!(
        count > 100,
        "{fsync}: the clients were editing ({count} edits)"
    );

    // The journal is complete: it checks clean and the restart finds every acknowledged edit.
    let data = dir.path().join("data");
    let check = Command::new(BIN)
        .args(["journal", "check"])
        .arg(data.join("journal"))
        .output()
        .unwrap();
    assert!(check.status.success(), "{fsync}: {check:?}");
    let server = ChildServer::start(dir.path(), &config);
    let mut c = server.client();
    for (pos, color) in acknowledged.iter().flatten() {
        assert_eq!(
            c.voxel(*pos),
            Some(*color),
            "{fsync}: acknowledged edit at {pos:?}"
        );
    }
    let (hash, seq) = c.status();
    assert!(seq as usize >= count, "{fsync}: seq {seq} < {count}");
    let replayed = replay(&data);
    assert_eq!(replayed["world_hash"], hash.as_str(), "{fsync}: {replayed}");
    assert_eq!(replayed["seq"], seq, "{fsync}");
    server.terminate();
}

#[test]
fn sigterm_under_load_shuts_down_cleanly_and_loses_nothing_acknowledged_fsync_always() {
    sigterm_under_load("Always");
}

#[test]
fn sigterm_under_load_shuts_down_cleanly_and_loses_nothing_acknowledged_fsync_never() {
    sigterm_under_load("Never");
}
