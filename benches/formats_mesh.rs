//! Benchmarks of mesh export (issue targets in comments; run `cargo bench --bench formats_mesh`).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use glam::IVec3;
use systems::{CHUNK_SIZE, ChunkData, Color, WorldSnapshot};
use voxeld::formats::{DocLayer, Document, LayerBuilder, mesh};

fn world_of(layers: Vec<DocLayer>) -> Arc<WorldSnapshot> {
    Document {
        layers,
        active: None,
    }
    .to_world()
    .unwrap()
    .snapshot()
}

/// About a million voxels: a 256 × 256 heightfield banded in five colours, with sixteen chunks
/// of coloured noise floating above it.
fn terrain() -> Arc<WorldSnapshot> {
    let bands = [
        Color::rgb(40, 90, 200),
        Color::rgb(220, 200, 140),
        Color::rgb(70, 160, 60),
        Color::rgb(120, 110, 100),
        Color::rgb(250, 250, 250),
    ];
    let mut b = LayerBuilder::new();
    for y in 0..256 {
        for x in 0..256 {
            let (fx, fy) = (x as f32, y as f32);
            let h = 15.0
                + 7.0 * (fx / 17.0).sin()
                + 5.0 * (fy / 23.0).cos()
                + 2.0 * ((fx + fy) / 7.0).sin();
            let h = h.max(1.0) as i32;
            for z in 0..h {
                b.set(IVec3::new(x, y, z), bands[(z as usize / 6).min(4)]);
            }
        }
    }
    let mut seed = 1u64;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as u32
    };
    for k in 0..16 {
        let origin = IVec3::new(k % 4 * 64, k / 4 * 64, 48);
        for i in 0..CHUNK_SIZE.pow(3) {
            if next() % 2 == 0 {
                let p = IVec3::new(i % 16, i / 16 % 16, i / 256);
                let c = Color::rgb((next() % 8 * 32) as u8, 100, 180);
                b.set(origin + p, c);
            }
        }
    }
    world_of(vec![DocLayer {
        chunks: b.finish(),
        ..DocLayer::new("terrain")
    }])
}

/// A solid 256³ box of one colour, all uniform chunks.
fn solid_box() -> Arc<WorldSnapshot> {
    let chunk = Arc::new(ChunkData::uniform(Color::rgb(9, 9, 9)));
    let mut chunks = Vec::new();
    for z in 0..16 {
        for y in 0..16 {
            for x in 0..16 {
                chunks.push((IVec3::new(x, y, z), chunk.clone()));
            }
        }
    }
    world_of(vec![DocLayer {
        chunks,
        ..DocLayer::new("box")
    }])
}

fn export(c: &mut Criterion) {
    for (name, world) in [("terrain_1m", terrain()), ("box_256", solid_box())] {
        let obj = mesh::encode_obj(&world, "bench.obj").unwrap();
        let ply = mesh::encode_ply(&world).unwrap();
        eprintln!(
            "{name}: {} voxels, {} colours, {} quads; obj {} KiB + mtl {} KiB, ply {} KiB",
            obj.report.voxel_count,
            obj.report.color_count,
            obj.report.face_count.unwrap(),
            obj.bytes.len() >> 10,
            obj.sidecars[0].1.len() >> 10,
            ply.bytes.len() >> 10,
        );
        let mut g = c.benchmark_group("mesh_export");
        g.sample_size(10);
        g.throughput(Throughput::Elements(obj.report.voxel_count));
        // Target: ≤ 500 ms for each format on the million-voxel terrain.
        g.bench_function(format!("obj_{name}"), |b| {
            b.iter(|| black_box(mesh::encode_obj(&world, "bench.obj").unwrap()))
        });
        g.bench_function(format!("ply_{name}"), |b| {
            b.iter(|| black_box(mesh::encode_ply(&world).unwrap()))
        });
        g.finish();
    }
}

criterion_group!(benches, export);
criterion_main!(benches);
