//! `goxel.run_script` answered from the result cache: the server time of a cached library run
//! (issue 14 target: ≤ 50 µs), measured in-process on the method path the socket server takes
//! (`methods::call` with parsed params, then the reply written as a JSON-RPC line), without
//! the socket round trip.
//!
//! Run with `cargo bench --bench script_library`. Scenarios:
//!
//! - `cached/small`: a library script with two parameters whose reply is a few numbers;
//! - `cached/region`: one whose reply is a 16³ region's colour histogram (a larger reply);
//! - `plan_miss/small`: the same request on a world whose `seq` moved each time (lookup,
//!   `stat`, argument check and key, up to the job hand-off; the script itself not run).

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use serde_json::value::RawValue;
use systems::VoxelWorld;
use voxeld::config::Config;
use voxeld::files::FileAccess;
use voxeld::methods::simulation::SimClock;
use voxeld::methods::{self, Ctx, NoJournal, Reply, ServerFacts, scripts};
use voxeld::rpc::Params;
use voxeld::scripting::ScriptRunner;
use voxeld::server::world_settings;

const SMALL: &str = "// Sums.\n// @param a int = 1\n// @param b number = 2\n\
                     ({ sum: args.a + args.b, count: goxel.getVoxelCount() })\n";

const REGION: &str = "// A histogram of a region's reds.\n// @param n int(1..32) = 16\n\
                      const r = goxel.getRegion(0, 0, 0, args.n - 1, args.n - 1, args.n - 1);\n\
                      const h = new Array(256).fill(0);\n\
                      for (let i = 0; i < r.data.length; i += 4) h[r.data[i]]++;\nh\n";

struct Bench {
    world: VoxelWorld,
    files: FileAccess,
    clock: SimClock,
    runner: ScriptRunner,
    _dir: tempfile::TempDir,
}

impl Bench {
    fn new() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("small.js"), SMALL).unwrap();
        std::fs::write(dir.path().join("region.js"), REGION).unwrap();
        let mut config = Config::default();
        config.scripts.script_dirs = vec![dir.path().to_path_buf()];
        config.data_dir = dir.path().join("data");
        Bench {
            world: VoxelWorld::new(world_settings(&config)),
            files: FileAccess::new(&config),
            clock: SimClock::new(&config),
            runner: ScriptRunner::new(Arc::new(AtomicBool::new(false))).unwrap(),
            _dir: dir,
        }
    }

    fn ctx<'a>(&'a mut self, journal: &'a mut NoJournal) -> Ctx<'a> {
        Ctx {
            world: &mut self.world,
            journal,
            started: Instant::now(),
            facts: ServerFacts::default(),
            files: &self.files,
            clock: &mut self.clock,
        }
    }

    /// One `run_script` as the server handles it: a cached reply is written at once; a job is
    /// run here and completed (which fills the cache). Returns whether it was a cache hit.
    fn call(&mut self, params: &RawValue, out: &mut Vec<u8>, run: bool) -> bool {
        let mut journal = NoJournal;
        let params = Params::parse(params).unwrap();
        let reply = methods::call(&mut self.ctx(&mut journal), "goxel.run_script", &params);
        match reply {
            Ok(Reply::Raw(raw)) => {
                out.clear();
                out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"result\":");
                out.extend_from_slice(raw.get().as_bytes());
                out.extend_from_slice(b",\"id\":1}\n");
                true
            }
            Ok(Reply::Script(request)) => {
                if run {
                    let config = Config::default().scripts;
                    let job = match scripts::prepare(&self.world, request, &config, 1).unwrap() {
                        scripts::Prepared::Job(job) => *job,
                        scripts::Prepared::Failed(v) => panic!("{v}"),
                    };
                    let done = self.runner.run(job);
                    let mut journal = NoJournal;
                    let reply = scripts::complete(&mut self.ctx(&mut journal), done).unwrap();
                    assert_eq!(reply["success"], true, "{reply}");
                } else {
                    black_box(request);
                }
                false
            }
            other => panic!("unexpected reply: {:?}", other.err()),
        }
    }
}

fn cached(c: &mut Criterion) {
    let mut bench = Bench::new();
    // Some voxels, so the region script has something to count.
    for (name, args) in [("small", json!({"a": 5})), ("region", json!({"n": 16}))] {
        let params =
            serde_json::value::to_raw_value(&json!({ "name": name, "args": args })).unwrap();
        let mut out = Vec::new();
        assert!(
            !bench.call(&params, &mut out, true),
            "the first run executes"
        );
        assert!(bench.call(&params, &mut out, true), "the second is cached");
        assert!(
            std::str::from_utf8(&out)
                .unwrap()
                .contains("\"cached\":true"),
            "{}",
            String::from_utf8_lossy(&out)
        );
        c.bench_function(&format!("cached/{name}"), |b| {
            b.iter(|| assert!(bench.call(&params, &mut out, false)))
        });
    }
    // A miss: the world moves on every iteration (an edit), so the key never matches.
    let params =
        serde_json::value::to_raw_value(&json!({ "name": "small", "args": {"a": 5} })).unwrap();
    let mut i = 0i32;
    c.bench_function("plan_miss/small", |b| {
        b.iter(|| {
            let mut journal = NoJournal;
            i = (i + 1) % 32;
            let edit = serde_json::value::to_raw_value(
                &json!({"x": i, "y": 0, "z": 0, "color": [i as u8, 1, 1, 255]}),
            )
            .unwrap();
            let edit = Params::parse(&edit).unwrap();
            methods::call(&mut bench.ctx(&mut journal), "goxel.add_voxel", &edit).unwrap();
            let mut out = Vec::new();
            assert!(!bench.call(&params, &mut out, false));
        })
    });
}

criterion_group!(benches, cached);
criterion_main!(benches);
