//! MagicaVoxel `.vox` load and save of one model of 1 M voxels (128 × 128 × 64) with a
//! realistic mix of 200 colours: eight bands up z, each in 25 shades laid in 4 × 4 patches.
//!
//! `CARGO_TARGET_DIR=... cargo bench --bench formats_vox`
//!
//! Targets: load (bytes → document) ≤ 300 ms; save (snapshot → bytes) ≤ 300 ms.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use glam::IVec3;
use systems::{Color, WorldSnapshot};
use voxeld::formats::vox::{decode, encode};
use voxeld::formats::{DocLayer, Document, LayerBuilder};

const SIZE: IVec3 = IVec3::new(128, 128, 64);

fn world() -> Arc<WorldSnapshot> {
    let mut b = LayerBuilder::new();
    for z in 0..SIZE.z {
        for y in 0..SIZE.y {
            for x in 0..SIZE.x {
                let band = (z / 8) as u32;
                let patch = ((x / 4) as u32).wrapping_mul(73_856_093)
                    ^ ((y / 4) as u32).wrapping_mul(19_349_663)
                    ^ band.wrapping_mul(83_492_791);
                let shade = (patch % 25) as u8;
                let color = Color::rgb(40 + band as u8 * 25, 60 + shade * 6, 200 - shade * 5);
                b.set(IVec3::new(x, y, z), color);
            }
        }
    }
    let doc = Document {
        layers: vec![DocLayer {
            chunks: b.finish(),
            ..DocLayer::new("terrain")
        }],
        active: None,
    };
    doc.to_world().unwrap().snapshot()
}

fn vox(c: &mut Criterion) {
    let snapshot = world();
    let voxels = snapshot.voxel_count();
    assert_eq!(voxels, 1 << 20);
    let encoded = encode(&snapshot).unwrap();
    assert_eq!(encoded.report.color_count, 200);
    assert_eq!(encoded.report.model_count, Some(1));
    let bytes = encoded.bytes;

    let mut g = c.benchmark_group("vox");
    g.sample_size(10);
    g.throughput(Throughput::Elements(voxels));
    g.bench_function("load_1m_voxels", |b| {
        b.iter(|| black_box(decode(black_box(&bytes)).unwrap()))
    });
    g.bench_function("save_1m_voxels", |b| {
        b.iter(|| black_box(encode(black_box(&snapshot)).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, vox);
criterion_main!(benches);
