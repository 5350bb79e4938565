//! The MagicaVoxel codec against real files (Goxel's and MagicaVoxel's samples), against itself
//! (round trips), against an independent Python reader, and against hostile bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

#[path = "support/python.rs"]
mod python;

use glam::IVec3;
use systems::coords::voxel_pos;
use systems::{Color, CommandBuffer, Edit, Source, VoxelWorld, WorldSettings};
use voxeld::formats::vox::{decode, encode, nearest};
use voxeld::formats::{DocLayer, Document, LayerBuilder};

/// A layer as the tests compare it: name, visibility, every voxel.
type Layer = (String, bool, BTreeMap<[i32; 3], [u8; 4]>);

fn sample(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/samples")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const SAMPLES: [&str; 7] = [
    "goxel-sample.vox",
    "magicavoxel-axes.vox",
    "magicavoxel-metal-material.vox",
    "magicavoxel-not_a.vox",
    "magicavoxel-placeholder-with-materials.vox",
    "magicavoxel-placeholder.vox",
    "magicavoxel-single-voxel-with-material.vox",
];

fn layers_of(world: &VoxelWorld) -> Vec<Layer> {
    let s = world.snapshot();
    s.layers()
        .map(|l| {
            let mut voxels = BTreeMap::new();
            for (cpos, chunk) in l.chunks_sorted() {
                chunk.for_each_filled(|i, c| {
                    voxels.insert(voxel_pos(cpos, i).to_array(), c.0);
                });
            }
            (l.name.clone(), l.visible, voxels)
        })
        .collect()
}

fn doc_layers(doc: &Document) -> Vec<Layer> {
    layers_of(&doc.to_world().unwrap())
}

fn document(layers: &[Layer]) -> Document {
    Document {
        layers: layers
            .iter()
            .map(|(name, visible, voxels)| {
                let mut b = LayerBuilder::new();
                for (p, c) in voxels {
                    b.set(IVec3::from_array(*p), Color(*c));
                }
                DocLayer {
                    visible: *visible,
                    chunks: b.finish(),
                    ..DocLayer::new(name.as_str())
                }
            })
            .collect(),
        active: None,
    }
}

/// World → vox → world, compared layer by layer and by world hash.
fn round_trip(layers: &[Layer]) -> voxeld::formats::EncodeReport {
    let world = document(layers).to_world().unwrap();
    let encoded = encode(&world.snapshot()).unwrap();
    let back = decode(&encoded.bytes).unwrap().to_world().unwrap();
    assert_eq!(layers_of(&back), layers, "layers after the round trip");
    assert_eq!(back.snapshot().hash_hex(), world.snapshot().hash_hex());
    encoded.report
}

fn merged(layers: &[Layer]) -> BTreeMap<[i32; 3], [u8; 4]> {
    layers.iter().flat_map(|(_, _, v)| v.clone()).collect()
}

#[test]
fn every_sample_loads_with_its_known_voxel_count() {
    // (file, voxels stored in its models, voxels the scene graph places)
    let known = [
        ("goxel-sample.vox", 137, 137),
        // axes.vox stores 4 models (4372 voxels) and its scene graph shows three instances of
        // each axis model plus one of the origin cube: 3·920 + 3·1640 + 3·1480 + 332.
        ("magicavoxel-axes.vox", 4372, 12452),
        ("magicavoxel-metal-material.vox", 20, 20),
        ("magicavoxel-placeholder-with-materials.vox", 4, 4),
        ("magicavoxel-placeholder.vox", 4, 4),
        ("magicavoxel-single-voxel-with-material.vox", 1, 1),
    ];
    for (name, stored, placed) in known {
        let bytes = sample(name);
        let data = dot_vox::load_bytes(&bytes).unwrap();
        let in_models: usize = data.models.iter().map(|m| m.voxels.len()).sum();
        assert_eq!(in_models, stored, "{name}: stored voxels");
        let doc = decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(doc.voxel_count(), placed, "{name}: placed voxels");
        assert_eq!(
            doc.to_world().unwrap().snapshot().voxel_count(),
            placed,
            "{name}"
        );
    }
}

#[test]
fn goxel_sample_holds_the_gox_model_with_its_four_colours() {
    // The model of assets/samples/README.md. Goxel's .vox export has no scene graph, so the
    // model's corner voxel lands on the origin: Goxel's (-2, -2, 0) corner moves by (2, 2, 0).
    let (red, green, blue, yellow) = (
        [220, 30, 30, 255],
        [40, 180, 60, 255],
        [30, 60, 230, 255],
        [250, 250, 0, 255],
    );
    let mut expected = BTreeMap::new();
    for x in -2..=5 {
        for y in -2..=5 {
            expected.insert([x, y, 0], green);
        }
    }
    for x in 0..=3 {
        for y in 0..=3 {
            for z in 1..=4 {
                expected.insert([x, y, z], red);
            }
        }
    }
    for z in 1..=8 {
        expected.insert([-2, -2, z], blue);
    }
    expected.insert([5, 5, 1], yellow);
    let expected: BTreeMap<[i32; 3], [u8; 4]> = expected
        .into_iter()
        .map(|([x, y, z], c)| ([x + 2, y + 2, z], c))
        .collect();
    assert_eq!(expected.len(), 137);

    let layers = doc_layers(&decode(&sample("goxel-sample.vox")).unwrap());
    assert_eq!(layers.len(), 1);
    assert_eq!((layers[0].0.as_str(), layers[0].1), ("Layer 1", true));
    assert_eq!(layers[0].2, expected);
}

#[test]
fn palette_index_i_is_rgba_entry_i_minus_one_and_the_translation_centres_the_model() {
    // placeholder.vox: a 2³ model at _t (0, 0, 1), voxel colour indices 226, 216, 236, 6 of
    // MagicaVoxel's default palette (entries 225, 215, 235, 5).
    let layers = doc_layers(&decode(&sample("magicavoxel-placeholder.vox")).unwrap());
    let expected = BTreeMap::from([
        ([-1, -1, 0], [0, 238, 0, 255]),
        ([-1, 0, 1], [238, 0, 0, 255]),
        ([0, -1, 1], [0, 0, 238, 255]),
        ([0, 0, 0], [255, 255, 0, 255]),
    ]);
    assert_eq!(layers, vec![("0".to_string(), true, expected)]);
}

#[test]
fn axes_sample_puts_its_four_models_and_their_instances_where_magicavoxel_does() {
    let bytes = sample("magicavoxel-axes.vox");
    let data = dot_vox::load_bytes(&bytes).unwrap();
    // Each shape's translation summed along its path from the root (no rotations in the file),
    // and the model's colour.
    let instances: [(usize, [i32; 3], [u8; 4]); 10] = [
        (0, [0, 0, 83], [0, 170, 0, 255]),
        (0, [0, 0, 131], [0, 170, 0, 255]),
        (0, [0, 0, 179], [0, 170, 0, 255]),
        (1, [0, 129, 20], [0, 0, 170, 255]),
        (1, [0, 189, 20], [0, 0, 170, 255]),
        (1, [0, 247, 20], [0, 0, 170, 255]),
        (2, [126, 0, 20], [221, 0, 0, 255]),
        (2, [174, 0, 20], [221, 0, 0, 255]),
        (2, [220, 0, 20], [221, 0, 0, 255]),
        (3, [0, 0, 16], [34, 34, 34, 255]),
    ];
    let mut expected = BTreeMap::new();
    for (m, t, color) in instances {
        let model = &data.models[m];
        let half = [model.size.x / 2, model.size.y / 2, model.size.z / 2].map(|h| h as i32);
        for v in &model.voxels {
            let p = [
                t[0] + i32::from(v.x) - half[0],
                t[1] + i32::from(v.y) - half[1],
                t[2] + i32::from(v.z) - half[2],
            ];
            assert!(expected.insert(p, color).is_none(), "instances overlap");
        }
    }
    let layers = doc_layers(&decode(&bytes).unwrap());
    assert_eq!(layers.len(), 1, "every shape is in layer 0");
    assert_eq!(layers[0].2, expected);

    // The four models at distinct, plausible places: the dark cube at the origin, the green
    // model up z, the blue one along y, the red one along x.
    let bounds = |color: [u8; 4]| {
        let mut lo = [i32::MAX; 3];
        let mut hi = [i32::MIN; 3];
        for (p, _) in layers[0].2.iter().filter(|(_, c)| **c == color) {
            for j in 0..3 {
                lo[j] = lo[j].min(p[j]);
                hi[j] = hi[j].max(p[j]);
            }
        }
        (lo, hi)
    };
    let (cube_lo, cube_hi) = bounds([34, 34, 34, 255]);
    assert!(cube_lo[0] <= 0 && cube_hi[0] >= 0 && cube_lo[1] <= 0 && cube_hi[1] >= 0);
    assert_eq!(cube_lo[2], 0, "the cube stands on the ground");
    let (z_lo, _) = bounds([0, 170, 0, 255]);
    let (y_lo, _) = bounds([0, 0, 170, 255]);
    let (x_lo, _) = bounds([221, 0, 0, 255]);
    assert!(z_lo[2] > cube_hi[2], "{z_lo:?} above {cube_hi:?}");
    assert!(y_lo[1] > cube_hi[1], "{y_lo:?} beyond {cube_hi:?}");
    assert!(x_lo[0] > cube_hi[0], "{x_lo:?} beyond {cube_hi:?}");
}

#[test]
fn a_file_that_is_not_vox_is_a_clear_error() {
    let err = decode(&sample("magicavoxel-not_a.vox")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "not a magicavoxel file: it does not start with \"VOX \""
    );
    assert!(decode(b"").is_err());
    let cases: [(&[u8], &str); 3] = [
        (
            b"VOX \x96\0\0\0MAIN\0\0\0\0\xff\0\0\0",
            "malformed .vox file: truncated or corrupt chunks",
        ),
        (
            b"VOX \x96\0\0\0SIZE\x0c\0\0\0\0\0\0\0",
            "malformed .vox file: the first chunk is not MAIN",
        ),
        (
            b"VOX \x96\0\0\0MAIN\0\0\0\0\x04\0\0\0abcd",
            "malformed .vox file: the chunks inside MAIN cannot be read",
        ),
    ];
    for (bytes, message) in cases {
        assert_eq!(decode(bytes).unwrap_err().to_string(), message);
    }
}

#[test]
fn every_sample_survives_vox_world_vox_world() {
    for name in SAMPLES.iter().filter(|n| !n.contains("not_a")) {
        let first = decode(&sample(name)).unwrap().to_world().unwrap();
        let encoded = encode(&first.snapshot()).unwrap();
        assert!(!encoded.report.quantized, "{name}");
        let second = decode(&encoded.bytes).unwrap().to_world().unwrap();
        assert_eq!(layers_of(&second), layers_of(&first), "{name}");
        assert_eq!(
            second.snapshot().hash_hex(),
            first.snapshot().hash_hex(),
            "{name}"
        );
    }
}

/// A small scene with negative coordinates, several colours, a hidden layer and an empty one.
fn scene() -> Vec<Layer> {
    let mut ground = BTreeMap::new();
    for x in -20..20 {
        for y in -30..-10 {
            let c = [(x + 20) as u8 * 6, (y + 30) as u8 % 5 * 50, 100, 255];
            ground.insert([x, y, -1], c);
        }
    }
    let mut tower = BTreeMap::new();
    for z in -5..40 {
        tower.insert([-7, -8, z], [200, 200, (z + 5) as u8, 128]);
    }
    vec![
        ("ground".into(), true, ground),
        ("hidden tower".into(), false, tower),
        ("empty but named".into(), true, BTreeMap::new()),
    ]
}

#[test]
fn a_world_round_trips_voxels_colours_layer_names_visibility_and_negative_positions() {
    let layers = scene();
    let colors: std::collections::BTreeSet<_> = merged(&layers).into_values().collect();
    assert!(
        colors.len() > 200 && colors.len() <= 255,
        "{}",
        colors.len()
    );
    let report = round_trip(&layers);
    assert!(!report.quantized);
    assert_eq!(report.max_color_error, 0);
    assert_eq!(report.color_count, colors.len() as u64);
    assert_eq!(report.palette_size, Some(colors.len() as u64));
    assert_eq!(report.voxel_count, 40 * 20 + 45);
    assert_eq!(report.model_count, Some(2));
}

#[test]
fn a_layer_wider_than_256_splits_into_models_and_round_trips_exactly() {
    let mut voxels = BTreeMap::new();
    for x in (-300i32..420).step_by(3) {
        for z in (-10..270).step_by(7) {
            voxels.insert(
                [x, (x + z).rem_euclid(5), z],
                [x.rem_euclid(200) as u8, 9, 9, 255],
            );
        }
    }
    voxels.insert([600, -700, 3], [1, 2, 3, 255]);
    let layers = vec![("wide".to_string(), true, voxels)];
    let report = round_trip(&layers);
    // x spans 901 voxels (4 blocks), y 706 (3), z 280 (2), most block combinations empty.
    let models = report.model_count.unwrap();
    assert!(models >= 7, "{models} models");

    let world = document(&layers).to_world().unwrap();
    let bytes = encode(&world.snapshot()).unwrap().bytes;
    let data = dot_vox::load_bytes(&bytes).unwrap();
    assert_eq!(data.models.len() as u64, models);
    for m in &data.models {
        assert!(
            m.size.x <= 256 && m.size.y <= 256 && m.size.z <= 256,
            "{:?}",
            m.size
        );
    }
}

#[test]
fn more_than_255_colours_are_quantised_to_the_nearest_palette_entry() {
    let mut voxels = BTreeMap::new();
    for x in 0..16 {
        for y in 0..16 {
            for z in 0..16 {
                let c = [x as u8 * 17, y as u8 * 17, z as u8 * 17, 255];
                voxels.insert([x - 8, y, z * 2], c);
            }
        }
    }
    let world = document(&[("many".into(), true, voxels.clone())])
        .to_world()
        .unwrap();
    let encoded = encode(&world.snapshot()).unwrap();
    let r = &encoded.report;
    assert!(r.quantized);
    assert_eq!(r.color_count, 4096);
    assert_eq!(r.palette_size, Some(255));
    assert_eq!(r.voxel_count, 4096);
    assert!(r.max_color_error > 0 && r.max_color_error < 64, "{r:?}");

    let palette: Vec<Color> = dot_vox::load_bytes(&encoded.bytes).unwrap().palette[..255]
        .iter()
        .map(|c| Color([c.r, c.g, c.b, c.a]))
        .collect();
    let back = doc_layers(&decode(&encoded.bytes).unwrap());
    assert_eq!(back.len(), 1);
    let read = &back[0].2;
    assert_eq!(
        read.keys().collect::<Vec<_>>(),
        voxels.keys().collect::<Vec<_>>(),
        "every voxel is kept"
    );
    let dist = |a: [u8; 4], b: [u8; 4]| -> u32 {
        (0..4).map(|i| u32::from(a[i].abs_diff(b[i])).pow(2)).sum()
    };
    let mut worst = 0;
    for (p, original) in &voxels {
        let written = read[p];
        let best = palette[nearest(&palette, Color(*original))];
        assert!(
            palette.contains(&Color(written)),
            "{written:?} is a palette entry"
        );
        assert_eq!(
            dist(*original, written),
            dist(*original, best.0),
            "{original:?} was written as {written:?}, but {best:?} is nearer"
        );
        worst = worst.max(
            (0..4)
                .map(|i| original[i].abs_diff(written[i]))
                .max()
                .unwrap(),
        );
    }
    assert_eq!(worst, r.max_color_error);
}

#[test]
fn the_same_world_gives_the_same_bytes() {
    let layers = scene();
    let a = encode(&document(&layers).to_world().unwrap().snapshot()).unwrap();
    let b = encode(&document(&layers).to_world().unwrap().snapshot()).unwrap();
    assert_eq!(a.bytes, b.bytes);

    // The same voxels set in another order, by edits.
    let set_all = |reverse: bool| {
        let mut world = VoxelWorld::new(WorldSettings::default());
        let mut edits: Vec<Edit> = merged(&layers)
            .into_iter()
            .map(|(p, c)| Edit::Set {
                pos: IVec3::from_array(p),
                color: Color(c),
            })
            .collect();
        if reverse {
            edits.reverse();
        }
        world
            .apply(CommandBuffer {
                edits,
                ..CommandBuffer::new(Source::Rpc)
            })
            .result
            .unwrap();
        encode(&world.snapshot()).unwrap().bytes
    };
    assert_eq!(set_all(false), set_all(true));
}

#[test]
fn an_empty_world_writes_a_file_that_reads_back_empty() {
    let world = VoxelWorld::new(WorldSettings::default());
    let encoded = encode(&world.snapshot()).unwrap();
    assert_eq!(encoded.report.voxel_count, 0);
    assert_eq!(encoded.report.model_count, Some(1));
    let doc = decode(&encoded.bytes).unwrap();
    assert_eq!(doc.voxel_count(), 0);
    let back = doc.to_world().unwrap();
    assert_eq!(back.snapshot().voxel_count(), 0);
}

// ---------------------------------------------------------------------------------------------
// The independent reader.

/// A Python with midvoxio, in a venv under the target directory, made once.
fn python_with_midvoxio() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        python::venv(
            "pyvenv",
            &["midvoxio==0.1.6", "numpy", "pillow"],
            "the independent .vox reader",
        )
    })
}

/// What tests/vox_reader.py sees in `bytes`.
fn read_with_python(bytes: &[u8]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("written.vox");
    std::fs::write(&path, bytes).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vox_reader.py");
    let out = Command::new(python_with_midvoxio())
        .arg(script)
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "vox_reader.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn an_independent_reader_sees_the_voxels_sizes_colours_and_layers_voxeld_wrote() {
    // Two layers, one wider than 256 so it splits, with negative positions.
    let mut wide = BTreeMap::new();
    for x in (-150i32..260).step_by(2) {
        for y in 0..4i32 {
            wide.insert(
                [x, y - 2, (x / 40).abs()],
                [x.rem_euclid(60) as u8 * 4, 200, y as u8 * 50, 255],
            );
        }
    }
    let mut small = BTreeMap::new();
    for z in 0..9 {
        small.insert([3, -4, z], [250, 250, 0, 255]);
    }
    let layers: Vec<Layer> = vec![
        ("wide".into(), true, wide),
        ("small hidden".into(), false, small),
    ];
    let world = document(&layers).to_world().unwrap();
    let encoded = encode(&world.snapshot()).unwrap();
    let seen = read_with_python(&encoded.bytes);

    assert_eq!(
        seen["model_count"].as_u64(),
        encoded.report.model_count,
        "{seen}"
    );
    let models = seen["models"].as_array().unwrap();
    assert!(models.len() >= 3, "{seen}");
    for m in models {
        let size: Vec<u64> = m["size"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_u64().unwrap())
            .collect();
        assert!(size.iter().all(|&s| (1..=256).contains(&s)), "{m}");
    }
    let count: u64 = models.iter().map(|m| m["voxels"].as_u64().unwrap()).sum();
    assert_eq!(count, encoded.report.voxel_count);

    let names: Vec<(String, bool)> = seen["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap().to_string(),
                l["hidden"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("wide".to_string(), false),
            ("small hidden".to_string(), true)
        ]
    );

    let mut by_layer: Vec<BTreeMap<[i32; 3], [u8; 4]>> = vec![BTreeMap::new(); 2];
    for v in seen["voxels"].as_array().unwrap() {
        let n: Vec<i64> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect();
        let pos = [n[1] as i32, n[2] as i32, n[3] as i32];
        let color = [n[4] as u8, n[5] as u8, n[6] as u8, n[7] as u8];
        assert!(by_layer[n[0] as usize].insert(pos, color).is_none());
    }
    assert_eq!(by_layer[0], layers[0].2, "layer 0 as Python reads it");
    assert_eq!(by_layer[1], layers[1].2, "layer 1 as Python reads it");

    // And a sample that went through voxeld: Goxel's model, written back.
    let goxel = decode(&sample("goxel-sample.vox")).unwrap();
    let encoded = encode(&goxel.to_world().unwrap().snapshot()).unwrap();
    let seen = read_with_python(&encoded.bytes);
    assert_eq!(seen["models"][0]["size"], serde_json::json!([8, 8, 9]));
    assert_eq!(seen["voxels"].as_array().unwrap().len(), 137);
    let colors: std::collections::BTreeSet<Vec<u64>> = seen["voxels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            v.as_array().unwrap()[4..]
                .iter()
                .map(|c| c.as_u64().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(
        colors.into_iter().collect::<Vec<_>>(),
        [
            vec![30, 60, 230, 255],
            vec![40, 180, 60, 255],
            vec![220, 30, 30, 255],
            vec![250, 250, 0, 255]
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Hostile input.

/// `bytes` with the byte at `pos` changed (by one of three masks, chosen by position).
fn flip(bytes: &[u8], pos: usize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[pos] ^= [0x01, 0x80, 0xff][pos % 3];
    b
}

/// `bytes` cut at `n` with MAIN's children size shortened to match, so the cut lands inside
/// one of its chunks instead of failing at MAIN.
fn cut(bytes: &[u8], n: usize) -> Vec<u8> {
    let mut b = bytes[..n].to_vec();
    if n >= 20 {
        b[16..20].copy_from_slice(&((n - 20) as u32).to_le_bytes());
    }
    b
}

/// Byte positions to change: every one of a small file; of a large one the first KiB, every
/// byte from the first scene node to the palette (scene graph and layers), and a stride through
/// the rest (voxel records and materials, which repeat one structure).
fn positions(bytes: &[u8], stride: usize) -> Vec<usize> {
    if bytes.len() <= 4096 {
        return (0..bytes.len()).collect();
    }
    let find = |tag: &[u8]| bytes.windows(4).position(|w| w == tag);
    let scene = match (find(b"nTRN"), find(b"RGBA")) {
        (Some(a), Some(b)) if a < b => a..b,
        _ => 0..0,
    };
    (0..bytes.len())
        .filter(|&p| p < 1024 || scene.contains(&p) || p % stride == 0)
        .collect()
}

#[test]
fn dot_vox_itself_does_not_panic_on_truncated_or_flipped_samples() {
    // dot_vox is built optimised, so this tries many bytes of every sample.
    for name in SAMPLES {
        let bytes = sample(name);
        for n in 0..bytes.len() {
            let _ = dot_vox::load_bytes(&bytes[..n]);
        }
        for pos in positions(&bytes, 11) {
            let _ = dot_vox::load_bytes(&flip(&bytes, pos));
            let _ = dot_vox::load_bytes(&cut(&bytes, pos));
        }
    }
}

/// Decodes `bytes`, and builds a world from it when it is a document.
fn decode_any(bytes: &[u8]) {
    if let Ok(doc) = decode(bytes) {
        doc.to_world().unwrap();
    }
}

#[test]
fn truncated_or_flipped_files_are_errors_or_documents_never_panics() {
    // The real samples: every plain truncation, and changes at about 250 positions each (a
    // debug-built decode of axes.vox's 12 452 voxels takes tens of milliseconds).
    for name in SAMPLES {
        let bytes = sample(name);
        for n in 0..bytes.len() {
            let _ = decode(&bytes[..n]);
        }
        let stride = (bytes.len() / 200).max(1);
        for pos in (0..bytes.len()).filter(|&p| p < 64 || p % stride == 0) {
            decode_any(&flip(&bytes, pos));
            decode_any(&cut(&bytes, pos));
        }
    }
    // A small file with everything the reader interprets, changed at every byte.
    let bytes = rich_scene();
    assert_eq!(decode(&bytes).unwrap().voxel_count(), 4);
    for pos in 0..bytes.len() {
        decode_any(&flip(&bytes, pos));
        decode_any(&cut(&bytes, pos));
    }
}

/// Rotations, nested groups, a hidden object, layers, a palette and a model no shape names.
fn rich_scene() -> Vec<u8> {
    use craft::*;
    let mut hidden = u32s(&[4]);
    hidden.extend(dict(&[("_hidden", "1")]));
    hidden.extend(u32s(&[5, u32::MAX, 1, 1]));
    hidden.extend(dict(&[("_r", "20"), ("_t", "0 0 10")]));
    let layr = |id: u32, entries: &[(&str, &str)]| {
        let mut c = u32s(&[id]);
        c.extend(dict(entries));
        c.extend(u32s(&[u32::MAX]));
        chunk(b"LAYR", &c)
    };
    file(&[
        model([3, 2, 1], &[[0, 0, 0, 1], [2, 1, 0, 2]]),
        model([1, 1, 1], &[[0, 0, 0, 3]]),
        model([1, 1, 1], &[[0, 0, 0, 255]]),
        transform(0, 1, u32::MAX, &[("_t", "1 2 3")]),
        group(1, &[2, 4]),
        transform(2, 3, 0, &[("_r", "17"), ("_t", "-5 0 0")]),
        shape(3, 0),
        chunk(b"nTRN", &hidden),
        shape(5, 1),
        layr(0, &[("_name", "base")]),
        layr(1, &[("_name", "roof"), ("_hidden", "1")]),
        chunk(b"RGBA", &u32s(&[0xff10_2030; 256])),
    ])
}

/// A hand-made .vox file, for inputs no tool writes.
mod craft {
    pub fn u32s(v: &[u32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    pub fn dict(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut out = u32s(&[entries.len() as u32]);
        for (k, v) in entries {
            out.extend(u32s(&[k.len() as u32]));
            out.extend(k.as_bytes());
            out.extend(u32s(&[v.len() as u32]));
            out.extend(v.as_bytes());
        }
        out
    }

    pub fn chunk(id: &[u8; 4], content: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        out.extend(u32s(&[content.len() as u32, 0]));
        out.extend(content);
        out
    }

    pub fn file(children: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = children.concat();
        let mut out = b"VOX ".to_vec();
        out.extend(u32s(&[150]));
        out.extend(b"MAIN");
        out.extend(u32s(&[0, body.len() as u32]));
        out.extend(body);
        out
    }

    pub fn model(size: [u32; 3], voxels: &[[u8; 4]]) -> Vec<u8> {
        let mut xyzi = u32s(&[voxels.len() as u32]);
        xyzi.extend(voxels.iter().flatten());
        [chunk(b"SIZE", &u32s(&size)), chunk(b"XYZI", &xyzi)].concat()
    }

    pub fn transform(id: u32, child: u32, layer: u32, frame: &[(&str, &str)]) -> Vec<u8> {
        let mut c = u32s(&[id]);
        c.extend(dict(&[]));
        c.extend(u32s(&[child, u32::MAX, layer, 1]));
        c.extend(dict(frame));
        chunk(b"nTRN", &c)
    }

    pub fn group(id: u32, children: &[u32]) -> Vec<u8> {
        let mut c = u32s(&[id]);
        c.extend(dict(&[]));
        c.extend(u32s(&[children.len() as u32]));
        c.extend(u32s(children));
        chunk(b"nGRP", &c)
    }

    pub fn shape(id: u32, model: u32) -> Vec<u8> {
        let mut c = u32s(&[id]);
        c.extend(dict(&[]));
        c.extend(u32s(&[1, model]));
        c.extend(dict(&[]));
        chunk(b"nSHP", &c)
    }

    /// Root → group → one transform (with `frame`) → shape of model 0.
    pub fn scene(frame: &[(&str, &str)]) -> Vec<u8> {
        [
            transform(0, 1, u32::MAX, &[]),
            group(1, &[2]),
            transform(2, 3, 0, frame),
            shape(3, 0),
        ]
        .concat()
    }
}

fn decode_err(bytes: &[u8]) -> String {
    match decode(bytes) {
        Ok(doc) => panic!("decoded {} voxels", doc.voxel_count()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn malformed_scene_graphs_are_errors() {
    use craft::*;
    let one = model([1, 1, 1], &[[0, 0, 0, 1]]);

    let bad_rotation = file(&[one.clone(), scene(&[("_r", "3")])]);
    assert_eq!(
        decode_err(&bad_rotation),
        "scene node 2: rotation byte 3 is not a rotation"
    );

    let cycle = file(&[one.clone(), transform(0, 1, 0, &[]), group(1, &[0])]);
    assert!(decode_err(&cycle).contains("reached twice"));

    let shared = file(&[
        one.clone(),
        transform(0, 1, 0, &[]),
        group(1, &[2, 2]),
        transform(2, 3, 0, &[]),
        shape(3, 0),
    ]);
    assert!(decode_err(&shared).contains("scene node 2 is reached twice"));

    let missing_child = file(&[one.clone(), transform(0, 9, 0, &[])]);
    assert_eq!(
        decode_err(&missing_child),
        "scene node 0 names child 9, but the file has 1 nodes"
    );

    let missing_model = file(&[one.clone(), transform(0, 1, 0, &[]), shape(1, 5)]);
    assert_eq!(
        decode_err(&missing_model),
        "scene node 1 names model 5, but the file has 1 models"
    );

    let far = file(&[one.clone(), scene(&[("_t", "2000000 0 0")])]);
    assert!(decode_err(&far).contains("outside the world bounds"));

    let overflow: Vec<Vec<u8>> = std::iter::once(one.clone())
        .chain((0..4).map(|i| transform(i, i + 1, 0, &[("_t", "2147483647 0 0")])))
        .chain([shape(4, 0)])
        .collect();
    assert!(decode_err(&file(&overflow)).contains("outside the world bounds"));

    let bad_translation = file(&[one, scene(&[("_t", "1 two 3")])]);
    assert!(decode_err(&bad_translation).contains("translation \"1 two 3\""));
}

#[test]
fn a_very_deep_scene_graph_is_walked_without_recursion() {
    use craft::*;
    const DEPTH: u32 = 200_000;
    let mut chunks = vec![model([1, 1, 1], &[[0, 0, 0, 1]])];
    for i in 0..DEPTH {
        chunks.push(transform(i, i + 1, 0, &[("_t", "1 0 0")]));
    }
    chunks.push(shape(DEPTH, 0));
    let doc = decode(&file(&chunks)).unwrap();
    let layers = doc_layers(&doc);
    assert_eq!(
        layers[0].2.keys().collect::<Vec<_>>(),
        [&[DEPTH as i32, 0, 0]]
    );
}

#[test]
fn bad_models_are_errors_and_declared_sizes_are_not_allocated() {
    use craft::*;
    let outside = file(&[model([2, 2, 2], &[[0, 0, 2, 1]])]);
    assert_eq!(
        decode_err(&outside),
        "model 0: voxel (0, 0, 2) lies outside its size 2×2×2"
    );

    let mut short_palette = u32s(&[0xff0000ff; 4]);
    short_palette.truncate(16);
    let past_palette = file(&[
        model([1, 1, 1], &[[0, 0, 0, 10]]),
        chunk(b"RGBA", &short_palette),
    ]);
    assert_eq!(
        decode_err(&past_palette),
        "model 0: colour index 10 is past the palette's 4 colours"
    );

    // A declared size of 4 billion per axis costs nothing: only voxels are stored.
    let huge = file(&[model([u32::MAX; 3], &[[5, 6, 7, 1]])]);
    let layers = doc_layers(&decode(&huge).unwrap());
    assert_eq!(layers[0].2.keys().collect::<Vec<_>>(), [&[5, 6, 7]]);
    // Centred by a scene graph, half of it lands far outside the world.
    let huge_placed = file(&[model([u32::MAX; 3], &[[5, 6, 7, 1]]), scene(&[])]);
    assert!(decode_err(&huge_placed).contains("outside the world bounds"));

    // File index 0 means "empty" in MagicaVoxel, but dot_vox folds it onto index 1
    // (`saturating_sub`), so it reads as palette entry 0 like index 1 does.
    let zero = file(&[model([2, 1, 1], &[[0, 0, 0, 0], [1, 0, 0, 1]])]);
    let layers = doc_layers(&decode(&zero).unwrap());
    let colors: Vec<_> = layers[0].2.values().collect();
    assert_eq!(colors.len(), 2);
    assert_eq!(colors[0], colors[1]);
}

#[test]
fn instancing_and_scattered_voxels_cannot_blow_up_memory() {
    use craft::*;
    // 4096 stored voxels placed 5000 times: 20 M voxels from a 40 kB file.
    let cube: Vec<[u8; 4]> = (0..4096u32)
        .map(|i| [(i % 16) as u8, (i / 16 % 16) as u8, (i / 256) as u8, 1])
        .collect();
    let mut chunks = vec![model([16, 16, 16], &cube), transform(0, 1, 0, &[])];
    let children: Vec<u32> = (0..5000).map(|k| 2 + 2 * k).collect();
    chunks.push(group(1, &children));
    for k in 0..5000u32 {
        let t = format!("{} 0 0", k * 16);
        chunks.push(transform(2 + 2 * k, 3 + 2 * k, 0, &[("_t", &t)]));
        chunks.push(shape(3 + 2 * k, 0));
    }
    assert!(decode_err(&file(&chunks)).contains("instancing may add at most"));

    // One voxel per chunk: 266 240 chunks (about 550 MB as chunk data) from 1 MB of voxels.
    let mut chunks = Vec::new();
    let mut scattered = Vec::new();
    for m in 0..65u32 {
        let voxels: Vec<[u8; 4]> = (0..4096u32)
            .map(|i| {
                [
                    (i % 16 * 16) as u8,
                    (i / 16 % 16 * 16) as u8,
                    (i / 256 * 16) as u8,
                    1,
                ]
            })
            .collect();
        chunks.push(model([256, 256, 256], &voxels));
        scattered.push(m);
    }
    chunks.push(transform(0, 1, 0, &[]));
    chunks.push(group(
        1,
        &scattered.iter().map(|m| 2 + 2 * m).collect::<Vec<_>>(),
    ));
    for m in scattered {
        let t = format!("0 0 {}", m * 256);
        chunks.push(transform(2 + 2 * m, 3 + 2 * m, 0, &[("_t", &t)]));
        chunks.push(shape(3 + 2 * m, m));
    }
    assert!(decode_err(&file(&chunks)).contains("chunks, more than the"));
}

#[test]
fn layers_hidden_flags_and_hidden_objects_are_kept() {
    use craft::*;
    let layr = |id: u32, entries: &[(&str, &str)]| {
        let mut c = u32s(&[id]);
        c.extend(dict(entries));
        c.extend(u32s(&[u32::MAX]));
        chunk(b"LAYR", &c)
    };
    let hidden_object = {
        let mut c = u32s(&[4]);
        c.extend(dict(&[("_hidden", "1")]));
        c.extend(u32s(&[5, u32::MAX, 0, 1]));
        c.extend(dict(&[("_t", "0 0 10")]));
        chunk(b"nTRN", &c)
    };
    let bytes = file(&[
        model([1, 1, 1], &[[0, 0, 0, 1]]),
        model([1, 1, 1], &[[0, 0, 0, 2]]),
        model([1, 1, 1], &[[0, 0, 0, 3]]),
        transform(0, 1, u32::MAX, &[]),
        group(1, &[2, 4, 6]),
        transform(2, 3, 1, &[]),
        shape(3, 0),
        hidden_object,
        shape(5, 1),
        transform(6, 7, 7, &[("_t", "0 0 20")]),
        shape(7, 2),
        layr(0, &[("_name", "base")]),
        layr(1, &[("_name", "roof"), ("_hidden", "1")]),
        layr(2, &[("_name", "2")]),
    ]);
    let layers: Vec<(String, bool, usize)> = doc_layers(&decode(&bytes).unwrap())
        .into_iter()
        .map(|(n, v, voxels)| (n, v, voxels.len()))
        .collect();
    assert_eq!(
        layers,
        [
            ("base".to_string(), true, 0),
            ("base (hidden objects)".to_string(), false, 1),
            ("roof".to_string(), false, 1),
            ("Layer 4".to_string(), true, 1),
        ]
    );
}
