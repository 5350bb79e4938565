//! Saving and loading a one-million-voxel model as `.gox` (run `cargo bench --bench formats_gox`).
//!
//! Target: ≤ 300 ms for each of save and load. The model is a 100³ box whose chunks are a
//! realistic mix: uniform ones (x < 40), chunks with a few colours in bands (40 ≤ x < 70) and
//! noisy ones with a colour per voxel (x ≥ 70).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use glam::IVec3;
use systems::{
    Color, CommandBuffer, Edit, EditLimits, Source, VoxelBox, VoxelWorld, WorldSettings,
};
use voxeld::formats::gox;

fn model() -> VoxelWorld {
    let mut world = VoxelWorld::new(WorldSettings {
        limits: EditLimits {
            max_voxels: u64::MAX,
            ..EditLimits::default()
        },
        undo_depth: 0,
    });
    let mut buffer = CommandBuffer::new(Source::Rpc);
    buffer.push(Edit::FillBox {
        region: VoxelBox::from_corners(IVec3::ZERO, IVec3::splat(99)),
        color: Color::rgb(120, 120, 130),
    });
    let bands = [
        Color::rgb(200, 40, 40),
        Color::rgb(40, 200, 40),
        Color::rgb(40, 40, 200),
        Color::rgba(230, 230, 30, 128),
    ];
    for z in 0..100 {
        for y in 0..100 {
            for x in 40..100 {
                let color = if x < 70 {
                    bands[((y / 4 + z / 4) % 4) as usize]
                } else {
                    let h = (x as u32)
                        .wrapping_mul(73_856_093)
                        .wrapping_add((y as u32).wrapping_mul(19_349_663))
                        .wrapping_add((z as u32).wrapping_mul(83_492_791))
                        .wrapping_mul(0x9e37_79b9);
                    Color::rgb((h >> 24) as u8, (h >> 16) as u8, (h >> 8) as u8)
                };
                buffer.push(Edit::Set {
                    pos: IVec3::new(x, y, z),
                    color,
                });
            }
        }
    }
    world.apply(buffer).result.unwrap();
    world
}

fn save_and_load(c: &mut Criterion) {
    let world = model();
    let snapshot = world.snapshot();
    assert_eq!(snapshot.voxel_count(), 1_000_000);
    let bytes = gox::encode(&snapshot).unwrap().bytes;
    eprintln!(
        "1 M voxels, {} chunks: {} bytes of gox",
        snapshot.chunk_count(),
        bytes.len()
    );
    assert_eq!(gox::decode(&bytes).unwrap().voxel_count(), 1_000_000);

    let mut g = c.benchmark_group("gox");
    g.sample_size(20);
    g.throughput(Throughput::Elements(1_000_000));
    g.bench_function("save_1m_voxels", |b| {
        b.iter(|| black_box(gox::encode(&snapshot).unwrap()))
    });
    g.bench_function("load_1m_voxels", |b| {
        b.iter(|| black_box(gox::decode(&bytes).unwrap()))
    });
    g.bench_function("load_1m_voxels_into_a_world", |b| {
        b.iter(|| black_box(gox::decode(&bytes).unwrap().to_world().unwrap()))
    });
    g.finish();
}

criterion_group!(benches, save_and_load);
criterion_main!(benches);
