//! Tests of the CPU renderer: silhouettes of each preset, backgrounds, layers, limits, cameras
//! and byte-for-byte determinism, on small hand-built models.

use std::sync::Arc;

use glam::{DVec3, IVec3};
use systems::{
    Color, CommandBuffer, Edit, EditLimits, LayerId, Source, VoxelBox, VoxelWorld, WorldSettings,
    WorldSnapshot,
};
use voxeld::render::{
    Camera, DEFAULT_BACKGROUND, Image, Preset, Projection, RenderError, RenderRequest, encode_png,
    render,
};

fn world() -> VoxelWorld {
    VoxelWorld::new(WorldSettings {
        limits: EditLimits {
            max_voxels: u64::MAX,
            ..EditLimits::default()
        },
        undo_depth: 0,
    })
}

fn apply(w: &mut VoxelWorld, edits: Vec<Edit>) {
    w.apply(CommandBuffer {
        edits,
        ..CommandBuffer::new(Source::Rpc)
    })
    .result
    .unwrap();
}

fn fill(min: [i32; 3], max: [i32; 3], c: Color) -> Edit {
    Edit::FillBox {
        region: VoxelBox::from_corners(IVec3::from_array(min), IVec3::from_array(max)),
        color: c,
    }
}

const RED: Color = Color::rgb(220, 30, 30);
const GREEN: Color = Color::rgb(40, 180, 60);
const BLUE: Color = Color::rgb(30, 60, 230);

/// The model of `assets/samples/goxel-sample.gox`, built by edits.
fn sample() -> Arc<WorldSnapshot> {
    let mut w = world();
    apply(
        &mut w,
        vec![
            fill([0, 0, 1], [3, 3, 4], RED),
            fill([-2, -2, 0], [5, 5, 0], GREEN),
            fill([-2, -2, 1], [-2, -2, 8], BLUE),
            Edit::Set {
                pos: IVec3::new(5, 5, 1),
                color: Color::rgba(250, 250, 0, 128),
            },
        ],
    );
    w.snapshot()
}

fn preset(width: u32, height: u32, p: Preset) -> RenderRequest {
    RenderRequest {
        camera: Camera::Preset(p),
        ..RenderRequest::new(width, height)
    }
}

#[test]
fn sample_isometric_is_written_for_the_docs() {
    let image = render(&sample(), &RenderRequest::new(512, 512)).unwrap();
    let png = encode_png(&image);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/images");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("sample-isometric.png"), &png).unwrap();
    assert_eq!(image.pixel(0, 0), DEFAULT_BACKGROUND);
}
