//! Script engine costs: the `addVoxel` hot path, script start-up, pool round trips and the idle
//! runtime's memory.
//!
//! Run with `cargo bench --bench scripting`.

#[path = "../tests/script_support/mod.rs"]
mod support;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rquickjs::{Context, Runtime};
use support::job;
use systems::ScratchWorld;
use voxeld::script_host::WorldHost;
use voxeld::scripting::{
    HostError, PoolConfig, Rgba, ScriptHost, ScriptJob, ScriptLimits, ScriptPool, ScriptRunner,
};

/// A host that only counts, so the bench measures the JS-to-Rust path and not a hash map.
#[derive(Default)]
struct CountHost(u64);

impl ScriptHost for CountHost {
    fn get_voxel(&self, _: [i32; 3]) -> Option<Rgba> {
        None
    }
    fn add_voxel(&mut self, p: [i32; 3], c: Rgba) -> Result<(), HostError> {
        black_box((p, c));
        self.0 += 1;
        Ok(())
    }
    fn remove_voxel(&mut self, _: [i32; 3]) -> Result<(), HostError> {
        self.0 += 1;
        Ok(())
    }
    fn paint_voxel(&mut self, _: [i32; 3], _: Rgba) -> Result<bool, HostError> {
        Ok(false)
    }
    fn flood_fill(&mut self, _: [i32; 3], _: Rgba) -> Result<u64, HostError> {
        Ok(0)
    }
    fn fill_box(&mut self, _: [i32; 3], _: [i32; 3], _: Rgba) -> Result<u64, HostError> {
        Ok(0)
    }
    fn fill_sphere(&mut self, _: [i32; 3], _: i32, _: Rgba) -> Result<u64, HostError> {
        Ok(0)
    }
    fn bounding_box(&self) -> Option<([i32; 3], [i32; 3])> {
        None
    }
    fn voxel_count(&self) -> u64 {
        0
    }
    fn active_layer(&self) -> u32 {
        0
    }
    fn edit_count(&self) -> u64 {
        self.0
    }
}

const EDITS: u64 = 100_000;

fn add_voxel_source(color: &str) -> String {
    format!(
        "for (let i = 0; i < {EDITS}; i++) goxel.addVoxel(i & 63, (i >> 6) & 63, i >> 12, {color});"
    )
}

fn count_job(source: &str) -> ScriptJob<CountHost> {
    ScriptJob {
        ticket: 0,
        source: source.into(),
        name: "bench.js".into(),
        timeout: Duration::from_secs(60),
        priority: 0,
        seed: Some(1),
        args: None,
        host: CountHost::default(),
        limits: ScriptLimits::default(),
    }
}

fn add_voxel(c: &mut Criterion) {
    let mut runner = ScriptRunner::new(Arc::new(AtomicBool::new(false))).unwrap();
    let mut group = c.benchmark_group("add_voxel");
    group.throughput(Throughput::Elements(EDITS));
    group.sample_size(20);
    for (label, color) in [
        ("array_literal", "[255, 0, 0, 255]"),
        ("array_hoisted", "RED"),
        ("hex_string", "'#ff0000'"),
    ] {
        let source = format!("const RED = [255, 0, 0, 255];\n{}", add_voxel_source(color));
        group.bench_function(format!("count_host/{label}"), |b| {
            b.iter(|| {
                let done = runner.run(count_job(&source));
                assert_eq!(done.host.0, EDITS);
            })
        });
    }
    let source = add_voxel_source("[255, 0, 0, 255]");
    group.bench_function("mem_host/array_literal", |b| {
        b.iter(|| {
            let done = runner.run(job(0, &source));
            assert_eq!(done.outcome.unwrap().edit_count, EDITS);
        })
    });
    // What a pool worker really does: the server's host, a scratch view of the world.
    let world = systems::VoxelWorld::new(systems::WorldSettings::default());
    group.bench_function("world_host/array_literal", |b| {
        b.iter(|| {
            let host = WorldHost::new(ScratchWorld::new(
                world.snapshot(),
                systems::EditLimits::default(),
                EDITS,
            ));
            let done = runner.run(ScriptJob {
                ticket: 0,
                source: source.clone(),
                name: "bench.js".into(),
                timeout: Duration::from_secs(60),
                priority: 0,
                seed: Some(1),
                args: None,
                host,
                limits: ScriptLimits::default(),
            });
            assert_eq!(done.outcome.unwrap().edit_count, EDITS);
        })
    });
    // Baseline: the same loop without calling into Rust.
    let source = format!(
        "let s = 0; for (let i = 0; i < {EDITS}; i++) {{ const c = [255, 0, 0, 255]; s += (i & 63) + c[0]; }} s"
    );
    group.bench_function("js_loop_only", |b| {
        b.iter(|| runner.run(count_job(&source)).outcome.unwrap())
    });
    group.finish();
}

fn startup(c: &mut Criterion) {
    let mut runner = ScriptRunner::new(Arc::new(AtomicBool::new(false))).unwrap();
    let mut group = c.benchmark_group("startup");
    group.bench_function("runner_1plus1_reused_runtime", |b| {
        b.iter(|| runner.run(count_job("1+1")).outcome.unwrap())
    });
    group.bench_function("fresh_runner_1plus1", |b| {
        b.iter(|| {
            let mut r = ScriptRunner::new(Arc::new(AtomicBool::new(false))).unwrap();
            r.run(count_job("1+1")).outcome.unwrap()
        })
    });
    let rt = Runtime::new().unwrap();
    group.bench_function("raw_context_full", |b| {
        b.iter(|| black_box(Context::full(&rt).unwrap()))
    });
    group.bench_function("raw_runtime_and_context_full", |b| {
        b.iter(|| {
            let rt = Runtime::new().unwrap();
            black_box(Context::full(&rt).unwrap());
        })
    });
    group.finish();

    // Start-up percentiles over many runs, as the target is stated for p50.
    let mut samples: Vec<Duration> = (0..5000)
        .map(|_| {
            let t = Instant::now();
            runner.run(count_job("1+1")).outcome.unwrap();
            t.elapsed()
        })
        .collect();
    samples.sort_unstable();
    eprintln!(
        "startup 1+1 (reused runtime): p50 {:?} p90 {:?} p99 {:?}",
        samples[samples.len() / 2],
        samples[samples.len() * 9 / 10],
        samples[samples.len() * 99 / 100]
    );
    eprintln!(
        "idle runtime memory after scripts: {} bytes (fresh: {} bytes)",
        runner.memory_used_bytes(),
        ScriptRunner::new(Arc::new(AtomicBool::new(false)))
            .unwrap()
            .memory_used_bytes()
    );
}

fn pool_round_trip(c: &mut Criterion) {
    let (tx, rx) = flume::unbounded();
    let pool: ScriptPool<CountHost> = ScriptPool::new(PoolConfig::default(), tx, Arc::new(|| {}));
    let mut group = c.benchmark_group("pool");
    const BATCH: u64 = 100;
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("batch_of_100_1plus1", |b| {
        b.iter(|| {
            for i in 0..BATCH {
                let mut j = count_job("1+1");
                j.ticket = i;
                pool.submit(j).unwrap();
            }
            for _ in 0..BATCH {
                rx.recv().unwrap().outcome.unwrap();
            }
        })
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("sequential_1plus1", |b| {
        b.iter(|| {
            pool.submit(count_job("1+1")).unwrap();
            rx.recv().unwrap().outcome.unwrap();
        })
    });
    group.finish();
    eprintln!("pool stats: {:?}", pool.stats());
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = add_voxel, startup, pool_round_trip
}
criterion_main!(benches);
