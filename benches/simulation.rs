//! Benchmarks of the simulation (issue #11 targets in brackets; run `cargo bench --bench
//! simulation`):
//!
//! - `fall/free_fall_1m`: one tick of a 128 × 128 × 64 block of sand (1 048 576 voxels, all
//!   moving) falling through the air, slide on [≤ 10 ms]
//! - `idle/settled_sand_10k_chunks`: one tick over 10 000 chunks of sand at rest in a stone box,
//!   with Fall, Flow and Life rules on [≤ 20 µs]
//! - `idle/unmatched_10k_chunks`: the same over 10 000 chunks no rule matches
//! - `life/soup_256`: one Life step (B5/S45, 26 neighbours) over a 256³ region of random cells
//!   at 35 % density [≤ 80 ms]
//! - `socket/get_voxel_during_fall` (printed, not criterion): sequential `get_voxel` over the
//!   socket, idle and while the server ticks a 1 M-voxel sand fall at 20 ticks/s [≥ 70 % of the
//!   idle rate]; alternating rounds, the median of each round's ratio. With
//!   `VOXELD_BENCH_FSYNC_NEVER=1` the server's journal does not fsync (an A/B of the once-a-second
//!   sync that journaled ticks bring).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use glam::IVec3;
use systems::simulation::{Matcher, Neighbourhood, Rule, RuleKind, RuleSet};
use systems::{
    CHUNK_VOLUME, ChunkData, Color, CommandBuffer, Edit, EditLimits, LayerId, Source, VoxelBox,
    VoxelWorld, WorldSettings,
};

const SAND: Color = Color::rgb(194, 178, 128);
const STONE: Color = Color::rgb(128, 128, 128);
const WATER: Color = Color::rgb(48, 112, 255);
const CELL: Color = Color::rgb(64, 255, 64);

fn world(rules: Vec<Rule>) -> VoxelWorld {
    let mut w = VoxelWorld::new(WorldSettings {
        limits: EditLimits {
            max_voxels: u64::MAX,
            ..EditLimits::default()
        },
        undo_depth: 0,
    });
    w.set_rules(RuleSet {
        seed: 1,
        rules,
        ..RuleSet::default()
    });
    w
}

fn fill(w: &mut VoxelWorld, min: [i32; 3], max: [i32; 3], color: Color) {
    let mut b = CommandBuffer::new(Source::Rpc);
    b.push(Edit::FillBox {
        region: VoxelBox::from_corners(IVec3::from(min), IVec3::from(max)),
        color,
    });
    w.apply(b).result.unwrap();
}

fn sand_rule() -> Rule {
    Rule::new(RuleKind::Fall {
        matches: Matcher::colors([SAND]),
        slide: true,
    })
}

fn fall(c: &mut Criterion) {
    let mut g = c.benchmark_group("fall");
    g.sample_size(20);
    g.throughput(Throughput::Elements(1 << 20));
    let mut w = world(vec![sand_rule()]);
    fill(&mut w, [0, 0, 100_000], [127, 127, 100_063], SAND);
    w.step(2);
    g.bench_function("free_fall_1m", |b| {
        b.iter(|| {
            let r = w.step(1);
            assert_eq!(
                r.changed_voxels,
                2 * 128 * 128,
                "the block moved by one cell"
            );
            black_box(r)
        })
    });
    g.finish();
}

fn idle(c: &mut Criterion) {
    let mut g = c.benchmark_group("idle");
    let rules = || {
        vec![
            sand_rule(),
            Rule::new(RuleKind::Flow {
                matches: Matcher::colors([WATER]),
                spread: 8,
            }),
            Rule::new(RuleKind::Life {
                alive: Matcher::colors([CELL]),
                color: CELL,
                birth: 1 << 3,
                survive: 1 << 1,
                neighbourhood: Neighbourhood::Moore,
            }),
        ]
    };
    // 100 × 100 chunks of sand, one chunk deep, in a stone box: nothing can move.
    let mut w = world(rules());
    fill(&mut w, [-1, -1, -1], [1600, 1600, 16], STONE);
    fill(&mut w, [0, 0, 0], [1599, 1599, 15], SAND);
    let first = w.step(1);
    assert_eq!(first.changed_voxels, 0);
    assert!(w.snapshot().chunk_count() >= 10_000);
    g.bench_function("settled_sand_10k_chunks", |b| {
        b.iter(|| {
            let r = w.step(1);
            assert_eq!(r.active_chunks, 0);
            black_box(r)
        })
    });
    let mut w = world(rules());
    fill(&mut w, [0, 0, 0], [1599, 1599, 15], STONE);
    w.step(1);
    g.bench_function("unmatched_10k_chunks", |b| b.iter(|| black_box(w.step(1))));
    g.finish();
}

/// A 256³ soup of live cells at 35 % density, as restore edits (cheap to apply again).
fn soup() -> Vec<Edit> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut edits = Vec::new();
    for cz in 0..16 {
        for cy in 0..16 {
            for cx in 0..16 {
                let mut dense = Box::new([Color::EMPTY; CHUNK_VOLUME]);
                for c in dense.iter_mut() {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    if state % 100 < 35 {
                        *c = CELL;
                    }
                }
                edits.push(Edit::RestoreChunk {
                    layer: LayerId(1),
                    pos: IVec3::new(cx, cy, cz),
                    data: Some(Arc::new(ChunkData::from_dense(&dense))),
                });
            }
        }
    }
    edits
}

fn life(c: &mut Criterion) {
    let mut g = c.benchmark_group("life");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1 << 24));
    let edits = soup();
    let mut rule = Rule::new(RuleKind::Life {
        alive: Matcher::colors([CELL]),
        color: CELL,
        birth: 1 << 5,
        survive: (1 << 4) | (1 << 5),
        neighbourhood: Neighbourhood::Moore,
    });
    rule.region = Some(VoxelBox::from_corners(IVec3::ZERO, IVec3::splat(255)));
    g.bench_function("soup_256", |b| {
        b.iter_batched(
            || {
                let mut w = world(vec![rule.clone()]);
                let mut buffer = CommandBuffer::new(Source::System);
                buffer.edits = edits.clone();
                w.apply(buffer).result.unwrap();
                w
            },
            |mut w| {
                let r = w.step(1);
                assert!(r.changed_voxels > 1 << 20, "{r:?}");
                (w, r)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, fall, idle, life);

#[path = "../tests/support/lean_client.rs"]
mod socket_client;

use socket_client::Client;

/// Sequential `get_voxel` requests per second over `n` requests.
fn get_voxel_rate(c: &mut Client, n: u32) -> f64 {
    let start = Instant::now();
    for i in 0..n {
        let request = format!(
            "{{\"jsonrpc\":\"2.0\",\"method\":\"goxel.get_voxel\",\"params\":[{},{},100000],\"id\":{i}}}",
            i % 128,
            (i / 128) % 128
        );
        c.call(&request);
    }
    f64::from(n) / start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `get_voxel` latency on a server ticking a 1 M-voxel fall at 20 ticks/s, against idle:
/// rounds of idle and falling measurements in alternating order (so drift in the machine's
/// load falls on both), reported as medians and as the median of each round's ratio.
fn socket_under_load() {
    const ROUNDS: usize = 9;
    let dir = tempfile::tempdir().unwrap();
    let mut config = voxeld::config::Config::default();
    config.socket.path = dir.path().join("bench.sock");
    config.data_dir = dir.path().join("data");
    config.tick_rate_hz = 20;
    if std::env::var_os("VOXELD_BENCH_FSYNC_NEVER").is_some() {
        config.journal.fsync = voxeld::config::FsyncPolicy::Never;
    }
    config.simulation.running = false;
    config.simulation.rules =
        serde_json::from_str(r##"[{"Fall": {"matches": ["#C2B280"], "slide": true}}]"##).unwrap();
    let server = voxeld::server::spawn(config).unwrap();
    let mut c = Client::connect(&server.socket);
    c.call("{\"jsonrpc\":\"2.0\",\"method\":\"goxel.procedural_shape\",\"params\":{\"shape\":\"cube\",\"size\":[128,128,64],\"center\":[64,64,100000],\"color\":\"#C2B280\"},\"id\":0}\n");
    let run = |c: &mut Client, running: bool| -> (f64, f64) {
        c.call(&format!(
            "{{\"jsonrpc\":\"2.0\",\"method\":\"goxel.set_simulation\",\"params\":{{\"running\":{running}}},\"id\":1}}\n"
        ));
        if running {
            std::thread::sleep(Duration::from_millis(120));
        }
        let tick = |c: &mut Client| -> u64 {
            let s: serde_json::Value = serde_json::from_str(
                c.call("{\"jsonrpc\":\"2.0\",\"method\":\"goxel.get_status\",\"id\":4}\n"),
            )
            .unwrap();
            s["result"]["tick"].as_u64().unwrap()
        };
        let (t0, start) = (tick(c), Instant::now());
        let rate = get_voxel_rate(c, 8_000);
        let ticks = (tick(c) - t0) as f64 / start.elapsed().as_secs_f64();
        (rate, ticks)
    };
    let (mut idle, mut busy, mut ratios, mut tick_rates, mut ticks_us) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let (i, (b, t)) = if round % 2 == 0 {
            let i = run(&mut c, false).0;
            (i, run(&mut c, true))
        } else {
            let b = run(&mut c, true);
            (run(&mut c, false).0, b)
        };
        let sim: serde_json::Value = serde_json::from_str(
            c.call("{\"jsonrpc\":\"2.0\",\"method\":\"goxel.get_simulation\",\"id\":3}\n"),
        )
        .unwrap();
        assert_eq!(
            sim["result"]["last_tick"]["changed_voxels"], 32768,
            "the block is falling: {sim}"
        );
        ticks_us.push(sim["result"]["last_tick"]["duration_us"].as_f64().unwrap());
        idle.push(i);
        busy.push(b);
        ratios.push(b / i);
        tick_rates.push(t);
    }
    println!(
        "socket/get_voxel_during_fall: idle {:.0} req/s, during a 1 M-voxel fall {:.0} req/s ({:.1} ticks/s); median ratio {:.0} % of idle (target ≥ 70 %); tick median {:.0} µs",
        median(idle),
        median(busy),
        median(tick_rates),
        100.0 * median(ratios),
        median(ticks_us)
    );
    server.stop().unwrap();
}

/// Whether the command line's filter (criterion's: a substring of the benchmark id) selects
/// `id`; with no filter, everything runs. `cargo test --benches` runs nothing here.
fn selected(id: &str) -> bool {
    let mut args = std::env::args().skip(1);
    let mut filters = Vec::new();
    let mut bench = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bench" => bench = true,
            "--warm-up-time" | "--measurement-time" | "--sample-size" | "--save-baseline"
            | "--baseline" | "--output-format" => {
                args.next();
            }
            flag if flag.starts_with("--") => {}
            filter => filters.push(filter.to_string()),
        }
    }
    bench && (filters.is_empty() || filters.iter().any(|f| id.contains(f.as_str())))
}

fn main() {
    benches();
    if selected("socket/get_voxel_during_fall") {
        socket_under_load();
    }
    Criterion::default().configure_from_args().final_summary();
}
