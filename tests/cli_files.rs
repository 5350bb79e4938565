//! The command line on real files: `voxeld convert` between every format pair it can, journal
//! and data-directory inputs, clear errors for bad input, and `voxeld call` against a server.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_voxeld");

fn sample(name: &str) -> String {
    format!("{}/assets/samples/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn voxeld(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("VOXELD_LOG", "warn")
        .output()
        .unwrap()
}

/// Runs `convert IN OUT`, expecting success; its JSON summary.
fn convert(input: &str, output: &Path) -> Value {
    let out = voxeld(&["convert", input, output.to_str().unwrap()]);
    assert!(out.status.success(), "convert {input}: {out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn convert_keeps_the_world_through_every_readable_format() {
    let dir = tempfile::tempdir().unwrap();
    let first = convert(&sample("goxel-sample.gox"), &dir.path().join("a.vxs"));
    assert_eq!(first["voxel_count"], 137);
    let hash = first["world_hash"].clone();
    let mut previous = dir.path().join("a.vxs");
    for name in ["b.vox", "c.gox", "d.vxs", "e.vox"] {
        let next = dir.path().join(name);
        let r = convert(previous.to_str().unwrap(), &next);
        assert_eq!(r["world_hash"], hash, "{} -> {name}", previous.display());
        previous = next;
    }
    // Meshes are written (with the .mtl beside the .obj) but cannot be read back.
    let obj = dir.path().join("m.obj");
    convert(previous.to_str().unwrap(), &obj);
    assert!(
        std::fs::read_to_string(&obj)
            .unwrap()
            .contains("mtllib m.mtl")
    );
    assert!(dir.path().join("m.mtl").exists());
    convert(previous.to_str().unwrap(), &dir.path().join("m.ply"));
    let out = voxeld(&["convert", obj.to_str().unwrap(), "x.gox"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot be read"),
        "{out:?}"
    );
    // --to overrides the extension.
    let odd = dir.path().join("model.bin");
    let out = voxeld(&[
        "convert",
        &sample("goxel-sample.vox"),
        odd.to_str().unwrap(),
        "--to",
        "gox",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(std::fs::read(&odd).unwrap().starts_with(b"GOX "));
}

#[test]
fn bad_inputs_are_clear_errors_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.gox");
    for (input, reason) in [
        (sample("magicavoxel-not_a.vox"), "not_a.vox"),
        (
            dir.path().join("missing.gox").display().to_string(),
            "missing.gox",
        ),
    ] {
        let out = voxeld(&["convert", &input, target.to_str().unwrap()]);
        assert!(!out.status.success(), "{input}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(reason), "{input}: {err}");
        assert!(!target.exists(), "a failed conversion writes nothing");
    }
    let out = voxeld(&["convert", &sample("goxel-sample.gox"), "out.unknown"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot tell the format"),
        "{out:?}"
    );
}

#[test]
fn call_prints_results_and_fails_on_error_replies() {
    let server = support::TestServer::start();
    let socket = server.socket.to_str().unwrap();
    let out = voxeld(&[
        "call",
        "goxel.add_voxel",
        "[1,2,3,9,8,7,255]",
        "--socket",
        socket,
    ]);
    assert!(out.status.success(), "{out:?}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["color"], json!([9, 8, 7, 255]));
    let out = voxeld(&[
        "call",
        "goxel.get_voxel",
        r#"{"x":1,"y":2,"z":3}"#,
        "--socket",
        socket,
    ]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["exists"], true);
    let out = voxeld(&["call", "goxel.nosuch", "--socket", socket]);
    assert_eq!(out.status.code(), Some(1));
    let e: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(e["code"], -32601);
    let out = voxeld(&["call", "ping", "not json", "--socket", socket]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("PARAMS_JSON"));
}
