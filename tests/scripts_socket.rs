//! `goxel.execute_script` over a real socket: limits, errors, concurrency, queue capacity,
//! atomic commits, the path sandbox and the example scripts in `assets/scripts/`.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::TestServer;

/// Tests that assert on wall-clock time take turns, so they do not load the machine for each
/// other.
static TIMING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn timing() -> std::sync::MutexGuard<'static, ()> {
    TIMING.lock().unwrap_or_else(|e| e.into_inner())
}

fn run(c: &mut support::Client, script: &str, extra: Value) -> Value {
    let mut params = json!({ "script": script });
    if let Value::Object(m) = extra {
        for (k, v) in m {
            params[k] = v;
        }
    }
    c.call("goxel.execute_script", params)
}

#[test]
fn success_reply_is_the_seeds_plus_result_logs_and_counts() {
    let server = TestServer::start();
    let mut c = server.client();
    let r = run(
        &mut c,
        "console.log('hi', 1+1); goxel.addVoxel(1,2,3,[9,8,7,255]); ({a: [1, 'x'], b: null})",
        json!({}),
    );
    let r = &r["result"];
    assert_eq!(r["success"], true);
    assert_eq!(r["code"], 0);
    assert_eq!(r["message"], "Script executed successfully");
    assert_eq!(r["result"], json!({"a": [1, "x"], "b": null}));
    assert_eq!(r["logs"][0]["message"], "hi 2");
    assert_eq!(r["edit_count"], 1);
    assert!(r["duration_ms"].as_f64().unwrap() >= 0.0);
    let v = c.result("goxel.get_voxel", json!({"x":1,"y":2,"z":3}));
    assert_eq!(v["color"], json!([9, 8, 7, 255]));
}

#[test]
fn a_runaway_script_times_out_promptly_and_the_next_one_runs() {
    let _turn = timing();
    let server = TestServer::start_with(|c| c.scripts.workers = 1);
    let mut c = server.client();
    let start = Instant::now();
    let r = run(&mut c, "while(true){}", json!({"timeout_ms": 200}));
    let elapsed = start.elapsed();
    assert_eq!(r["error"]["code"], -32603, "{r}");
    assert_eq!(r["error"]["message"], "Script execution timeout");
    assert!(
        elapsed < Duration::from_millis(250) + Duration::from_millis(150),
        "took {elapsed:?}"
    );
    assert!(elapsed >= Duration::from_millis(200), "took {elapsed:?}");
    // The single worker is healthy: the next script runs normally and quickly.
    let start = Instant::now();
    let r = run(&mut c, "6*7", json!({}));
    assert_eq!(r["result"]["result"], 42, "{r}");
    assert!(start.elapsed() < Duration::from_millis(100));
}

#[test]
fn each_limit_and_error_has_its_own_reply_and_changes_nothing() {
    let server = TestServer::start_with(|c| {
        c.scripts.workers = 1;
        c.scripts.max_edits = 1000;
        c.scripts.memory_limit_bytes = 32 << 20;
    });
    let mut c = server.client();
    c.result(
        "goxel.add_voxel",
        json!({"x":0,"y":0,"z":0,"color":[1,1,1,255]}),
    );
    let hash = c.result("goxel.get_status", Value::Null)["world_hash"].clone();
    let cases: &[(&str, i64, &str)] = &[
        (
            "goxel.addVoxel(5,5,5,[1,2,3,255]); let a=[]; while(true) a.push(new Array(1e6).fill(1))",
            -32021,
            "memory",
        ),
        (
            "goxel.addVoxel(5,5,5,[1,2,3,255]); function f(){return f()+1} f()",
            -32022,
            "stack",
        ),
        (
            "for (let i=0;;i++) goxel.addVoxel(i,0,1,[1,2,3,255])",
            -32023,
            "edit",
        ),
        (
            "try { for (let i=0;;i++) goxel.addVoxel(i,0,1,[1,2,3,255]) } catch (e) {} 'caught'",
            -32023,
            "edit",
        ),
        (
            "goxel.addVoxel(5,5,5,[1,2,3,255]);\nlet x = ;",
            -32020,
            "SyntaxError",
        ),
        (
            "goxel.addVoxel(5,5,5,[1,2,3,255]);\n  throw new RangeError('boom')",
            -32020,
            "boom",
        ),
        ("goxel.addVoxel(5,5,5,[300,0,0,255])", -32020, "color"),
    ];
    // A failed script is the daemon's result `{success: false, code, message}`, with voxeld's
    // details inside it.
    for (script, code, word) in cases {
        let r = run(&mut c, script, json!({"name": "case.js"}));
        let f = &r["result"];
        assert_eq!(f["success"], false, "{script}: {r}");
        assert_eq!(f["code"], *code, "{script}: {r}");
        assert!(f.to_string().contains(word), "{script}: {r}");
        assert!(f["logs"].is_array(), "{script}: {r}");
    }
    // A thrown error carries name, message, line and column.
    let r = run(
        &mut c,
        "console.log('before');\n  throw new RangeError('boom')",
        json!({"name": "t.js"}),
    );
    let d = &r["result"]["error"];
    assert_eq!(d["name"], "RangeError");
    assert_eq!(d["message"], "boom");
    assert_eq!(d["line"], 2);
    assert!(d["column"].as_u64().unwrap() >= 1);
    assert_eq!(r["result"]["logs"][0]["message"], "before");
    // None of the failed scripts left an edit behind.
    assert_eq!(
        c.result("goxel.get_status", Value::Null)["world_hash"],
        hash
    );
    assert_eq!(
        c.result("goxel.get_voxel", json!({"x":5,"y":5,"z":5}))["exists"],
        false
    );
    // And the worker is still healthy.
    assert_eq!(run(&mut c, "1+1", json!({}))["result"]["result"], 2);
}

#[test]
fn bad_params_are_refused_naming_the_field() {
    let server = TestServer::start();
    let mut c = server.client();
    // As in the daemon: `script` wins over `path`, a timeout ≤ 0 is the default, one above
    // the maximum is the maximum.
    for params in [
        json!({"script": "1", "path": "a.js"}),
        json!({"script": "1", "timeout_ms": 0}),
        json!({"script": "1", "timeout_ms": 300001}),
    ] {
        assert_eq!(c.result("goxel.execute_script", params)["result"], 1);
    }
    // A script file that cannot be used is a `success: false` result naming the path.
    for path in ["/etc/passwd", "../x.js"] {
        let r = c.result("goxel.execute_script", json!({ "path": path }));
        assert_eq!(r["success"], false, "{r}");
        assert_eq!(r["code"], -32025, "{r}");
        assert!(r["message"].as_str().unwrap().contains(path), "{r}");
    }
    for (params, field) in [
        (json!({}), "script"),
        (json!({"script": 5}), "script"),
        (json!({"script": "1", "timeout_ms": "x"}), "timeout_ms"),
    ] {
        let e = c.error("goxel.execute_script", params.clone());
        assert_eq!(e["code"], -32602, "{params}: {e}");
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains(&format!("'{field}'")),
            "{params}: {e}"
        );
    }
}

#[test]
fn heavy_scripts_run_in_parallel_and_other_methods_keep_answering() {
    let _turn = timing();
    let server = TestServer::start_with(|c| c.scripts.workers = 4);
    // Each script busy-waits 600 ms of wall time.
    let heavy = "let s = 0; const end = Date.now() + 600; while (Date.now() < end) { s++ } s > 0";
    let started = Instant::now();
    let handles: Vec<_> = (0..5)
        .map(|_| {
            let mut c = server.client();
            std::thread::spawn(move || {
                let r = run(&mut c, heavy, json!({}));
                assert_eq!(r["result"]["result"], true, "{r}");
                Instant::now()
            })
        })
        .collect();
    // While they run, reads and edits keep answering: none waits for a script (which would
    // take at least the script's 600 ms).
    let mut c = server.client();
    std::thread::sleep(Duration::from_millis(50));
    let mut slowest = Duration::ZERO;
    for i in 0..50 {
        let t = Instant::now();
        c.result(
            "goxel.add_voxel",
            json!({"x": i, "y": 0, "z": 0, "color": [1, 2, 3, 255]}),
        );
        c.result("goxel.get_voxel", json!({"x": i, "y": 0, "z": 0}));
        slowest = slowest.max(t.elapsed());
    }
    assert!(
        slowest < Duration::from_millis(400),
        "a request took {slowest:?} while scripts ran"
    );
    let ends: Vec<Instant> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let total = ends.iter().max().unwrap().duration_since(started);
    // Five 600 ms scripts on four workers: two rounds (~1.2 s), not five (3 s).
    assert!(
        total < Duration::from_millis(2400),
        "5 scripts took {total:?}"
    );
}

#[test]
fn a_full_queue_refuses_only_what_is_beyond_capacity() {
    let _turn = timing();
    let server = TestServer::start_with(|c| {
        c.scripts.workers = 2;
        c.scripts.queue_capacity = 100;
    });
    // Occupy both workers, so everything else queues.
    let mut blockers: Vec<_> = (0..2).map(|_| server.client()).collect();
    for b in &mut blockers {
        b.send_line(r#"{"jsonrpc":"2.0","method":"goxel.execute_script","params":{"script":"const e=Date.now()+400; while(Date.now()<e){}"},"id":0}"#);
    }
    std::thread::sleep(Duration::from_millis(100));
    // 150 scripts at once on one connection (pipelined).
    let mut stream = UnixStream::connect(&server.socket).unwrap();
    let mut lines = String::new();
    for i in 0..150 {
        lines.push_str(&format!(
            r#"{{"jsonrpc":"2.0","method":"goxel.execute_script","params":{{"script":"goxel.addVoxel({i},7,7,[1,1,1,255]); {i}"}},"id":{i}}}"#
        ));
        lines.push('\n');
    }
    stream.write_all(lines.as_bytes()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut reader = BufReader::new(stream);
    let (mut ok, mut refused) = (Vec::new(), Vec::new());
    for _ in 0..150 {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        let id = v["id"].as_u64().unwrap();
        if v.get("error").is_some() {
            assert_eq!(v["error"]["code"], -32000, "{v}");
            assert_eq!(v["error"]["message"], "worker pool exhausted");
            assert_eq!(v["error"]["data"]["queue_capacity"], 100);
            refused.push(id);
        } else {
            assert_eq!(v["result"]["result"], id, "{v}");
            ok.push(id);
        }
    }
    assert_eq!(ok.len(), 100);
    assert_eq!(
        refused,
        (100..150).collect::<Vec<_>>(),
        "only those beyond capacity are refused"
    );
    let mut c = server.client();
    for id in ok {
        assert_eq!(
            c.result("goxel.get_voxel", json!({"x": id, "y": 7, "z": 7}))["exists"],
            true
        );
    }
    let status = c.result("goxel.get_status", Value::Null);
    assert_eq!(status["scripts"]["workers"], 2, "{status}");
}

#[test]
fn accepted_work_commits_even_if_the_client_disconnects() {
    let server = TestServer::start();
    {
        let mut c = server.client();
        c.send_line(r#"{"jsonrpc":"2.0","method":"goxel.execute_script","params":{"script":"const e=Date.now()+100; while(Date.now()<e){} goxel.addVoxel(3,3,3,[5,5,5,255])"},"id":1}"#);
    }
    let mut c = server.client();
    assert!(support::eventually(Duration::from_secs(5), || {
        c.result("goxel.get_voxel", json!({"x":3,"y":3,"z":3}))["exists"] == true
    }));
}

#[test]
fn scripts_see_their_snapshot_plus_their_own_edits_and_are_seeded() {
    let server = TestServer::start();
    let mut c = server.client();
    c.result(
        "goxel.add_voxel",
        json!({"x":0,"y":0,"z":0,"color":[10,20,30,255]}),
    );
    let r = run(
        &mut c,
        "const before = goxel.getVoxel(0,0,0); goxel.removeVoxel(0,0,0); goxel.addVoxel(1,0,0,'#ff0000'); [before, goxel.getVoxel(0,0,0), goxel.getVoxel(1,0,0), goxel.getVoxelCount()]",
        json!({}),
    );
    assert_eq!(
        r["result"]["result"],
        json!([[10, 20, 30, 255], null, [255, 0, 0, 255], 1])
    );
    let a = run(&mut c, "[Math.random(), Math.random()]", json!({"seed": 7}));
    let b = run(&mut c, "[Math.random(), Math.random()]", json!({"seed": 7}));
    let d = run(&mut c, "[Math.random(), Math.random()]", json!({"seed": 8}));
    assert_eq!(a["result"]["result"], b["result"]["result"]);
    assert_ne!(a["result"]["result"], d["result"]["result"]);
    // No globals leak between scripts.
    run(&mut c, "globalThis.leak = 1", json!({}));
    assert_eq!(
        run(&mut c, "typeof leak", json!({}))["result"]["result"],
        "undefined"
    );
    // No file, module or network access.
    assert_eq!(
        run(
            &mut c,
            "[typeof require, typeof std, typeof os, typeof fetch, typeof XMLHttpRequest].join()",
            json!({})
        )["result"]["result"],
        "undefined,undefined,undefined,undefined,undefined"
    );
    let r = run(&mut c, "import('os')", json!({}));
    assert!(
        r.get("error").is_some()
            || r["result"]["result"].is_null()
            || r["result"]["result"].is_object(),
        "{r}"
    );
}

#[test]
fn example_scripts_run_from_the_script_directory() {
    let assets = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/scripts");
    let dir = assets.clone();
    let server = TestServer::start_with(move |c| c.scripts.script_dirs = vec![dir]);
    let mut c = server.client();
    let r = c.result("goxel.execute_script", json!({"path": "create_cube.js"}));
    assert_eq!(r["edit_count"], 125);
    assert_eq!(r["logs"][0]["message"], "Created 5x5x5 red cube");
    let r = c.result(
        "goxel.execute_script",
        json!({"path": "terrain.js", "seed": 1}),
    );
    assert_eq!(r["result"]["columns"], 1024);
    let r2 = c.result(
        "goxel.execute_script",
        json!({"path": assets.join("terrain.js").to_str().unwrap(), "seed": 1}),
    );
    assert_eq!(
        r["edit_count"], r2["edit_count"],
        "seeded terrain is reproducible"
    );
    let r = c.result("goxel.execute_script", json!({"path": "snowman.js"}));
    assert_eq!(r["result"], json!([255, 136, 0, 255]));
    let r = c.result("goxel.execute_script", json!({"path": "checkerboard.js"}));
    assert_eq!(r["result"], 128);
    // Escapes are refused.
    let r = c.result("goxel.execute_script", json!({"path": "../../Cargo.toml"}));
    assert_eq!(
        (r["success"].clone(), r["code"].clone()),
        (json!(false), json!(-32025))
    );
}

/// The world of a restarted server: one on the same data directory (and socket) as `server`.
fn restart(server: &mut TestServer) -> voxeld::server::RunningServer {
    server.stop();
    let mut config = voxeld::config::Config::default();
    config.socket.path = server.socket.clone();
    config.data_dir = server.dir.path().join("data");
    voxeld::server::spawn(config).unwrap()
}

/// `(id, name, voxel_count, active)` of every layer, bottom first, from `goxel.list_layers`.
fn layers(c: &mut support::Client) -> Vec<(u64, String, u64, bool)> {
    let r = c.result("goxel.list_layers", json!({}));
    r["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["id"].as_u64().unwrap(),
                l["name"].as_str().unwrap().to_string(),
                l["voxel_count"].as_u64().unwrap(),
                l["active"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// The colour at `p` in layer `layer`, `None` where there is no voxel.
fn voxel_in(c: &mut support::Client, layer: u64, (x, y, z): (i32, i32, i32)) -> Option<Value> {
    let r = c.result(
        "goxel.get_voxel",
        json!({"x": x, "y": y, "z": z, "layer_id": layer}),
    );
    assert_eq!(r["layer_id"], layer, "{r}");
    (r["exists"] == true).then(|| r["color"].clone())
}

#[test]
fn a_script_creates_and_selects_layers_in_one_buffer_that_undoes_and_replays() {
    let mut server = TestServer::start();
    let mut c = server.client();
    c.result(
        "goxel.add_voxel",
        json!({"x": 0, "y": 0, "z": 0, "color": [9, 9, 9, 255]}),
    );
    let before = c.status();
    let script = r#"
        const walls = goxel.createLayer("walls");
        goxel.fillBox(0, 0, 0, 2, 0, 0, [200, 0, 0]);
        const roof = goxel.createLayer("roof");
        goxel.addVoxel(0, 0, 5, [0, 0, 200]);
        goxel.addVoxel(1, 0, 5, [0, 0, 200]);
        goxel.selectLayer(walls);
        goxel.addVoxel(0, 1, 0, [200, 0, 0]);
        ({ walls, roof, active: goxel.getActiveLayer(),
           seen: [goxel.getVoxel(0, 0, 5), goxel.getVoxel(0, 0, 0), goxel.getVoxelCount()],
           layers: goxel.listLayers().map(l => [l.id, l.name, l.voxelCount, l.active]) })
    "#;
    let r = c.result("goxel.execute_script", json!({ "script": script }));
    assert_eq!(r["success"], true, "{r}");
    assert_eq!(
        r["result"],
        json!({
            "walls": 2, "roof": 3, "active": 2,
            "seen": [null, [200, 0, 0, 255], 4],
            "layers": [[1, "Layer 1", 1, false], [2, "walls", 4, true], [3, "roof", 2, false]],
        }),
        "{r}"
    );
    assert_eq!(r["edit_count"], 6);
    // One buffer: one seq.
    assert_eq!(r["seq"], before.1 + 1, "{r}");
    let after = c.status();
    assert_eq!(after.1, before.1 + 1);
    // The world has what the script saw, layer by layer, and the script's last selection is
    // the active layer.
    let expected = vec![
        (1, "Layer 1".to_string(), 1, false),
        (2, "walls".to_string(), 4, true),
        (3, "roof".to_string(), 2, false),
    ];
    assert_eq!(layers(&mut c), expected);
    assert_eq!(voxel_in(&mut c, 1, (0, 0, 0)), Some(json!([9, 9, 9, 255])));
    assert_eq!(
        voxel_in(&mut c, 2, (0, 0, 0)),
        Some(json!([200, 0, 0, 255]))
    );
    assert_eq!(
        voxel_in(&mut c, 2, (0, 1, 0)),
        Some(json!([200, 0, 0, 255]))
    );
    assert_eq!(voxel_in(&mut c, 1, (0, 1, 0)), None);
    assert_eq!(
        voxel_in(&mut c, 3, (1, 0, 5)),
        Some(json!([0, 0, 200, 255]))
    );
    assert_eq!(voxel_in(&mut c, 2, (1, 0, 5)), None);
    assert_eq!(voxel_in(&mut c, 3, (2, 0, 0)), None);
    // Without a layer, get_voxel reads the active layer: the script's `walls`.
    assert_eq!(c.voxel((2, 0, 0)), Some([200, 0, 0, 255]));

    // One undo takes all of it back: both layers, their voxels, the active layer.
    c.result("goxel.undo", json!({}));
    assert_eq!(c.status().0, before.0);
    assert_eq!(layers(&mut c), [(1, "Layer 1".to_string(), 1, true)]);
    c.result("goxel.redo", json!({}));
    let redone = c.status();
    assert_eq!(redone.0, after.0);
    assert_eq!(layers(&mut c), expected);

    // The journal replays to the same world, and so does a restart.
    let journal = server.dir.path().join("data").join("journal");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_voxeld"))
        .arg("replay")
        .arg(&journal)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let replayed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(replayed["world_hash"], redone.0.as_str(), "{replayed}");
    assert_eq!(replayed["seq"], redone.1);
    drop(c);
    let restarted = restart(&mut server);
    let mut c = server.client();
    assert_eq!(c.status(), redone, "after a restart");
    assert_eq!(layers(&mut c), expected);
    assert_eq!(
        voxel_in(&mut c, 3, (0, 0, 5)),
        Some(json!([0, 0, 200, 255]))
    );
    restarted.stop().unwrap();
}

#[test]
fn bad_layer_arguments_throw_errors_naming_them_and_commit_nothing() {
    let server = TestServer::start();
    let mut c = server.client();
    let before = c.status();
    let cases: &[(&str, &str, &str)] = &[
        (
            "goxel.selectLayer(99)",
            "RangeError",
            "id: no layer with id 99",
        ),
        (
            "goxel.selectLayer('2')",
            "TypeError",
            "id must be a layer id",
        ),
        ("goxel.selectLayer()", "TypeError", "id must be a layer id"),
        (
            "goxel.selectLayer(1.5)",
            "RangeError",
            "id must be a whole number",
        ),
        (
            "goxel.selectLayer(-1)",
            "RangeError",
            "id must be a whole number",
        ),
        (
            "goxel.selectLayer(NaN)",
            "RangeError",
            "id must be a whole number",
        ),
        ("goxel.createLayer(5)", "TypeError", "name must be a string"),
        (
            "goxel.createLayer({})",
            "TypeError",
            "name must be a string",
        ),
        (
            "goxel.createLayer('x'.repeat(256))",
            "RangeError",
            "name is 256 bytes",
        ),
        (
            "goxel.setLayerVisibility(42, false)",
            "RangeError",
            "id: no layer with id 42",
        ),
        (
            "goxel.setLayerVisibility(2.5, false)",
            "RangeError",
            "id must be a whole number",
        ),
    ];
    for (call, name, message) in cases {
        // Edits before the bad call, including a new layer, must not reach the world.
        let script =
            format!("goxel.createLayer('kept?'); goxel.addVoxel(0, 0, 0, [1, 2, 3]);\n{call}");
        let r = c.result("goxel.execute_script", json!({ "script": script }));
        assert_eq!(r["success"], false, "{call}: {r}");
        assert_eq!(r["code"], -32020, "{call}: {r}");
        assert_eq!(r["error"]["name"], *name, "{call}: {r}");
        let got = r["error"]["message"].as_str().unwrap();
        assert!(got.contains(message), "{call}: {got}");
        assert_eq!(r["error"]["line"], 2, "{call}: {r}");
    }
    assert_eq!(c.status(), before, "no failed script changed the world");
    assert_eq!(layers(&mut c).len(), 1);
    // A caught error leaves the selection as it was, and the script goes on.
    let r = c.result(
        "goxel.execute_script",
        json!({"script": "const l = goxel.createLayer(); try { goxel.selectLayer(7) } catch (e) {} \
                [l, goxel.getActiveLayer(), goxel.listLayers().map(l => l.name)]"}),
    );
    assert_eq!(r["result"], json!([2, 2, ["Layer 1", "New Layer"]]), "{r}");
    assert_eq!(
        layers(&mut c)[1],
        (2, "New Layer".to_string(), 0, true),
        "the default name, as goxel.create_layer gives it"
    );
}

#[test]
fn a_script_whose_new_layer_ids_were_taken_meanwhile_commits_nothing() {
    let _turn = timing();
    let server = TestServer::start();
    let mut runner = server.client();
    let mut other = server.client();
    runner.send_line(
        &json!({"jsonrpc": "2.0", "method": "goxel.execute_script", "id": 1, "params": {
            "script": "const id = goxel.createLayer('mine'); goxel.addVoxel(0, 0, 0, [1, 2, 3]);\n\
                       const end = Date.now() + 1000; while (Date.now() < end) {}\nid"
        }})
        .to_string(),
    );
    // Once the script runs (its snapshot taken), another client takes layer id 2.
    assert!(support::eventually(Duration::from_secs(5), || {
        other.result("goxel.get_status", Value::Null)["scripts"]["busy"] == 1
    }));
    let theirs = other.result("goxel.create_layer", json!({"name": "theirs"}));
    assert_eq!(theirs["layer_id"], 2);
    let after_theirs = other.status();
    let reply = runner.read_json();
    let e = &reply["error"];
    assert_eq!(e["code"], -32010, "{reply}");
    assert_eq!(e["data"]["created_layers"], json!([2]), "{reply}");
    assert_eq!(e["data"]["next_layer_ids"], json!([3]), "{reply}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("run the script again"),
        "{reply}"
    );
    // Nothing of the script reached the world.
    assert_eq!(other.status(), after_theirs);
    assert_eq!(
        layers(&mut other),
        [
            (1, "Layer 1".to_string(), 0, false),
            (2, "theirs".to_string(), 0, true)
        ]
    );
    // Run again, it gets the next id.
    let r = other.result(
        "goxel.execute_script",
        json!({"script": "goxel.createLayer('mine')"}),
    );
    assert_eq!(r["result"], 3, "{r}");
}
