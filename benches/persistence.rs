//! Persistence costs: replaying journaled buffers into a fresh world (edits per second),
//! recovering a journal of one million single-edit `add_voxel` records, and the latency the
//! journal adds to one `goxel.add_voxel` call.
//!
//! `CARGO_TARGET_DIR=... cargo bench --bench persistence`
//!
//! Targets: replay ≥ 10 M edits/s; recovery of 1 M journaled edits < 1 s; journalling adds
//! ≤ 10 % to a ~50 µs socket round trip (≤ ~5 µs per edit).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use glam::IVec3;
use serde_json::value::RawValue;
use systems::{Color, CommandBuffer, Edit, Source, VoxelWorld};
use voxeld::config::{Config, FsyncPolicy};
use voxeld::journal::reader::scan_bytes;
use voxeld::journal::{self, JournalWriter, MemStorage, Record, RecordKind, Scan};
use voxeld::methods::simulation::SimClock;
use voxeld::methods::{self, Ctx, NoJournal, Recorder, ServerFacts};
use voxeld::persist::{Persistence, replay_records};
use voxeld::rpc::Params;
use voxeld::server::world_settings;

/// Buffers in the many-edits journal, and `Set` edits in each.
const BUFFERS: usize = 100;
const EDITS_PER_BUFFER: usize = 10_000;
/// Single-edit records in the recovery journal.
const SINGLE_EDITS: usize = 1_000_000;

/// Records what the methods apply into an in-memory journal, as `Persistence` does on disk.
struct MemRecorder {
    writer: JournalWriter<MemStorage>,
}

impl MemRecorder {
    fn new() -> MemRecorder {
        let (writer, _) =
            JournalWriter::open(MemStorage::new(), journal::SyncMode::OsDecides).unwrap();
        MemRecorder { writer }
    }

    fn into_bytes(self) -> Vec<u8> {
        self.writer.into_storage().into_bytes()
    }
}

impl Recorder for MemRecorder {
    fn record(
        &mut self,
        kind: RecordKind,
        seq: u64,
        _source: Source,
        payload: &[u8],
    ) -> Result<(), String> {
        let record = Record {
            kind,
            seq,
            source: journal::Source::Rpc,
            payload,
        };
        self.writer.append(&record).map_err(|e| e.to_string())?;
        self.writer.commit().map_err(|e| e.to_string())
    }
}

fn fresh_world() -> VoxelWorld {
    VoxelWorld::new(world_settings(&Config::default()))
}

fn ctx<'a>(
    world: &'a mut VoxelWorld,
    journal: &'a mut dyn Recorder,
    clock: &'a mut SimClock,
) -> Ctx<'a> {
    Ctx {
        world,
        journal,
        started: Instant::now(),
        facts: ServerFacts::default(),
        files: voxeld::files::FileAccess::defaults(),
        clock,
    }
}

/// A journal of `BUFFERS` buffers of `EDITS_PER_BUFFER` `Set` edits each (a 100³ cube, one
/// 100×100 slab per buffer), written through `Ctx::apply_recorded` as the server writes them.
fn many_edits_journal() -> Scan {
    let mut world = fresh_world();
    let mut recorder = MemRecorder::new();
    let mut clock = SimClock::new(&Config::default());
    let mut ctx = ctx(&mut world, &mut recorder, &mut clock);
    for b in 0..BUFFERS {
        let mut buffer = CommandBuffer::new(Source::Rpc);
        for j in 0..EDITS_PER_BUFFER {
            let pos = IVec3::new((j % 100) as i32, (j / 100) as i32, b as i32);
            let color = Color::rgba(j as u8, b as u8, (j >> 8) as u8, 255);
            buffer.push(Edit::Set { pos, color });
        }
        ctx.apply_recorded(buffer).unwrap();
    }
    scan_bytes(recorder.into_bytes()).unwrap()
}

/// `goxel.add_voxel` params for voxel `i` of a 100³ cube.
fn add_params(i: usize) -> Box<RawValue> {
    let (x, y, z) = (i % 100, (i / 100) % 100, i / 10_000);
    let color = [(i % 251) as u8, (i % 241) as u8, (i % 239) as u8, 255];
    serde_json::value::to_raw_value(&serde_json::json!({"x": x, "y": y, "z": z, "color": color}))
        .unwrap()
}

fn add_voxel(ctx: &mut Ctx<'_>, params: &RawValue) {
    let params = Params::parse(params).unwrap();
    match methods::call(ctx, "goxel.add_voxel", &params) {
        Ok(reply) => drop(black_box(reply)),
        Err(e) => panic!("add_voxel failed: {e:?}"),
    }
}

/// The journal bytes of `SINGLE_EDITS` `goxel.add_voxel` calls: one single-edit buffer each.
fn single_edits_journal() -> Vec<u8> {
    let mut world = fresh_world();
    let mut recorder = MemRecorder::new();
    let mut clock = SimClock::new(&Config::default());
    let mut ctx = ctx(&mut world, &mut recorder, &mut clock);
    for i in 0..SINGLE_EDITS {
        add_voxel(&mut ctx, &add_params(i));
    }
    recorder.into_bytes()
}

fn replay(c: &mut Criterion) {
    let scan = many_edits_journal();
    let mut group = c.benchmark_group("replay");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements((BUFFERS * EDITS_PER_BUFFER) as u64));
    group.bench_function("100_buffers_x_10k_set_edits", |b| {
        b.iter_batched(
            fresh_world,
            |mut world| {
                let applied = replay_records(&mut world, &scan, 0, None).unwrap();
                assert_eq!(applied, BUFFERS as u64);
                world
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn recovery(c: &mut Criterion) {
    let bytes = single_edits_journal();
    let scan = scan_bytes(bytes.clone()).unwrap();
    let mut group = c.benchmark_group("recovery");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    group.throughput(Throughput::Elements(SINGLE_EDITS as u64));
    group.bench_function("replay_1m_single_edit_records", |b| {
        b.iter_batched(
            fresh_world,
            |mut world| {
                let applied = replay_records(&mut world, &scan, 0, None).unwrap();
                assert_eq!(applied, SINGLE_EDITS as u64);
                world
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("scan_and_replay_1m_single_edit_records", |b| {
        b.iter_batched(
            || (bytes.clone(), fresh_world()),
            |(bytes, mut world)| {
                let scan = scan_bytes(bytes).unwrap();
                let applied = replay_records(&mut world, &scan, 0, None).unwrap();
                assert_eq!(applied, SINGLE_EDITS as u64);
                world
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn journalling_overhead(c: &mut Criterion) {
    const POSITIONS: usize = 4096;
    let params: Vec<Box<RawValue>> = (0..POSITIONS).map(add_params).collect();
    let mut group = c.benchmark_group("add_voxel_call");

    let mut world = fresh_world();
    let mut no_journal = NoJournal;
    let mut i = 0;
    group.bench_function("no_journal", |b| {
        b.iter(|| {
            let mut clock = SimClock::new(&Config::default());
            let mut ctx = ctx(&mut world, &mut no_journal, &mut clock);
            add_voxel(&mut ctx, &params[i % POSITIONS]);
            i += 1;
        })
    });

    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    config.journal.fsync = FsyncPolicy::EverySec;
    config.journal.snapshot.every_records = 0;
    config.journal.snapshot.on_shutdown = false;
    let mut world = fresh_world();
    let mut persistence = Persistence::open(&config, &mut world).unwrap();
    let mut i = 0;
    group.bench_function("persistence_tempfile_every_sec", |b| {
        b.iter(|| {
            let mut clock = SimClock::new(&Config::default());
            let mut ctx = ctx(&mut world, &mut persistence, &mut clock);
            add_voxel(&mut ctx, &params[i % POSITIONS]);
            i += 1;
            // What the world loop does after each iteration: the late sync of `EverySec`.
            persistence.end_of_iteration(&mut world).unwrap();
        })
    });
    group.finish();
    persistence.shutdown(&world);
}

criterion_group!(benches, replay, recovery, journalling_overhead);
criterion_main!(benches);
