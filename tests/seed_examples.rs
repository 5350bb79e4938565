//! The seed document's three Python examples, run unchanged (but for the socket path) against
//! the real `voxeld` binary; then `goxel.get_voxel` sees the cube the first one built.

mod support;

use std::path::Path;
use std::process::Command;

use support::child::{ChildServer, START_TIMEOUT, bare_serve_command, wait_timeout};

/// Starts `voxeld serve` with the extra arguments `extra`.
fn start(dir: &Path, extra: &[&str]) -> ChildServer {
    let mut command = bare_serve_command(dir);
    command.args(extra);
    ChildServer::spawn(command, dir, None)
}

/// One request on a fresh connection.
fn call(server: &ChildServer, line: &str) -> serde_json::Value {
    server.client().request(line)
}

fn run_example(name: &str, socket: &Path, replace: &[(&str, &str)]) -> String {
    let source = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/seed")
            .join(name),
    )
    .unwrap();
    let mut source = source.replace("/tmp/goxel.sock", socket.to_str().unwrap());
    for (from, to) in replace {
        source = source.replace(from, to);
    }
    let out = Command::new("python3")
        .arg("-c")
        .arg(&source)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_seed_examples_run_unchanged_and_the_cube_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let scripts = dir.path().join("scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    std::fs::write(
        scripts.join("script.js"),
        "goxel.addVoxel(10, 10, 10, [0, 0, 255, 255]); 6 * 7",
    )
    .unwrap();
    let server = start(dir.path(), &["--script-dir", scripts.to_str().unwrap()]);

    let out = run_example("execute_script_from_string.py", &server.socket, &[]);
    assert!(out.contains("'success': True"), "{out}");
    assert!(out.contains("'code': 0"), "{out}");
    assert!(
        out.contains("'message': 'Script executed successfully'"),
        "{out}"
    );
    assert!(out.contains("'id': 1"), "{out}");
    for (x, y, z) in [(0, 0, 0), (4, 4, 4), (2, 3, 1)] {
        let v = call(
            &server,
            &format!(
                r#"{{"jsonrpc":"2.0","method":"goxel.get_voxel","params":{{"x":{x},"y":{y},"z":{z}}},"id":9}}"#
            ),
        );
        assert_eq!(v["result"]["exists"], true, "{v}");
        assert_eq!(v["result"]["color"], serde_json::json!([255, 0, 0, 255]));
    }
    let v = call(
        &server,
        r#"{"jsonrpc":"2.0","method":"goxel.get_voxel","params":{"x":5,"y":0,"z":0},"id":9}"#,
    );
    assert_eq!(v["result"]["exists"], false);
    let status = call(
        &server,
        r#"{"jsonrpc":"2.0","method":"goxel.get_status","id":3}"#,
    );
    assert_eq!(status["result"]["voxel_count"], 125);

    let path = scripts.join("script.js");
    let out = run_example(
        "execute_script_from_file.py",
        &server.socket,
        &[("/path/to/script.js", path.to_str().unwrap())],
    );
    assert!(
        out.contains("'success': True") && out.contains("'id': 2"),
        "{out}"
    );
    assert!(out.contains("'result': 42"), "{out}");

    let out = run_example("concurrent_script_execution.py", &server.socket, &[]);
    // Five threads print at once, so lines may interleave: count, don't parse lines.
    assert_eq!(out.matches("'success': True").count(), 5, "{out}");
    for i in 0..5 {
        assert!(out.contains(&format!("Script {i}: {{'jsonrpc'")), "{out}");
        assert!(
            out.contains(&format!("'message': 'Script {i} running'")),
            "logs are returned: {out}"
        );
    }
}

#[test]
fn sigterm_shuts_down_cleanly_and_removes_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path(), &[]);
    server.signal_term();
    let status = wait_timeout(&mut server.child, START_TIMEOUT);
    assert!(status.success(), "exit status {status}");
    assert!(!server.socket.exists(), "socket file removed");
}
