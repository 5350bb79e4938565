//! The script library over a real socket: `goxel.list_scripts`, `goxel.run_script` with
//! checked arguments, reload on change, the result cache and `goxel.get_script_stats`.

mod support;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use support::TestServer;

const CUBE: &str = r##"// A solid cube of one colour.
// @param size int(1..32) = 2 "edge length"
// @param color color = "#ff0000" "colour"
for (let x = 0; x < args.size; x++)
  for (let y = 0; y < args.size; y++)
    for (let z = 0; z < args.size; z++) goxel.addVoxel(x, y, z, args.color);
goxel.getVoxelCount()
"##;

const COUNT: &str = r##"// @description Counts voxels and echoes a label.
// @param label string "required"
// @param scale number = 1.5
({ label: args.label, count: goxel.getVoxelCount(), scale: args.scale, r: Math.random() })
"##;

fn library_server() -> (TestServer, PathBuf) {
    let dir = tempfile::tempdir().unwrap().keep();
    std::fs::write(dir.join("cube.js"), CUBE).unwrap();
    std::fs::write(dir.join("count.js"), COUNT).unwrap();
    std::fs::create_dir(dir.join("trees")).unwrap();
    std::fs::write(dir.join("trees/oak.js"), "// An oak.\n1").unwrap();
    std::fs::write(dir.join("broken.js"), "// @param size integer = 4\n1").unwrap();
    let d = dir.clone();
    let server = TestServer::start_with(move |c| c.scripts.script_dirs = vec![d]);
    (server, dir)
}

fn run(c: &mut support::Client, name: &str, args: Value) -> Value {
    c.call("goxel.run_script", json!({ "name": name, "args": args }))
}

#[test]
fn list_scripts_gives_names_descriptions_and_parameter_schemas() {
    let (server, dir) = library_server();
    let mut c = server.client();
    let r = c.result("goxel.list_scripts", json!({}));
    let names: Vec<&str> = r["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["count", "cube", "trees/oak"]);
    let cube = &r["scripts"][1];
    assert_eq!(cube["description"], "A solid cube of one colour.");
    let schema = &cube["parameters"];
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["properties"]["size"]["type"], "integer");
    assert_eq!(schema["properties"]["size"]["default"], 2);
    assert_eq!(schema["properties"]["size"]["minimum"], 1.0);
    assert_eq!(schema["properties"]["size"]["description"], "edge length");
    assert_eq!(schema["required"], json!([]));
    assert_eq!(r["scripts"][0]["parameters"]["required"], json!(["label"]));
    assert_eq!(
        r["scripts"][0]["description"],
        "Counts voxels and echoes a label."
    );
    // The malformed header is reported, not dropped.
    assert_eq!(r["invalid"][0]["name"], "broken");
    let why = r["invalid"][0]["error"].as_str().unwrap();
    assert!(
        why.contains("line 1") && why.contains("unknown type 'integer'"),
        "{why}"
    );
    let e = run(&mut c, "broken", json!({}));
    assert_eq!(e["error"]["code"], -32025, "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn run_script_checks_args_and_runs_with_defaults() {
    let (server, dir) = library_server();
    let mut c = server.client();
    let r = run(&mut c, "cube", json!({ "size": 3, "color": [1, 2, 3] }));
    let r = &r["result"];
    assert_eq!(r["success"], true, "{r}");
    assert_eq!(r["result"], 27);
    assert_eq!(r["edit_count"], 27);
    assert_eq!(r["name"], "cube");
    assert_eq!(r["cached"], false);
    assert!(r["cpu_time_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(r["api_calls"], 28);
    let v = c.result("goxel.get_voxel", json!({"x": 2, "y": 2, "z": 2}));
    assert_eq!(v["color"], json!([1, 2, 3, 255]));
    // Defaults fill in what is left out.
    let r = run(&mut c, "count", json!({ "label": "a" }));
    assert_eq!(r["result"]["result"]["scale"], 1.5, "{r}");
    for (name, args, field) in [
        ("cube", json!({ "sise": 3 }), "args.sise"),
        ("cube", json!({ "size": "3" }), "args.size"),
        ("cube", json!({ "size": 33 }), "args.size"),
        ("cube", json!({ "color": "red" }), "args.color"),
        ("count", json!({}), "args.label"),
        ("cube", json!([3]), "args"),
        ("nope", json!({}), "name"),
    ] {
        let e = run(&mut c, name, args.clone());
        assert_eq!(e["error"]["code"], -32602, "{name} {args}: {e}");
        let message = e["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("field '{field}'")),
            "{name} {args}: {message}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_changed_file_is_reloaded_and_a_new_one_registered() {
    let (server, dir) = library_server();
    let mut c = server.client();
    let r = run(&mut c, "trees/oak", json!({}));
    assert_eq!(r["result"]["result"], 1, "{r}");
    write_changed(
        &dir.join("trees/oak.js"),
        "// An oak.\n// @param n int = 5\nargs.n * 2",
    );
    let r = run(&mut c, "trees/oak", json!({}));
    assert_eq!(r["result"]["result"], 10, "{r}");
    std::fs::write(dir.join("fresh.js"), "'new'").unwrap();
    let r = run(&mut c, "fresh", json!({}));
    assert_eq!(r["result"]["result"], "new", "{r}");
    std::fs::remove_file(dir.join("fresh.js")).unwrap();
    let e = run(&mut c, "fresh", json!({}));
    assert_eq!(e["error"]["code"], -32602, "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Rewrites `path` so its size or mtime differs from before, whatever the clock granularity.
fn write_changed(path: &Path, text: &str) {
    let old = std::fs::metadata(path).unwrap();
    std::fs::write(path, text).unwrap();
    let new = std::fs::metadata(path).unwrap();
    assert!(old.len() != new.len() || old.modified().unwrap() != new.modified().unwrap());
}

#[test]
fn a_run_that_cannot_differ_is_answered_from_the_cache() {
    let (server, dir) = library_server();
    let mut c = server.client();
    let first = run(&mut c, "count", json!({ "label": "x" }));
    assert_eq!(first["result"]["cached"], false, "{first}");
    let second = run(&mut c, "count", json!({ "label": "x" }));
    assert_eq!(second["result"]["cached"], true, "{second}");
    assert_eq!(second["result"]["result"], first["result"]["result"]);
    // Other args, another seed: not the same run.
    let other = run(&mut c, "count", json!({ "label": "y" }));
    assert_eq!(other["result"]["cached"], false);
    let seeded = c.call(
        "goxel.run_script",
        json!({ "name": "count", "args": { "label": "x" }, "seed": 7 }),
    );
    assert_eq!(seeded["result"]["cached"], false);
    assert_ne!(
        seeded["result"]["result"]["r"],
        first["result"]["result"]["r"]
    );
    // The world changed (seq moved): run again, and the new result is right.
    c.result(
        "goxel.add_voxel",
        json!({"x": 0, "y": 0, "z": 0, "color": [1, 1, 1, 255]}),
    );
    let after = run(&mut c, "count", json!({ "label": "x" }));
    assert_eq!(after["result"]["cached"], false);
    assert_eq!(after["result"]["result"]["count"], 1);
    // A run that edits is never cached: each run makes its edits.
    for _ in 0..2 {
        let r = run(&mut c, "cube", json!({ "size": 1, "color": [5, 5, 5] }));
        assert_eq!(r["result"]["cached"], false, "{r}");
        assert_eq!(r["result"]["edit_count"], 1);
    }
    // A run that reads the clock is never cached either.
    std::fs::write(dir.join("clock.js"), "Date.now() > 0").unwrap();
    std::fs::write(dir.join("perf.js"), "typeof performance.now()").unwrap();
    for name in ["clock", "perf"] {
        for _ in 0..2 {
            let r = run(&mut c, name, json!({}));
            assert_eq!(r["result"]["cached"], false, "{name}: {r}");
        }
    }
    // The script itself changed: its bytes are in the key.
    write_changed(
        &dir.join("count.js"),
        &COUNT.replace("label: args.label", "label: args.label + '!'"),
    );
    let changed = run(&mut c, "count", json!({ "label": "x" }));
    assert_eq!(changed["result"]["cached"], false);
    assert_eq!(changed["result"]["result"]["label"], "x!");

    let stats = c.result("goxel.get_script_stats", json!({ "name": "count" }));
    let count = &stats["scripts"][0];
    assert_eq!(count["name"], "count");
    assert_eq!(count["count"], 6, "{stats}");
    assert_eq!(count["cached"], 1);
    assert_eq!(count["failures"], 0);
    assert!(
        count["duration_p99_ms"].as_f64().unwrap() >= count["duration_p50_ms"].as_f64().unwrap()
    );
    assert!(stats["cache"]["hits"].as_u64().unwrap() >= 1);
    let _ = std::fs::remove_dir_all(dir);
}

/// A run that changes layers (creates, selects, shows or hides one) and no voxel is still a run
/// that changes the world: never kept in the cache, each run makes its change.
#[test]
fn a_run_that_only_changes_layers_is_never_cached() {
    let (server, dir) = library_server();
    let mut c = server.client();
    std::fs::write(
        dir.join("layer.js"),
        "// A new layer.\n// @param name string = \"lib\"\ngoxel.createLayer(args.name)\n",
    )
    .unwrap();
    std::fs::write(dir.join("select.js"), "goxel.selectLayer(1); 'kept'").unwrap();
    std::fs::write(
        dir.join("hide.js"),
        "goxel.setLayerVisibility(1, false); 'hidden'",
    )
    .unwrap();
    let entries = |c: &mut support::Client| {
        c.result("goxel.list_scripts", json!({}))["cache"]["entries"].clone()
    };
    for expected in [2, 3] {
        let r = run(&mut c, "layer", json!({}));
        assert_eq!(r["result"]["cached"], false, "{r}");
        assert_eq!(r["result"]["result"], expected, "{r}");
        assert_eq!(r["result"]["edit_count"], 0, "{r}");
        assert!(r["result"]["seq"].is_u64(), "a layer is a change: {r}");
    }
    for name in ["select", "hide"] {
        for _ in 0..2 {
            let r = run(&mut c, name, json!({}));
            assert_eq!(r["result"]["cached"], false, "{name}: {r}");
            assert!(r["result"]["seq"].is_u64(), "{name}: {r}");
        }
    }
    assert_eq!(entries(&mut c), 0, "nothing was kept");
    let listed = c.result("goxel.list_layers", json!({}));
    assert_eq!(listed["count"], 3, "{listed}");
    assert_eq!(listed["active_layer"], 1, "{listed}");
    // A pure read is still kept.
    std::fs::write(dir.join("read.js"), "goxel.listLayers().length").unwrap();
    assert_eq!(run(&mut c, "read", json!({}))["result"]["cached"], false);
    let again = run(&mut c, "read", json!({}));
    assert_eq!(again["result"]["cached"], true, "{again}");
    assert_eq!(again["result"]["result"], 3);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn stats_count_failures_and_errors_carry_the_script_frames() {
    let (server, dir) = library_server();
    std::fs::write(
        dir.join("fails.js"),
        "// Fails.\nfunction inner() {\n  throw new TypeError('bad ' + 'input');\n}\ninner();\n",
    )
    .unwrap();
    let mut c = server.client();
    let r = run(&mut c, "fails", json!({}));
    let r = &r["result"];
    assert_eq!(r["success"], false, "{r}");
    let e = &r["error"];
    assert_eq!(e["script"], "fails");
    assert_eq!(e["line"], 3);
    assert_eq!(e["frames"][0]["function"], "inner");
    assert_eq!(
        e["frames"][0]["source"],
        "  throw new TypeError('bad ' + 'input');"
    );
    assert_eq!(e["frames"][1]["line"], 5);
    assert_eq!(e["frames"][1]["source"], "inner();");
    run(&mut c, "fails", json!({}));
    c.call(
        "goxel.execute_script",
        json!({ "script": "1", "name": "inline-one" }),
    );
    let stats = c.result("goxel.get_script_stats", json!({}));
    let by_name = |n: &str| {
        stats["scripts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == n)
            .cloned()
            .unwrap_or_else(|| panic!("{n} in {stats}"))
    };
    assert_eq!(by_name("fails")["count"], 2);
    assert_eq!(by_name("fails")["failures"], 2);
    assert_eq!(by_name("inline-one")["failures"], 0);
    let _ = std::fs::remove_dir_all(dir);
}
