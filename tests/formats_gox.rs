//! The `.gox` codec against Goxel's own sample file, against itself (world → gox → world), against
//! Goxel's writer checklist (read back by an independent walker written here), and against
//! damaged and hostile files.

use std::collections::BTreeMap;

use glam::IVec3;
use systems::{
    Color, CommandBuffer, Edit, LayerId, Source, VoxelBox, VoxelWorld, WorldSettings, WorldSnapshot,
};
use voxeld::formats::{Document, gox};

fn sample() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/samples/goxel-sample.gox"
    ))
    .unwrap()
}

/// Every voxel of a document, merged bottom to top, by position.
fn voxels(doc: &Document) -> BTreeMap<[i32; 3], [u8; 4]> {
    let mut out = BTreeMap::new();
    for layer in &doc.layers {
        for (pos, data) in &layer.chunks {
            data.for_each_filled(|i, c| {
                let p = systems::coords::voxel_pos(*pos, i);
                out.insert(p.to_array(), c.0);
            });
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// An independent reader of the container, used to check what voxeld writes.

struct Chunk {
    kind: [u8; 4],
    offset: usize,
    data: Vec<u8>,
}

/// Splits a file into chunks, asserting the header, the framing and zero CRC fields.
fn walk(bytes: &[u8]) -> Vec<Chunk> {
    assert_eq!(&bytes[..4], b"GOX ");
    assert_eq!(i32::from_le_bytes(bytes[4..8].try_into().unwrap()), 2);
    let mut at = 8;
    let mut chunks = Vec::new();
    while at < bytes.len() {
        let kind: [u8; 4] = bytes[at..at + 4].try_into().unwrap();
        let len = i32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap());
        assert!(len >= 0);
        let len = len as usize;
        let data = bytes[at + 8..at + 8 + len].to_vec();
        let crc = &bytes[at + 8 + len..at + 12 + len];
        assert_eq!(crc, [0; 4], "CRC field of the chunk at byte {at}");
        chunks.push(Chunk {
            kind,
            offset: at,
            data,
        });
        at += 12 + len;
    }
    assert_eq!(at, bytes.len());
    chunks
}

/// A dictionary's entries, asserting Goxel's limits: no terminator, keys and values of at most
/// 255 bytes, a non-empty first value, and the dictionary filling the rest of the chunk.
fn dict(data: &[u8]) -> Entries {
    let mut at = 0;
    let mut out: Entries = Vec::new();
    while at < data.len() {
        let k = i32::from_le_bytes(data[at..at + 4].try_into().unwrap());
        assert!(k > 0 && k <= 255, "key length {k}");
        let key = String::from_utf8(data[at + 4..at + 4 + k as usize].to_vec()).unwrap();
        at += 4 + k as usize;
        let v = i32::from_le_bytes(data[at..at + 4].try_into().unwrap());
        assert!((0..=255).contains(&v), "value length {v} of {key}");
        let value = data[at + 4..at + 4 + v as usize].to_vec();
        at += 4 + v as usize;
        if out.is_empty() {
            assert!(!value.is_empty(), "empty first value ({key})");
        }
        out.push((key, value));
    }
    assert_eq!(at, data.len());
    out
}

/// A dictionary's (key, value) entries in file order.
type Entries = Vec<(String, Vec<u8>)>;

fn keys(entries: &Entries) -> Vec<&str> {
    entries.iter().map(|(k, _)| k.as_str()).collect()
}

fn value<'a>(entries: &'a [(String, Vec<u8>)], key: &str) -> &'a [u8] {
    &entries.iter().find(|(k, _)| k == key).unwrap().1
}

fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

/// A LAYR chunk's block records (index, x, y, z) and dictionary.
fn layer_records(data: &[u8]) -> (Vec<[i32; 4]>, Entries) {
    let int = |at: usize| i32::from_le_bytes(data[at..at + 4].try_into().unwrap());
    let m = int(0) as usize;
    let records = (0..m)
        .map(|j| {
            let at = 4 + 20 * j;
            assert_eq!(int(at + 16), 0, "reserved field");
            [int(at), int(at + 4), int(at + 8), int(at + 12)]
        })
        .collect();
    (records, dict(&data[4 + 20 * m..]))
}

// ---------------------------------------------------------------------------------------------
// Building files by hand.

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = kind.to_vec();
    out.extend_from_slice(&(data.len() as i32).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&[0; 4]);
    out
}

fn entry(key: &str, value: &[u8]) -> Vec<u8> {
    let mut out = (key.len() as i32).to_le_bytes().to_vec();
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(&(value.len() as i32).to_le_bytes());
    out.extend_from_slice(value);
    out
}

fn layr(records: &[(i32, [i32; 3])], entries: &[Vec<u8>]) -> Vec<u8> {
    let mut data = (records.len() as i32).to_le_bytes().to_vec();
    for (index, pos) in records {
        for v in [*index, pos[0], pos[1], pos[2], 0] {
            data.extend_from_slice(&v.to_le_bytes());
        }
    }
    data.extend(entries.concat());
    chunk(b"LAYR", &data)
}

fn file(version: i32, chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"GOX ".to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    out.extend(chunks.concat());
    out
}

fn png(width: u32, height: u32, color: png::ColorType, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(pixels).unwrap();
    writer.finish().unwrap();
    out
}

/// A BL16 chunk holding the given voxels (local index, colour).
fn block(voxels: &[(usize, [u8; 4])]) -> Vec<u8> {
    let mut pixels = vec![0u8; 64 * 64 * 4];
    for (i, c) in voxels {
        pixels[4 * i..4 * i + 4].copy_from_slice(c);
    }
    chunk(b"BL16", &png(64, 64, png::ColorType::Rgba, &pixels))
}

fn translation(t: [f32; 3]) -> Vec<u8> {
    let m = [
        1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, t[0], t[1], t[2], 1.0f32,
    ];
    m.iter().flat_map(|v| v.to_le_bytes()).collect()
}

// ---------------------------------------------------------------------------------------------
// Goxel's sample.

#[test]
fn the_sample_loads_with_every_voxel_where_goxel_put_it() {
    let doc = gox::decode(&sample()).unwrap();
    assert_eq!(doc.layers.len(), 1);
    let layer = &doc.layers[0];
    assert_eq!(layer.name, "Layer.1");
    assert_eq!(layer.id, Some(1));
    assert!(layer.visible);
    assert_eq!(doc.voxel_count(), 137);

    let mut expected = BTreeMap::new();
    for x in -2..=5 {
        for y in -2..=5 {
            expected.insert([x, y, 0], [40, 180, 60, 255]);
        }
    }
    for x in 0..=3 {
        for y in 0..=3 {
            for z in 1..=4 {
                expected.insert([x, y, z], [220, 30, 30, 255]);
            }
        }
    }
    for z in 1..=8 {
        expected.insert([-2, -2, z], [30, 60, 230, 255]);
    }
    expected.insert([5, 5, 1], [250, 250, 0, 128]);
    assert_eq!(expected.len(), 137);
    assert_eq!(voxels(&doc), expected);

    // The four blocks of the sample become four chunks around the origin.
    let positions: Vec<[i32; 3]> = layer.chunks.iter().map(|(p, _)| p.to_array()).collect();
    assert_eq!(positions, [[-1, -1, 0], [0, -1, 0], [-1, 0, 0], [0, 0, 0]]);
    let world = doc.to_world().unwrap();
    let s = world.snapshot();
    assert_eq!(
        s.voxel(LayerId(1), IVec3::new(5, 5, 1)),
        Color([250, 250, 0, 128])
    );
    assert_eq!(
        s.voxel(LayerId(1), IVec3::new(-2, -2, 1)),
        Color([30, 60, 230, 255])
    );
}

#[test]
fn the_sample_written_again_keeps_its_voxels_and_layer() {
    let doc = gox::decode(&sample()).unwrap();
    let world = doc.to_world().unwrap();
    let written = gox::encode(&world.snapshot()).unwrap();
    assert_eq!(written.report.voxel_count, 137);
    assert_eq!(written.report.color_count, 4);
    let again = gox::decode(&written.bytes).unwrap();
    assert_eq!(voxels(&again), voxels(&doc));
    assert_eq!(again.layers[0].name, "Layer.1");
    assert_eq!(again.layers[0].id, Some(1));
    // The image box is the voxels' bounding box: x, y −2..5, z 0..8 (max exclusive 6 and 9).
    let chunks = walk(&written.bytes);
    let image = dict(&chunks[0].data);
    assert_eq!(
        floats(value(&image, "box")),
        [
            4.0, 0.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 0.0, 4.5, 0.0, 2.0, 2.0, 4.5, 1.0
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// World → gox → world.

fn apply(world: &mut VoxelWorld, edits: Vec<Edit>) {
    world
        .apply(CommandBuffer {
            edits,
            ..CommandBuffer::new(Source::Rpc)
        })
        .result
        .unwrap();
}

fn region(min: [i32; 3], max: [i32; 3]) -> VoxelBox {
    VoxelBox::from_corners(IVec3::from_array(min), IVec3::from_array(max))
}

/// Deterministic pseudo-random numbers (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Four layers whose stacking order differs from their ids, one hidden, names with non-ASCII
/// text and one empty; a full uniform chunk, a random-colour chunk, every alpha 1..255,
/// negative coordinates and blocks far apart.
fn varied_world() -> VoxelWorld {
    let mut world = VoxelWorld::new(WorldSettings::default());
    let layer = |id: u32, name: &str, visible: bool, order: i32| Edit::RestoreLayer {
        layer: LayerId(id),
        name: name.into(),
        visible,
        order,
    };
    apply(
        &mut world,
        vec![
            layer(1, "Ébauche ✓ 層 — base", true, 2),
            layer(2, "sol", true, 0),
            layer(3, "caché", false, 1),
            layer(7, "", true, 3),
        ],
    );
    let mut edits = vec![
        Edit::TargetLayer(LayerId(1)),
        Edit::FillBox {
            region: region([16, 0, -16], [31, 15, -1]),
            color: Color::rgb(9, 99, 199),
        },
        Edit::Set {
            pos: IVec3::new(100_000, -50_000, 3),
            color: Color::rgba(1, 2, 3, 4),
        },
        Edit::Set {
            pos: IVec3::new(-70_000, 12, -9_000),
            color: Color::rgb(255, 255, 255),
        },
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for z in 0..16 {
        for y in -16..0 {
            for x in -32..-16 {
                let r = rng.next();
                // One voxel in eight stays empty.
                let alpha = if r.is_multiple_of(8) {
                    0
                } else {
                    (r >> 8) as u8
                };
                edits.push(Edit::Set {
                    pos: IVec3::new(x, y, z),
                    color: Color::rgba((r >> 16) as u8, (r >> 24) as u8, (r >> 32) as u8, alpha),
                });
            }
        }
    }
    for a in 1..=255u8 {
        edits.push(Edit::Set {
            pos: IVec3::new(a as i32 - 128, 40, 5),
            color: Color::rgba(a, 255 - a, 7, a),
        });
    }
    edits.extend([
        Edit::TargetLayer(LayerId(2)),
        Edit::FillBox {
            region: region([-5, -5, -3], [40, 5, 0]),
            color: Color::rgb(40, 180, 60),
        },
        Edit::TargetLayer(LayerId(3)),
        Edit::Set {
            pos: IVec3::new(0, 0, 0),
            color: Color::rgb(220, 30, 30),
        },
        Edit::Set {
            pos: IVec3::new(-1, -1, -1),
            color: Color::rgba(220, 30, 30, 200),
        },
        // The same full uniform chunk as layer 1's, elsewhere: written once.
        Edit::TargetLayer(LayerId(7)),
        Edit::FillBox {
            region: region([-48, 32, 64], [-33, 47, 79]),
            color: Color::rgb(9, 99, 199),
        },
    ]);
    apply(&mut world, edits);
    world
}

fn layer_list(s: &WorldSnapshot) -> Vec<(u32, String, bool, i32, u64)> {
    s.layers()
        .map(|l| (l.id.0, l.name.clone(), l.visible, l.order, l.voxel_count()))
        .collect()
}

#[test]
fn a_world_written_and_read_back_is_the_same_world() {
    let world = varied_world();
    let before = world.snapshot();
    let written = gox::encode(&before).unwrap();
    assert_eq!(written.report.voxel_count, before.voxel_count());

    let doc = gox::decode(&written.bytes).unwrap();
    let names: Vec<&str> = doc.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        ["sol", "caché", "Ébauche ✓ 層 — base", ""],
        "bottom first"
    );
    let after = doc.to_world().unwrap().snapshot();
    assert_eq!(layer_list(&after), layer_list(&before));
    assert_eq!(after.voxel_count(), before.voxel_count());
    for a in 1..=255u8 {
        let pos = IVec3::new(a as i32 - 128, 40, 5);
        assert_eq!(after.voxel(LayerId(1), pos), Color::rgba(a, 255 - a, 7, a));
    }
    assert_eq!(
        after.voxel(LayerId(1), IVec3::new(100_000, -50_000, 3)),
        Color::rgba(1, 2, 3, 4)
    );
    assert_eq!(
        after.voxel(LayerId(3), IVec3::new(-1, -1, -1)),
        Color::rgba(220, 30, 30, 200)
    );
    assert_eq!(after.hash_hex(), before.hash_hex());

    // Written again, the re-read world gives the same bytes.
    assert_eq!(gox::encode(&after).unwrap().bytes, written.bytes);
}

#[test]
fn writing_depends_on_content_only() {
    let a = varied_world();
    // The same content reached another way: layer 7's chunk painted voxel by voxel.
    let mut b = varied_world();
    apply(
        &mut b,
        vec![
            Edit::TargetLayer(LayerId(7)),
            Edit::FillBox {
                region: region([-48, 32, 64], [-33, 47, 79]),
                color: Color::EMPTY,
            },
        ],
    );
    let mut edits = vec![Edit::TargetLayer(LayerId(7))];
    for z in 64..80 {
        for y in 32..48 {
            for x in -48..-32 {
                edits.push(Edit::Set {
                    pos: IVec3::new(x, y, z),
                    color: Color::rgb(9, 99, 199),
                });
            }
        }
    }
    apply(&mut b, edits);
    assert_eq!(a.snapshot().hash_hex(), b.snapshot().hash_hex());
    let first = gox::encode(&a.snapshot()).unwrap();
    assert_eq!(gox::encode(&a.snapshot()).unwrap().bytes, first.bytes);
    assert_eq!(gox::encode(&b.snapshot()).unwrap().bytes, first.bytes);
}

#[test]
fn written_files_follow_goxels_writer_checklist() {
    let world = varied_world();
    let s = world.snapshot();
    let written = gox::encode(&s).unwrap();
    let chunks = walk(&written.bytes);
    let kinds: Vec<&[u8; 4]> = chunks.iter().map(|c| &c.kind).collect();
    let blocks = kinds.iter().filter(|k| **k == b"BL16").count();
    let layers = s.layers().count();
    let mut expected: Vec<&[u8; 4]> = vec![b"IMG "];
    expected.extend(std::iter::repeat_n(b"BL16", blocks));
    expected.push(b"MATE");
    expected.extend(std::iter::repeat_n(b"LAYR", layers));
    expected.extend([b"CAMR", b"LIGH"]);
    assert_eq!(kinds, expected);

    // One block per distinct chunk: the two identical full chunks share one.
    let distinct: std::collections::BTreeSet<[u8; 32]> = s
        .layers()
        .flat_map(|l| l.chunks_sorted().into_iter().map(|(_, d)| d.digest()))
        .collect();
    assert_eq!(blocks, distinct.len());
    assert!(blocks < s.chunk_count() as usize);

    for c in &chunks {
        match &c.kind {
            b"BL16" => {
                let d = &c.data;
                assert_eq!(&d[..8], b"\x89PNG\r\n\x1a\n");
                assert_eq!(&d[12..16], b"IHDR");
                assert_eq!(u32::from_be_bytes(d[16..20].try_into().unwrap()), 64);
                assert_eq!(u32::from_be_bytes(d[20..24].try_into().unwrap()), 64);
                assert_eq!(d[24..29], [8, 6, 0, 0, 0], "8-bit RGBA, not interlaced");
            }
            b"LAYR" => {
                let (records, entries) = layer_records(&c.data);
                for [index, x, y, z] in records {
                    assert!((0..blocks as i32).contains(&index));
                    assert!(x % 16 == 0 && y % 16 == 0 && z % 16 == 0);
                }
                let mut order = vec!["name", "mat", "id", "base_id", "material", "mode"];
                order.push("visible");
                if value(&entries, "name").is_empty() {
                    // An empty value may not come first, so an empty name comes last.
                    order.remove(0);
                    order.push("name");
                }
                assert_eq!(keys(&entries), order, "at byte {}", c.offset);
                assert_eq!(
                    floats(value(&entries, "mat")),
                    floats(&translation([0.0; 3]))
                );
                assert_eq!(value(&entries, "base_id"), [0; 4]);
                assert_eq!(value(&entries, "material"), [0; 4]);
                assert_eq!(value(&entries, "mode"), [0; 4]);
            }
            b"MATE" => {
                let e = dict(&c.data);
                assert_eq!(
                    keys(&e),
                    ["name", "color", "metallic", "roughness", "emission"]
                );
            }
            b"CAMR" => {
                let e = dict(&c.data);
                assert_eq!(keys(&e), ["name", "dist", "ortho", "mat", "active"]);
                assert!(value(&e, "active").is_empty());
            }
            b"LIGH" => {
                let e = dict(&c.data);
                assert_eq!(
                    keys(&e),
                    ["pitch", "yaw", "intensity", "fixed", "ambient", "shadow"]
                );
            }
            b"IMG " => assert_eq!(keys(&dict(&c.data)), ["box"]),
            other => panic!("unexpected chunk {other:?}"),
        }
    }

    // The layers in stacking order, with their ids and visibility.
    let layer_dicts: Vec<(Vec<u8>, i32, u8)> = chunks
        .iter()
        .filter(|c| &c.kind == b"LAYR")
        .map(|c| {
            let (_, e) = layer_records(&c.data);
            (
                value(&e, "name").to_vec(),
                i32::from_le_bytes(value(&e, "id").try_into().unwrap()),
                value(&e, "visible")[0],
            )
        })
        .collect();
    assert_eq!(
        layer_dicts,
        [
            (b"sol".to_vec(), 2, 1),
            ("caché".as_bytes().to_vec(), 3, 0),
            ("Ébauche ✓ 層 — base".as_bytes().to_vec(), 1, 1),
            (Vec::new(), 7, 1),
        ]
    );
}

#[test]
fn long_names_are_cut_to_255_bytes_on_a_character_boundary() {
    let mut world = VoxelWorld::new(WorldSettings::default());
    let name = format!("a{}", "層".repeat(100));
    apply(
        &mut world,
        vec![Edit::RenameLayer {
            layer: LayerId(1),
            name: name.as_str().into(),
        }],
    );
    let written = gox::encode(&world.snapshot()).unwrap();
    let doc = gox::decode(&written.bytes).unwrap();
    // 1 + 3 × 84 = 253 bytes: one more character would need 256.
    assert_eq!(doc.layers[0].name.len(), 253);
    assert!(name.starts_with(&doc.layers[0].name));
}

#[test]
fn an_empty_world_has_goxels_default_box_and_one_empty_layer() {
    let world = VoxelWorld::new(WorldSettings::default());
    let written = gox::encode(&world.snapshot()).unwrap();
    assert_eq!(written.report.voxel_count, 0);
    assert_eq!(written.report.color_count, 0);
    let chunks = walk(&written.bytes);
    let image = dict(&chunks[0].data);
    assert_eq!(
        floats(value(&image, "box")),
        [
            16.0, 0.0, 0.0, 0.0, 0.0, 16.0, 0.0, 0.0, 0.0, 0.0, 16.0, 0.0, 0.0, 0.0, 16.0, 1.0
        ]
    );
    let doc = gox::decode(&written.bytes).unwrap();
    assert_eq!(doc.layers.len(), 1);
    assert_eq!(doc.voxel_count(), 0);
}

// ---------------------------------------------------------------------------------------------
// What other writers may produce.

#[test]
fn version_1_positions_are_block_centres_and_off_grid_blocks_land_where_they_say() {
    let red = [220, 30, 30, 255];
    let blocks = [block(&[(0, red), (4095, red)])];
    let name = entry("name", b"v1");
    let v1 = file(1, &[blocks.concat(), layr(&[(0, [8, 8, 8])], &[name])]);
    let doc = gox::decode(&v1).unwrap();
    assert_eq!(
        voxels(&doc),
        BTreeMap::from([([0, 0, 0], red), ([15, 15, 15], red)])
    );
    // Version 2, off the grid: the block's 16³ voxels start at (-3, 5, 20).
    let v2 = file(2, &[blocks.concat(), layr(&[(0, [-3, 5, 20])], &[])]);
    let doc = gox::decode(&v2).unwrap();
    assert_eq!(
        voxels(&doc),
        BTreeMap::from([([-3, 5, 20], red), ([12, 20, 35], red)])
    );
    assert_eq!(doc.layers[0].name, "Layer.1", "a default name");
    assert_eq!(doc.layers[0].id, None);
    // A later block overwrites all it covers, empty voxels included.
    let blue = [30, 60, 230, 255];
    let overwrite = file(
        2,
        &[
            block(&[(0, red), (1, red)]),
            block(&[(0, blue)]),
            layr(&[(0, [0, 0, 0]), (1, [1, 0, 0])], &[]),
        ],
    );
    assert_eq!(
        voxels(&gox::decode(&overwrite).unwrap()),
        BTreeMap::from([([0, 0, 0], red), ([1, 0, 0], blue)])
    );
}

#[test]
fn clone_layers_take_the_voxels_of_their_base() {
    let red = [220, 30, 30, 255];
    let id = |v: i32| v.to_le_bytes().to_vec();
    let doc = gox::decode(&file(
        2,
        &[
            block(&[(0, red)]),
            // The clone comes first; its base is found by id wherever it is.
            layr(
                &[],
                &[
                    entry("name", b"moved clone"),
                    entry("mat", &translation([3.0, 0.0, -16.0])),
                    entry("id", &id(2)),
                    entry("base_id", &id(1)),
                ],
            ),
            layr(
                &[(0, [16, 0, 0])],
                &[entry("name", b"base"), entry("id", &id(1))],
            ),
            layr(
                &[],
                &[
                    entry("name", b"clone of a clone"),
                    entry("id", &id(3)),
                    entry("base_id", &id(2)),
                ],
            ),
            layr(&[], &[entry("name", b"lost"), entry("base_id", &id(9))]),
            layr(
                &[],
                &[
                    entry("name", b"cycle"),
                    entry("id", &id(5)),
                    entry("base_id", &id(5)),
                ],
            ),
        ],
    ))
    .unwrap();
    let names: Vec<&str> = doc.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        ["moved clone", "base", "clone of a clone", "lost", "cycle"]
    );
    let single = |i: usize| {
        let mut d = Document::default();
        d.layers.push(doc.layers[i].clone());
        voxels(&d)
    };
    assert_eq!(single(1), BTreeMap::from([([16, 0, 0], red)]));
    assert_eq!(single(0), BTreeMap::from([([19, 0, -16], red)]));
    assert_eq!(single(2), single(0));
    assert!(single(3).is_empty());
    assert!(single(4).is_empty());
    assert_eq!(doc.layers[3].id, None);
}

#[test]
fn unknown_chunks_are_skipped_and_other_png_colour_types_are_converted() {
    let gray: Vec<u8> = (0..4096).map(|i| if i == 7 { 200 } else { 0 }).collect();
    let rgb: Vec<u8> = (0..4096 * 3).map(|i| (i / 3 == 1) as u8 * 90).collect();
    let doc = gox::decode(&file(
        2,
        &[
            chunk(b"PREV", &png(4, 4, png::ColorType::Rgba, &[0; 64])),
            chunk(b"XTRA", b"anything at all"),
            chunk(b"BL16", &png(64, 64, png::ColorType::Grayscale, &gray)),
            chunk(b"BL16", &png(64, 64, png::ColorType::Rgb, &rgb)),
            layr(&[(0, [0, 0, 0]), (1, [0, 0, 16])], &[]),
        ],
    ))
    .unwrap();
    // Without alpha every voxel is present: 2 × 4096, opaque.
    assert_eq!(doc.voxel_count(), 8192);
    let v = voxels(&doc);
    assert_eq!(v[&[7, 0, 0]], [200, 200, 200, 255]);
    assert_eq!(v[&[0, 0, 0]], [0, 0, 0, 255]);
    assert_eq!(v[&[1, 0, 16]], [90, 90, 90, 255]);
}

// ---------------------------------------------------------------------------------------------
// Damaged and hostile files.

#[test]
fn the_sample_cut_at_any_byte_is_an_error_or_the_chunks_before_the_cut() {
    let bytes = sample();
    let boundaries: Vec<usize> = walk(&bytes)
        .iter()
        .map(|c| c.offset)
        .chain([bytes.len()])
        .collect();
    assert_eq!(
        boundaries,
        [8, 95, 382, 649, 912, 1167, 1299, 1574, 1725, 1841]
    );
    for n in 0..bytes.len() {
        let result = gox::decode(&bytes[..n]);
        if boundaries.contains(&n) {
            let doc = result.unwrap_or_else(|e| panic!("cut at {n}: {e}"));
            // The layer (and all its voxels) arrives with the LAYR chunk ending at 1574.
            let (layers, count) = if n >= 1574 { (1, 137) } else { (0, 0) };
            assert_eq!(
                (doc.layers.len(), doc.voxel_count()),
                (layers, count),
                "cut at {n}"
            );
        } else {
            let e = refused(result, &format!("the sample cut at {n}"));
            let says_where = e.contains("byte") || e.contains("header");
            assert!(says_where, "cut at {n}: {e}");
        }
    }
}

/// The sample with the `i32` at `at` replaced.
fn patched(at: usize, v: i32) -> Vec<u8> {
    let mut bytes = sample();
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
    bytes
}

fn error(bytes: &[u8]) -> String {
    refused(gox::decode(bytes), "this file")
}

/// The reason a read failed; a document is reported by its size only (not dumped).
fn refused(result: Result<Document, voxeld::formats::FormatError>, what: &str) -> String {
    match result {
        Ok(doc) => panic!("{what} was read: {} voxels", doc.voxel_count()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn damaged_fields_give_errors_that_say_what_and_where() {
    const LAYR: usize = 1299;
    let cases: Vec<(Vec<u8>, &[&str])> = vec![
        (
            patched(LAYR + 8, 0x7fff_ffff),
            &["'LAYR' chunk at byte 1299", "2147483647 block records"],
        ),
        (
            patched(LAYR + 8, -4),
            &["'LAYR' chunk at byte 1299", "negative block count"],
        ),
        (
            patched(LAYR + 12, 99),
            &[
                "'LAYR' chunk at byte 1299",
                "block record 0 at byte 1311",
                "block 99",
                "4 BL16",
            ],
        ),
        (patched(LAYR + 12, -1), &["block -1"]),
        (
            patched(LAYR + 16, i32::MAX - 3),
            &["block record 0", "32-bit coordinate range"],
        ),
        (
            patched(95 + 4, -1),
            &["'BL16' chunk at byte 95", "negative data length -1"],
        ),
        (
            patched(95 + 4, 100_000),
            &["'BL16' chunk at byte 95", "run past the end of the file"],
        ),
        (
            patched(8 + 4, 1841),
            &["'IMG ' chunk at byte 8", "past the end"],
        ),
        (patched(4, 3), &["version 3"]),
        (patched(0, 0x21584f47), &["not a gox file"]),
        // The IMG dictionary's key length, then its value length.
        (
            patched(16, -7),
            &[
                "'IMG ' chunk at byte 8",
                "entry at byte 16",
                "negative key length",
            ],
        ),
        (
            patched(23, 1000),
            &["'IMG ' chunk at byte 8", "value of 1000 bytes"],
        ),
        // The first BL16's PNG: a broken IHDR.
        (
            {
                let mut b = sample();
                b[95 + 8 + 20] ^= 0xff;
                b
            },
            &["'BL16' chunk at byte 95", "block 0", "PNG"],
        ),
    ];
    for (bytes, needles) in cases {
        let e = error(&bytes);
        for needle in needles {
            assert!(e.contains(needle), "{e:?} lacks {needle:?}");
        }
    }
}

#[test]
fn a_block_that_is_not_64_by_64_is_refused() {
    let small = png(32, 32, png::ColorType::Rgba, &[255; 32 * 32 * 4]);
    let bytes = file(2, &[chunk(b"BL16", &small), layr(&[(0, [0, 0, 0])], &[])]);
    let e = error(&bytes);
    assert!(e.contains("'BL16' chunk at byte 8"), "{e}");
    assert!(e.contains("32×32"), "{e}");
    let tall = png(64, 128, png::ColorType::Rgba, &vec![255; 64 * 128 * 4]);
    let e = error(&file(2, &[chunk(b"BL16", &tall)]));
    assert!(e.contains("64×128"), "{e}");
    let e = error(&file(2, &[chunk(b"BL16", b"\x89PNG\r\n\x1a\nnot really")]));
    assert!(e.contains("bad PNG"), "{e}");
}

#[test]
fn off_grid_blocks_cannot_blow_up_a_small_file() {
    // One noisy block placed off the grid thousands of times, each copy spreading over 8
    // chunks: far more chunk memory than the file's size allows.
    let mut rng = Rng(7);
    let noisy: Vec<(usize, [u8; 4])> = (0..4096)
        .map(|i| {
            let r = rng.next().to_le_bytes();
            (i, [r[0], r[1], r[2], r[3] | 1])
        })
        .collect();
    let records: Vec<(i32, [i32; 3])> = (0..4000).map(|i| (0, [i * 32 + 8, 8, 8])).collect();
    let bytes = file(2, &[block(&noisy), layr(&records, &[])]);
    assert!(bytes.len() < 200_000);
    let e = error(&bytes);
    assert!(e.contains("'LAYR' chunk at byte"), "{e}");
    assert!(
        e.contains("blocks placed off the 16-voxel grid need more than the 21 MiB"),
        "{e}"
    );
}

#[test]
fn clone_layers_cannot_blow_up_a_small_file() {
    // A base layer of 20 000 chunks and 3000 clones of it: 60 M chunk entries from 0.5 MB.
    let records: Vec<(i32, [i32; 3])> = (0..20_000).map(|i| (0, [i * 16, 0, 0])).collect();
    let mut chunks = vec![
        block(&[(0, [1, 2, 3, 255])]),
        layr(&records, &[entry("id", &1i32.to_le_bytes())]),
    ];
    for _ in 0..3000 {
        chunks.push(layr(&[], &[entry("base_id", &1i32.to_le_bytes())]));
    }
    let bytes = file(2, &chunks);
    assert!(bytes.len() < 600_000);
    let e = error(&bytes);
    assert!(e.contains("'LAYR' chunk at byte"), "{e}");
    assert!(e.contains("clone layers need more than"), "{e}");
    // A few clones are fine.
    let doc = gox::decode(&file(2, &chunks[..5])).unwrap();
    assert_eq!(doc.voxel_count(), 4 * 20_000);
}

#[test]
fn flipped_bytes_give_a_document_or_an_error_never_a_panic() {
    let bytes = sample();
    let pngs: Vec<std::ops::Range<usize>> = walk(&bytes)
        .iter()
        .filter(|c| &c.kind == b"BL16")
        // The decoder stops after the image data and never reads the 12-byte IEND.
        .map(|c| c.offset + 8..c.offset + 8 + c.data.len() - 12)
        .collect();
    for at in 0..bytes.len() {
        for mask in [0x01, 0xff] {
            let mut damaged = bytes.clone();
            damaged[at] ^= mask;
            let result = gox::decode(&damaged);
            // PNG chunks carry CRCs and the image data an Adler-32: damage there is noticed.
            if pngs.iter().any(|r| r.contains(&at)) {
                let e = result.err().map(|e| e.to_string()).unwrap_or_default();
                assert!(e.contains("'BL16' chunk at byte"), "flip at {at}: {e:?}");
            }
        }
    }
    // Random multi-byte damage to a larger written file.
    let written = gox::encode(&varied_world().snapshot()).unwrap().bytes;
    let mut rng = Rng(42);
    for _ in 0..100 {
        let mut damaged = written.clone();
        for _ in 0..1 + rng.next() % 4 {
            let at = (rng.next() % damaged.len() as u64) as usize;
            damaged[at] = rng.next() as u8;
        }
        let _ = gox::decode(&damaged);
    }
}
