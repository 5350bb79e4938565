//! Benchmarks of the CPU renderer (targets in comments; run `cargo bench --bench render`).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use glam::IVec3;
use systems::{
    Color, CommandBuffer, Edit, EditLimits, Source, VoxelBox, VoxelWorld, WorldSettings,
    WorldSnapshot,
};
use voxeld::formats::{DocLayer, Document, LayerBuilder};
use voxeld::render::{RenderRequest, encode_png, render};

/// Rolling terrain of about a million voxels: 256 × 256 columns, 15.5 high on average, stone under
/// dirt under grass, snow on the peaks. Mostly palette chunks, with exposed steps everywhere.
fn terrain() -> Arc<WorldSnapshot> {
    let mut b = LayerBuilder::new();
    for y in 0..256 {
        for x in 0..256 {
            let (fx, fy) = (x as f64, y as f64);
            let h = 15.5
                + 6.0 * libm::sin(fx / 17.0)
                + 6.0 * libm::cos(fy / 23.0)
                + 3.0 * libm::sin((fx + fy) / 9.0);
            let h = h as i32;
            for z in 0..h {
                let c = if z == h - 1 && h > 24 {
                    Color::rgb(245, 245, 250)
                } else if z == h - 1 {
                    Color::rgb(70, 160, 60)
                } else if z >= h - 4 {
                    Color::rgb(130, 90, 50)
                } else {
                    Color::rgb(120, 120, 125)
                };
                b.set(IVec3::new(x, y, z), c);
            }
        }
    }
    let mut layer = DocLayer::new("terrain");
    layer.chunks = b.finish();
    let doc = Document {
        layers: vec![layer],
        active: None,
    };
    doc.to_world().unwrap().snapshot()
}

/// A solid 256³ box of one colour: 4096 uniform chunks.
fn solid_box() -> Arc<WorldSnapshot> {
    let mut w = VoxelWorld::new(WorldSettings {
        limits: EditLimits {
            max_voxels: u64::MAX,
            ..EditLimits::default()
        },
        undo_depth: 0,
    });
    w.apply(CommandBuffer {
        edits: vec![Edit::FillBox {
            region: VoxelBox::from_corners(IVec3::ZERO, IVec3::splat(255)),
            color: Color::rgb(200, 120, 60),
        }],
        ..CommandBuffer::new(Source::Rpc)
    })
    .result
    .unwrap();
    w.snapshot()
}

fn renders(c: &mut Criterion) {
    let terrain = terrain();
    let solid = solid_box();
    assert!((900_000..1_100_000).contains(&terrain.voxel_count()));
    let mut g = c.benchmark_group("render");
    g.sample_size(10);
    // Target: ≤ 60 ms.
    g.bench_function("terrain_1m_isometric_512", |b| {
        let req = RenderRequest::new(512, 512);
        b.iter(|| black_box(render(&terrain, &req).unwrap()))
    });
    // Target: ≤ 400 ms.
    g.bench_function("terrain_1m_isometric_2048", |b| {
        let req = RenderRequest::new(2048, 2048);
        b.iter(|| black_box(render(&terrain, &req).unwrap()))
    });
    // Target: as fast as the 1 M-voxel terrain.
    g.bench_function("solid_box_256_isometric_512", |b| {
        let req = RenderRequest::new(512, 512);
        b.iter(|| black_box(render(&solid, &req).unwrap()))
    });
    // Without anti-aliasing, for comparison.
    g.bench_function("terrain_1m_isometric_512_no_aa", |b| {
        let req = RenderRequest {
            antialias: false,
            ..RenderRequest::new(512, 512)
        };
        b.iter(|| black_box(render(&terrain, &req).unwrap()))
    });
    g.bench_function("terrain_1m_isometric_2048_no_aa", |b| {
        let req = RenderRequest {
            antialias: false,
            ..RenderRequest::new(2048, 2048)
        };
        b.iter(|| black_box(render(&terrain, &req).unwrap()))
    });
    let image = render(&terrain, &RenderRequest::new(512, 512)).unwrap();
    g.bench_function("encode_png_512", |b| {
        b.iter(|| black_box(encode_png(&image)))
    });
    g.finish();
}

criterion_group!(benches, renders);
criterion_main!(benches);
