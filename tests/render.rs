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

fn apply(w: &mut VoxelWorld, edits: Vec<Edit>) -> Vec<LayerId> {
    w.apply(CommandBuffer {
        edits,
        ..CommandBuffer::new(Source::Rpc)
    })
    .result
    .unwrap()
    .created_layers
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

/// The edits that build the model of `assets/samples/goxel-sample.gox`.
fn sample_edits() -> Vec<Edit> {
    vec![
        fill([0, 0, 1], [3, 3, 4], RED),
        fill([-2, -2, 0], [5, 5, 0], GREEN),
        fill([-2, -2, 1], [-2, -2, 8], BLUE),
        Edit::Set {
            pos: IVec3::new(5, 5, 1),
            color: Color::rgba(250, 250, 0, 128),
        },
    ]
}

/// The sample model of `assets/samples/README.md`.
fn sample() -> Arc<WorldSnapshot> {
    let mut w = world();
    apply(&mut w, sample_edits());
    w.snapshot()
}

fn preset(width: u32, height: u32, p: Preset) -> RenderRequest {
    RenderRequest {
        camera: Camera::Preset(p),
        ..RenderRequest::new(width, height)
    }
}

/// A corner tripod on 8 cells: a yellow origin voxel and three bars of seven voxels along +x
/// (red), +y (blue) and +z (green). Each axis view shows a different L of colours.
fn tripod() -> Arc<WorldSnapshot> {
    let mut w = world();
    apply(
        &mut w,
        vec![
            fill([0, 0, 0], [0, 0, 0], YELLOW),
            fill([1, 0, 0], [7, 0, 0], RED),
            fill([0, 1, 0], [0, 7, 0], BLUE),
            fill([0, 0, 1], [0, 0, 7], GREEN),
        ],
    );
    w.snapshot()
}

const YELLOW: Color = Color::rgb(220, 200, 20);
const TRIPOD_GREEN: Color = GREEN;

/// What a pixel shows: `'.'` for the exact background, else the letter of the nearest base
/// colour by hue (`y`, `r`, `b`, `g`), whatever the shading.
fn kind(px: [u8; 4], background: [u8; 4]) -> char {
    if px == background {
        return '.';
    }
    let norm = |c: [u8; 4]| {
        let m = c[0].max(c[1]).max(c[2]).max(1) as f64;
        [c[0] as f64 / m, c[1] as f64 / m, c[2] as f64 / m]
    };
    let p = norm(px);
    [('y', YELLOW), ('r', RED), ('b', BLUE), ('g', TRIPOD_GREEN)]
        .into_iter()
        .map(|(k, c)| {
            let q = norm(c.0);
            let d: f64 = (0..3).map(|i| (p[i] - q[i]) * (p[i] - q[i])).sum();
            (d, k)
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap()
        .1
}

/// The pixel at the centre of cell (`col`, `row`) of the 8 × 8 grid a fitted axis view of the
/// tripod makes in a 100 × 100 image (row 0 at the top).
fn cell(image: &Image, col: u32, row: u32) -> char {
    // The 8-voxel box fills 100 × (1 − 2 × 6 %) = 88 pixels from pixel 6: 11 pixels a cell.
    kind(
        image.pixel(6 + 11 * col + 5, 6 + 11 * row + 5),
        DEFAULT_BACKGROUND,
    )
}

#[test]
fn each_axis_preset_shows_its_own_silhouette() {
    let world = tripod();
    // Top-left, top-right, bottom-left, bottom-right cells, and the middle of the image.
    let expected = [
        (Preset::Front, "g.yr"),
        (Preset::Back, ".grb"),
        (Preset::Left, ".gby"),
        (Preset::Right, "g.rb"),
        (Preset::Top, "b.gr"),
        (Preset::Bottom, "yrb."),
    ];
    for (p, corners) in expected {
        let image = render(&world, &preset(100, 100, p)).unwrap();
        let seen: String = [(0, 0), (7, 0), (0, 7), (7, 7)]
            .into_iter()
            .map(|(c, r)| cell(&image, c, r))
            .collect();
        assert_eq!(seen, corners, "{} view", p.name());
        assert_eq!(cell(&image, 4, 4), '.', "{} view, middle", p.name());
        for (x, y) in [(0, 0), (99, 0), (0, 99), (99, 99)] {
            assert_eq!(
                image.pixel(x, y),
                DEFAULT_BACKGROUND,
                "{} view corner",
                p.name()
            );
        }
    }
}

#[test]
fn isometric_preset_shows_the_tripod_from_front_right_above() {
    let image = render(&tripod(), &preset(120, 120, Preset::Isometric)).unwrap();
    let bg = DEFAULT_BACKGROUND;
    let model: Vec<(u32, u32)> = (0..120)
        .flat_map(|y| (0..120).map(move |x| (x, y)))
        .filter(|&(x, y)| image.pixel(x, y) != bg)
        .collect();
    // Screen up is (−1, 1, 2)/√6 and screen right (1, 1, 0)/√2: the green column stands on the
    // left and its top is highest; the red bar runs down to the box's near corner (8, 0, ·), in
    // the middle and lowest; the blue bar runs up to the middle, above it.
    let top = model.iter().min_by_key(|p| (p.1, p.0)).unwrap();
    let bottom = model.iter().max_by_key(|p| (p.1, p.0)).unwrap();
    assert_eq!(kind(image.pixel(top.0, top.1 + 2), bg), 'g');
    assert_eq!(kind(image.pixel(bottom.0, bottom.1 - 2), bg), 'r');
    assert!(top.0 < 40, "the column stands on the left: {top:?}");
    assert!(
        (50..70).contains(&bottom.0),
        "the red bar ends in the middle: {bottom:?}"
    );
    let right: Vec<_> = model.iter().filter(|p| p.0 > 50).collect();
    let upper = right.iter().min_by_key(|p| p.1).unwrap();
    assert_eq!(kind(image.pixel(upper.0, upper.1 + 2), bg), 'b');
    // Fitted with the margin: nothing touches the border.
    assert!(
        model
            .iter()
            .all(|&(x, y)| (3..117).contains(&x) && (3..117).contains(&y))
    );
    for (x, y) in [(0, 0), (119, 0), (0, 119), (119, 119)] {
        assert_eq!(image.pixel(x, y), bg);
    }
}

#[test]
fn the_background_colour_is_exact_in_the_corners() {
    let background = [12, 34, 56, 255];
    for antialias in [false, true] {
        let req = RenderRequest {
            background,
            antialias,
            ..RenderRequest::new(64, 40)
        };
        let image = render(&sample(), &req).unwrap();
        for (x, y) in [(0, 0), (63, 0), (0, 39), (63, 39)] {
            assert_eq!(image.pixel(x, y), background);
        }
        assert!(image.pixels.chunks_exact(4).any(|p| p != background));
    }
}

#[test]
fn a_transparent_background_gives_alpha_zero_in_the_png() {
    let req = RenderRequest {
        background: [0, 0, 0, 0],
        ..RenderRequest::new(64, 64)
    };
    let png = voxeld::render::render_png(&sample(), &req).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgba);
    assert_eq!((info.width, info.height), (64, 64));
    let at = |x: usize, y: usize| &buf[(y * 64 + x) * 4..][..4];
    for (x, y) in [(0, 0), (63, 0), (0, 63), (63, 63)] {
        assert_eq!(at(x, y), [0, 0, 0, 0]);
    }
    // The model itself is opaque.
    assert_eq!(at(32, 32)[3], 255);
}

#[test]
fn hidden_layers_do_not_appear() {
    let mut w = world();
    apply(&mut w, sample_edits());
    let extra = apply(
        &mut w,
        vec![
            Edit::CreateLayer {
                name: "extra".into(),
            },
            fill([10, 10, 0], [14, 14, 6], Color::rgb(250, 0, 250)),
        ],
    )[0];
    let shown = w.snapshot();
    apply(
        &mut w,
        vec![Edit::SetLayerVisible {
            layer: extra,
            visible: false,
        }],
    );
    let hidden = w.snapshot();
    let req = RenderRequest::new(96, 96);
    let without = render(&sample(), &req).unwrap();
    assert_eq!(render(&hidden, &req).unwrap(), without);
    assert_ne!(render(&shown, &req).unwrap(), without);
}

#[test]
fn the_highest_visible_layer_wins_where_layers_overlap() {
    let mut w = world();
    apply(&mut w, sample_edits());
    apply(
        &mut w,
        vec![
            Edit::CreateLayer {
                name: "paint".into(),
            },
            fill([0, 0, 4], [3, 3, 4], Color::rgb(250, 250, 250)),
        ],
    );
    let mut flat = world();
    apply(&mut flat, sample_edits());
    apply(
        &mut flat,
        vec![fill([0, 0, 4], [3, 3, 4], Color::rgb(250, 250, 250))],
    );
    let req = RenderRequest::new(80, 80);
    assert_eq!(
        render(&w.snapshot(), &req).unwrap(),
        render(&flat.snapshot(), &req).unwrap()
    );
}

#[test]
fn sizes_out_of_range_are_errors() {
    let world = sample();
    let err = |w, h| render(&world, &RenderRequest::new(w, h)).unwrap_err();
    assert_eq!(err(0, 10), RenderError::Width(0));
    assert_eq!(err(8193, 10), RenderError::Width(8193));
    assert_eq!(err(10, 0), RenderError::Height(0));
    assert_eq!(err(10, 8193), RenderError::Height(8193));
    assert!(err(0, 10).to_string().contains("width"));
    assert!(err(10, 9000).to_string().contains("height"));
    let one = render(&world, &RenderRequest::new(1, 1)).unwrap();
    assert_eq!(one.pixels.len(), 4);
    let wide = render(&world, &RenderRequest::new(8192, 2)).unwrap();
    assert_eq!(wide.pixels.len(), 8192 * 2 * 4);
}

#[test]
fn repeated_renders_give_identical_png_bytes() {
    let req = RenderRequest::new(200, 150);
    let first = voxeld::render::render_png(&sample(), &req).unwrap();
    for _ in 0..3 {
        // A world built again from scratch, so no state is shared with the first render.
        assert!(voxeld::render::render_png(&sample(), &req).unwrap() == first);
    }
    let perspective = RenderRequest {
        camera: Camera::Explicit {
            position: DVec3::new(14.0, -18.0, 16.0),
            target: DVec3::new(1.5, 1.5, 2.0),
            up: DVec3::Z,
            projection: Projection::Perspective {
                fov_y_degrees: 45.0,
            },
        },
        ..req
    };
    let a = voxeld::render::render_png(&sample(), &perspective).unwrap();
    assert!(voxeld::render::render_png(&sample(), &perspective).unwrap() == a);
}

/// Guards determinism across machines and builds: the pixels of the sample's isometric
/// render are pinned. If the look is changed on purpose, look at
/// `docs/images/sample-isometric.png` and record the new hash.
#[test]
fn sample_render_pixels_match_the_recorded_hash() {
    let image = render(&sample(), &RenderRequest::new(128, 128)).unwrap();
    let hash = blake3::hash(&image.pixels).to_hex().to_string();
    assert_eq!(hash, RECORDED_SAMPLE_HASH);
}

const RECORDED_SAMPLE_HASH: &str =
    "77be27e5ab79c8189103165dc14e73c5c8ac733917551acc16f8ff261eb72e1d";

#[test]
fn an_empty_world_renders_only_the_background() {
    let empty = world().snapshot();
    for camera in [
        Camera::Preset(Preset::Isometric),
        Camera::Preset(Preset::Top),
        Camera::Explicit {
            position: DVec3::new(5.0, 5.0, 5.0),
            target: DVec3::ZERO,
            up: DVec3::Z,
            projection: Projection::Perspective {
                fov_y_degrees: 60.0,
            },
        },
    ] {
        let req = RenderRequest {
            camera,
            ..RenderRequest::new(33, 17)
        };
        let image = render(&empty, &req).unwrap();
        assert!(
            image
                .pixels
                .chunks_exact(4)
                .all(|p| p == DEFAULT_BACKGROUND)
        );
    }
}

#[test]
fn a_perspective_camera_sees_the_model_in_the_centre() {
    let mut w = world();
    apply(&mut w, vec![fill([-2, -2, -2], [1, 1, 1], RED)]);
    let req = RenderRequest {
        camera: Camera::Explicit {
            position: DVec3::new(20.0, -25.0, 15.0),
            target: DVec3::ZERO,
            up: DVec3::Z,
            projection: Projection::Perspective {
                fov_y_degrees: 40.0,
            },
        },
        ..RenderRequest::new(101, 101)
    };
    let image = render(&w.snapshot(), &req).unwrap();
    assert_eq!(kind(image.pixel(50, 50), DEFAULT_BACKGROUND), 'r');
    for (x, y) in [(0, 0), (100, 0), (0, 100), (100, 100), (50, 5), (5, 50)] {
        assert_eq!(image.pixel(x, y), DEFAULT_BACKGROUND);
    }
    // The cube (about 7 voxels across, 35 away) covers a central patch only, and farther
    // means smaller.
    let covered = |img: &Image| {
        img.pixels
            .chunks_exact(4)
            .filter(|p| *p != DEFAULT_BACKGROUND)
            .count()
    };
    let far = RenderRequest {
        camera: Camera::Explicit {
            position: DVec3::new(40.0, -50.0, 30.0),
            target: DVec3::ZERO,
            up: DVec3::Z,
            projection: Projection::Perspective {
                fov_y_degrees: 40.0,
            },
        },
        ..req.clone()
    };
    let far_image = render(&w.snapshot(), &far).unwrap();
    assert_eq!(kind(far_image.pixel(50, 50), DEFAULT_BACKGROUND), 'r');
    let (near_n, far_n) = (covered(&image), covered(&far_image));
    assert!(near_n > 3 * far_n, "{near_n} vs {far_n}");
    assert!(near_n < 101 * 101 / 4);
}

#[test]
fn an_orthographic_camera_with_a_height_is_centred_on_its_target() {
    let mut w = world();
    apply(&mut w, vec![fill([0, 0, 0], [1, 1, 1], BLUE)]);
    let req = |target: DVec3| RenderRequest {
        camera: Camera::Explicit {
            position: target - DVec3::Y * 10.0,
            target,
            up: DVec3::Z,
            projection: Projection::Orthographic { height: Some(10.0) },
        },
        antialias: false,
        ..RenderRequest::new(100, 100)
    };
    // Looking along +y at the cube's centre: it spans 2 of 10 units, pixels 40..60.
    let image = render(&w.snapshot(), &req(DVec3::new(1.0, 1.0, 1.0))).unwrap();
    assert_eq!(kind(image.pixel(50, 50), DEFAULT_BACKGROUND), 'b');
    assert_eq!(kind(image.pixel(41, 41), DEFAULT_BACKGROUND), 'b');
    assert_eq!(image.pixel(38, 50), DEFAULT_BACKGROUND);
    assert_eq!(image.pixel(61, 50), DEFAULT_BACKGROUND);
    // Looking 3 units to the right of it: the cube moves 30 pixels left.
    let image = render(&w.snapshot(), &req(DVec3::new(4.0, 1.0, 1.0))).unwrap();
    assert_eq!(image.pixel(50, 50), DEFAULT_BACKGROUND);
    assert_eq!(kind(image.pixel(20, 50), DEFAULT_BACKGROUND), 'b');
}

#[test]
fn degenerate_cameras_are_errors() {
    let camera = |position, up, projection| RenderRequest {
        camera: Camera::Explicit {
            position,
            target: DVec3::ZERO,
            up,
            projection,
        },
        ..RenderRequest::new(10, 10)
    };
    let persp = Projection::Perspective {
        fov_y_degrees: 60.0,
    };
    let world = sample();
    let bad = [
        camera(DVec3::ZERO, DVec3::Z, persp),
        camera(DVec3::Z * 5.0, DVec3::Z, persp),
        camera(
            DVec3::X,
            DVec3::Z,
            Projection::Perspective { fov_y_degrees: 0.0 },
        ),
        camera(
            DVec3::X,
            DVec3::Z,
            Projection::Perspective {
                fov_y_degrees: 180.0,
            },
        ),
        camera(
            DVec3::X,
            DVec3::Z,
            Projection::Orthographic { height: Some(-1.0) },
        ),
        camera(DVec3::new(f64::NAN, 0.0, 0.0), DVec3::Z, persp),
    ];
    for req in bad {
        assert!(
            matches!(render(&world, &req), Err(RenderError::Camera(_))),
            "{req:?}"
        );
    }
}

#[test]
fn occlusion_darkens_the_floor_next_to_a_wall() {
    let mut w = world();
    let grey = Color::rgb(200, 200, 200);
    apply(
        &mut w,
        vec![
            fill([0, 0, 0], [15, 15, 0], grey),
            fill([0, 0, 1], [0, 15, 3], grey),
        ],
    );
    let req = RenderRequest {
        outline: false,
        antialias: false,
        ..preset(160, 160, Preset::Top)
    };
    let image = render(&w.snapshot(), &req).unwrap();
    // Top view: 16 voxels over 160 × 88 %, 8.8 pixels each from pixel 9.6; the wall is column 0.
    let at = |vx: f64, vy: f64| {
        image.pixel((9.6 + 8.8 * vx) as u32, (9.6 + 8.8 * (16.0 - vy)) as u32)[0]
    };
    let next_to_wall = at(1.1, 8.0);
    let open = at(8.0, 8.0);
    assert_eq!(open, 200, "an open top face is drawn in its own colour");
    assert!(next_to_wall < open - 30, "{next_to_wall} vs {open}");
    // Occlusion fades across the voxel beside the wall.
    assert!(at(1.1, 8.0) < at(1.9, 8.0));
}

#[test]
fn faces_leave_no_cracks_in_a_tilted_wall() {
    let mut w = world();
    apply(
        &mut w,
        vec![fill([0, 0, 0], [47, 0, 47], Color::rgb(90, 90, 200))],
    );
    let req = RenderRequest {
        camera: Camera::Explicit {
            position: DVec3::new(61.3, -37.7, 52.9),
            target: DVec3::new(24.0, 0.5, 24.0),
            up: DVec3::new(0.1, 0.0, 1.0),
            projection: Projection::Perspective {
                fov_y_degrees: 53.0,
            },
        },
        antialias: false,
        outline: false,
        ..RenderRequest::new(211, 173)
    };
    let image = render(&w.snapshot(), &req).unwrap();
    let bg = |x: u32, y: u32| image.pixel(x, y) == DEFAULT_BACKGROUND;
    let mut model = 0;
    for y in 1..172 {
        for x in 1..210 {
            if !bg(x, y) {
                model += 1;
                continue;
            }
            let enclosed = !bg(x - 1, y) && !bg(x + 1, y) && !bg(x, y - 1) && !bg(x, y + 1);
            assert!(
                !enclosed,
                "a background pixel inside the wall at ({x}, {y})"
            );
        }
    }
    assert!(model > 5000);
}

#[test]
fn the_outline_darkens_silhouettes_only_when_asked() {
    let world = tripod();
    let plain = RenderRequest {
        outline: false,
        antialias: false,
        ..preset(100, 100, Preset::Front)
    };
    let lined = RenderRequest {
        outline: true,
        ..plain.clone()
    };
    let a = render(&world, &plain).unwrap();
    let b = render(&world, &lined).unwrap();
    // The green column's left edge: column 0 of the 8-cell grid starts at pixel 6.
    let edge = (6, 30);
    assert_eq!(kind(a.pixel(edge.0, edge.1), DEFAULT_BACKGROUND), 'g');
    assert!(b.pixel(edge.0, edge.1)[1] < a.pixel(edge.0, edge.1)[1]);
    // Inside a face nothing changes.
    assert_eq!(a.pixel(11, 30), b.pixel(11, 30));
}

#[test]
fn sample_isometric_is_written_for_the_docs() {
    let image = render(&sample(), &RenderRequest::new(512, 512)).unwrap();
    let png = encode_png(&image);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/images");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("sample-isometric.png"), &png).unwrap();
    assert_eq!(image.pixel(0, 0), DEFAULT_BACKGROUND);
    // The sample's parts where Goxel's isometric render has them: the blue column left of the
    // red cube, the yellow voxel right of it (without anti-aliasing, whose red-green edge
    // pixels would pass for yellow).
    let req = RenderRequest {
        antialias: false,
        ..RenderRequest::new(256, 256)
    };
    let image = render(&sample(), &req).unwrap();
    let bg = DEFAULT_BACKGROUND;
    let columns = |k: char| -> Vec<u32> {
        (0..256)
            .filter(|&x| (0..256).any(|y| kind(image.pixel(x, y), bg) == k))
            .collect()
    };
    let (blue, red, yellow) = (columns('b'), columns('r'), columns('y'));
    assert!(blue.last() < red.first());
    assert!(red.last() < yellow.first());
}
