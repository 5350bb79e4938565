//! Benchmarks of the world core (issue targets in comments; run `cargo bench --bench world`).

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use glam::IVec3;
use systems::{
    ChunkData, Color, CommandBuffer, Edit, EditLimits, Source, VoxelBox, VoxelWorld, WorldSettings,
};

fn settings() -> WorldSettings {
    WorldSettings {
        limits: EditLimits {
            max_voxels: u64::MAX,
            ..EditLimits::default()
        },
        undo_depth: 0,
    }
}

fn clustered(n: i32, color: impl Fn(i32) -> Color) -> CommandBuffer {
    let mut b = CommandBuffer::new(Source::Rpc);
    b.edits = (0..n)
        .map(|i| Edit::Set {
            pos: IVec3::new(i % 128, (i / 128) % 128, i / (128 * 128)),
            color: color(i),
        })
        .collect();
    b
}

fn edits(c: &mut Criterion) {
    const N: i32 = 1 << 20;
    let mut g = c.benchmark_group("edits");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(20);
    // Target: ≥ 50 M clustered edits/s into existing chunks.
    let mut w = VoxelWorld::new(settings());
    w.apply(clustered(N, |_| Color::rgb(1, 1, 1)))
        .result
        .unwrap();
    let buffer = clustered(N, |i| Color::rgb((i % 7) as u8, 2, 3));
    g.bench_function("clustered_into_existing_chunks", |b| {
        b.iter_batched(
            || buffer.clone(),
            |buf| black_box(w.apply(buf)),
            BatchSize::LargeInput,
        )
    });
    // Target: ≥ 12 M/s when edits create chunks.
    g.bench_function("creating_chunks", |b| {
        b.iter_batched(
            || (VoxelWorld::new(settings()), buffer.clone()),
            |(mut w, buf)| black_box(w.apply(buf)),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn fill(c: &mut Criterion) {
    // Target: a 256³ single-colour box fill in < 5 ms.
    let region = VoxelBox::from_corners(IVec3::ZERO, IVec3::splat(255));
    c.bench_function("fill_box_256", |b| {
        b.iter_batched(
            || VoxelWorld::new(settings()),
            |mut w| {
                let mut buf = CommandBuffer::new(Source::Rpc);
                buf.push(Edit::FillBox {
                    region,
                    color: Color::rgb(9, 9, 9),
                });
                black_box(w.apply(buf))
            },
            BatchSize::LargeInput,
        )
    });
}

fn publish(c: &mut Criterion) {
    // Target: < 100 µs to apply one edit and publish a snapshot of 10 k chunks.
    let mut w = VoxelWorld::new(settings());
    let mut buf = CommandBuffer::new(Source::Rpc);
    for i in 0..10_000 {
        buf.push(Edit::Set {
            pos: IVec3::new(i % 100, (i / 100) % 100, 0) * 16,
            color: Color::rgb(1, 2, 3),
        });
    }
    w.apply(buf).result.unwrap();
    assert_eq!(w.snapshot().chunk_count(), 10_000);
    let mut i = 0u8;
    c.bench_function("publish_10k_chunks_one_changed", |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            let mut buf = CommandBuffer::new(Source::Rpc);
            buf.push(Edit::Set {
                pos: IVec3::new(5, 5, 5),
                color: Color::rgb(i, 1, 1),
            });
            black_box(w.apply(buf));
            black_box(w.snapshot());
        })
    });
}

fn hashing(c: &mut Criterion) {
    // Target: hashing 16 M voxels in < 100 ms.
    let dense: Vec<Box<[Color; 4096]>> = (0..4096u32)
        .map(|k| {
            let mut d = Box::new([Color::EMPTY; 4096]);
            for (i, v) in d.iter_mut().enumerate() {
                *v = Color::rgb((i as u32 ^ k) as u8, (k >> 4) as u8, 1);
            }
            d
        })
        .collect();
    let mut g = c.benchmark_group("hash");
    g.sample_size(10);
    g.throughput(Throughput::Elements(16 << 20));
    g.bench_function("hash_16m_voxels", |b| {
        b.iter_batched(
            || {
                dense
                    .iter()
                    .map(|d| ChunkData::from_dense(d))
                    .collect::<Vec<_>>()
            },
            |chunks| {
                let mut h = blake3::Hasher::new();
                for c in &chunks {
                    h.update(&c.digest());
                }
                black_box(h.finalize())
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, edits, fill, publish, hashing);
criterion_main!(benches);
