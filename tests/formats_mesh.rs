//! Mesh export (`.obj` + `.mtl`, `.ply`): every file is read back by a small parser written
//! here, independent of the writers, and its faces are compared unit square by unit square
//! with the faces a brute-force pass over the visible voxels expects: culling, merging,
//! winding, colours, layers and watertightness.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use glam::IVec3;
use systems::{ChunkKind, Color, WorldSnapshot};
use voxeld::formats::{self, DocLayer, Document, EncodeReport, Format, LayerBuilder, mesh};

const RED: Color = Color::rgb(255, 0, 0);
const BLUE: Color = Color::rgb(0, 0, 255);
const GREEN: Color = Color::rgb(0, 255, 0);
const GLASS: Color = Color([128, 200, 255, 128]);
const SMOKE: Color = Color([40, 40, 40, 64]);

/// The six outward directions, in the writers' normal order.
const DIRS: [IVec3; 6] = [
    IVec3::X,
    IVec3::NEG_X,
    IVec3::Y,
    IVec3::NEG_Y,
    IVec3::Z,
    IVec3::NEG_Z,
];

fn layer(name: &str, visible: bool, voxels: impl IntoIterator<Item = (IVec3, Color)>) -> DocLayer {
    let mut b = LayerBuilder::new();
    for (p, c) in voxels {
        b.set(p, c);
    }
    DocLayer {
        visible,
        chunks: b.finish(),
        ..DocLayer::new(name)
    }
}

/// A world of these layers, the first lowest.
fn world_of(layers: Vec<DocLayer>) -> Arc<WorldSnapshot> {
    Document {
        layers,
        active: None,
    }
    .to_world()
    .unwrap()
    .snapshot()
}

fn cuboid(min: IVec3, size: IVec3, color: Color) -> Vec<(IVec3, Color)> {
    let mut v = Vec::new();
    for z in 0..size.z {
        for y in 0..size.y {
            for x in 0..size.x {
                v.push((min + IVec3::new(x, y, z), color));
            }
        }
    }
    v
}

/// The visible voxels, read one by one through `merged_voxel`.
fn visible_voxels(world: &WorldSnapshot) -> HashMap<IVec3, Color> {
    let mut out = HashMap::new();
    let Some(b) = world.bounding_box() else {
        return out;
    };
    for z in b.min.z..=b.max.z {
        for y in b.min.y..=b.max.y {
            for x in b.min.x..=b.max.x {
                let p = IVec3::new(x, y, z);
                let c = world.merged_voxel(p);
                if !c.is_empty() {
                    out.insert(p, c);
                }
            }
        }
    }
    out
}

/// The documented rule: a face shows against an empty voxel, or against a semi-transparent
/// voxel of another colour.
fn face_shows(c: Color, n: Option<&Color>) -> bool {
    match n {
        None => true,
        Some(n) => n.0[3] < 255 && *n != c,
    }
}

/// Every unit face the mesh must hold: (voxel, direction index) → the voxel's colour.
fn expected_faces(voxels: &HashMap<IVec3, Color>) -> HashMap<(IVec3, usize), Color> {
    let mut out = HashMap::new();
    for (&p, &c) in voxels {
        for (d, dir) in DIRS.iter().enumerate() {
            if face_shows(c, voxels.get(&(p + *dir))) {
                out.insert((p, d), c);
            }
        }
    }
    out
}

/// One face as read back from a file.
#[derive(Debug, Clone)]
struct Face {
    corners: [IVec3; 4],
    /// The normal the file states (`.obj` only).
    normal: Option<IVec3>,
    color: Color,
}

#[derive(Debug, Default)]
struct Parsed {
    faces: Vec<Face>,
    vertex_count: usize,
}

fn exact_int(x: f64) -> i32 {
    assert_eq!(x.fract(), 0.0, "coordinate {x} is not an integer");
    x as i32
}

/// The unread part of a binary body.
struct Body<'a>(&'a [u8]);

impl<'a> Body<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        assert!(self.0.len() >= n, "the body is truncated");
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
}

/// A minimal binary little-endian PLY reader for exactly the layout the brief asks for.
fn parse_ply(bytes: &[u8]) -> Parsed {
    let end = b"end_header\n";
    let header_len = bytes
        .windows(end.len())
        .position(|w| w == end)
        .expect("no end_header")
        + end.len();
    let header = std::str::from_utf8(&bytes[..header_len]).unwrap();
    let lines: Vec<&str> = header
        .lines()
        .filter(|l| !l.starts_with("comment"))
        .collect();
    let count = |line: &str, element: &str| -> usize {
        line.strip_prefix(&format!("element {element} "))
            .unwrap_or_else(|| panic!("expected element {element}, got {line:?}"))
            .parse()
            .unwrap()
    };
    assert_eq!(lines[0], "ply");
    assert_eq!(lines[1], "format binary_little_endian 1.0");
    let vertex_count = count(lines[2], "vertex");
    assert_eq!(
        lines[3..10],
        [
            "property float x",
            "property float y",
            "property float z",
            "property uchar red",
            "property uchar green",
            "property uchar blue",
            "property uchar alpha",
        ]
    );
    let face_count = count(lines[10], "face");
    assert_eq!(lines[11], "property list uchar int vertex_indices");
    assert_eq!(lines[12], "end_header");
    assert_eq!(lines.len(), 13);

    let mut body = Body(&bytes[header_len..]);
    let mut vertices = Vec::with_capacity(vertex_count);
    for _ in 0..vertex_count {
        let v = body.take(16);
        let f = |k: usize| f32::from_le_bytes(v[k * 4..k * 4 + 4].try_into().unwrap());
        let pos = IVec3::new(
            exact_int(f(0).into()),
            exact_int(f(1).into()),
            exact_int(f(2).into()),
        );
        vertices.push((pos, Color([v[12], v[13], v[14], v[15]])));
    }
    let mut faces = Vec::with_capacity(face_count);
    for _ in 0..face_count {
        assert_eq!(body.take(1)[0], 4, "faces are quads");
        let idx: Vec<usize> = (0..4)
            .map(|_| {
                let i = i32::from_le_bytes(body.take(4).try_into().unwrap());
                assert!(
                    (0..vertex_count as i32).contains(&i),
                    "vertex index {i} out of range"
                );
                i as usize
            })
            .collect();
        let color = vertices[idx[0]].1;
        assert!(
            idx.iter().all(|&i| vertices[i].1 == color),
            "a face's vertices share one colour"
        );
        faces.push(Face {
            corners: [0, 1, 2, 3].map(|k| vertices[idx[k]].0),
            normal: None,
            color,
        });
    }
    assert!(body.0.is_empty(), "bytes after the faces");
    Parsed {
        faces,
        vertex_count,
    }
}

/// The materials of an `.mtl`: name → colour, checking `Kd` is exactly a byte over 255.
fn parse_mtl(text: &str) -> BTreeMap<String, Color> {
    let byte = |x: &str| -> u8 {
        let x: f64 = x.parse().unwrap();
        let b = (x * 255.0).round();
        assert!((0.0..=255.0).contains(&b) && (x - b / 255.0).abs() < 1e-6);
        b as u8
    };
    let mut out = BTreeMap::new();
    let mut current: Option<(String, Color)> = None;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["newmtl", name] => {
                if let Some((n, c)) = current.take() {
                    assert!(out.insert(n, c).is_none(), "material defined twice");
                }
                current = Some((name.to_string(), Color([0, 0, 0, 255])));
            }
            ["Kd", r, g, b] => {
                let c = &mut current.as_mut().unwrap().1;
                c.0[..3].copy_from_slice(&[byte(r), byte(g), byte(b)]);
            }
            ["d", d] => {
                let a = byte(d);
                assert!(a < 255, "d is written only below 1");
                current.as_mut().unwrap().1.0[3] = a;
            }
            _ => {}
        }
    }
    if let Some((n, c)) = current {
        assert!(out.insert(n, c).is_none(), "material defined twice");
    }
    out
}

/// A minimal `.obj` reader: `mtllib`, `v`, `vn`, `usemtl`, `f v//n`.
fn parse_obj(obj: &[u8], mtl_name: &str, mtl: &[u8]) -> Parsed {
    let materials = parse_mtl(std::str::from_utf8(mtl).unwrap());
    let text = std::str::from_utf8(obj).unwrap();
    let mut vertices = Vec::new();
    let mut normals = Vec::new();
    let mut raw_faces = Vec::new();
    let mut used = Vec::new();
    let mut color = None;
    let mut mtllib = None;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["mtllib", name] => mtllib = Some(name.to_string()),
            ["v", x, y, z] => vertices.push(IVec3::new(
                exact_int(x.parse().unwrap()),
                exact_int(y.parse().unwrap()),
                exact_int(z.parse().unwrap()),
            )),
            ["vn", x, y, z] => normals.push(IVec3::new(
                exact_int(x.parse().unwrap()),
                exact_int(y.parse().unwrap()),
                exact_int(z.parse().unwrap()),
            )),
            ["usemtl", name] => {
                let c = *materials
                    .get(*name)
                    .unwrap_or_else(|| panic!("usemtl {name} is not in the mtl"));
                assert!(!used.contains(name), "faces of one colour are grouped");
                used.push(name);
                color = Some(c);
            }
            ["f", corners @ ..] => {
                assert_eq!(corners.len(), 4, "faces are quads");
                let refs: Vec<(usize, usize)> = corners
                    .iter()
                    .map(|c| {
                        let (v, n) = c.split_once("//").expect("f v//n");
                        (v.parse().unwrap(), n.parse().unwrap())
                    })
                    .collect();
                raw_faces.push((refs, color.expect("a face before any usemtl")));
            }
            [] => {}
            [w, ..] if w.starts_with('#') => {}
            _ => panic!("unexpected obj line {line:?}"),
        }
    }
    assert_eq!(mtllib.as_deref(), Some(mtl_name));
    assert_eq!(normals, DIRS);
    assert_eq!(used.len(), materials.len(), "every material is used");
    let mut sorted = used.clone();
    sorted.sort();
    assert_eq!(used, sorted, "materials come in sorted order");
    let faces = raw_faces
        .into_iter()
        .map(|(refs, color)| {
            for &(v, n) in &refs {
                assert!((1..=vertices.len()).contains(&v), "vertex index {v}");
                assert!((1..=normals.len()).contains(&n), "normal index {n}");
            }
            assert!(refs.iter().all(|r| r.1 == refs[0].1), "one normal per quad");
            Face {
                corners: [0, 1, 2, 3].map(|k| vertices[refs[k].0 - 1]),
                normal: Some(normals[refs[0].1 - 1]),
                color,
            }
        })
        .collect();
    Parsed {
        faces,
        vertex_count: vertices.len(),
    }
}

/// What checking one file found.
#[derive(Debug, Default)]
struct Checked {
    quads: usize,
    /// Unit squares covered (the surface area).
    area: usize,
    /// Directed unit edges: (from, to) → how many unit squares run along them.
    edges: HashMap<(IVec3, IVec3), usize>,
}

impl Checked {
    /// Every edge is met once in each direction: a closed, consistently oriented, manifold
    /// surface.
    fn assert_watertight(&self) {
        for (&(a, b), &n) in &self.edges {
            assert_eq!(n, 1, "edge {a}→{b} is used {n} times");
            assert_eq!(self.edges.get(&(b, a)), Some(&1), "edge {b}→{a} is missing");
        }
    }

    /// Every edge is met as often in one direction as in the other: closed surfaces, where an
    /// edge may be shared by four faces.
    fn assert_closed(&self) {
        for (&(a, b), &n) in &self.edges {
            assert_eq!(self.edges.get(&(b, a)), Some(&n), "edge {a}→{b}");
        }
    }
}

/// Checks the faces read from a file against the visible voxels: each face is an axis-aligned
/// rectangle turning counter-clockwise about its outward normal; its unit squares are exactly
/// the expected unit faces, each once, in the owning voxel's colour.
fn check_faces(parsed: &Parsed, voxels: &HashMap<IVec3, Color>) -> Checked {
    let mut expected = expected_faces(voxels);
    let mut out = Checked {
        quads: parsed.faces.len(),
        ..Checked::default()
    };
    for face in &parsed.faces {
        let [a, b, c, d] = face.corners;
        let (e1, e2) = (b - a, d - a);
        assert_eq!(c, a + e1 + e2, "{face:?} is a parallelogram");
        assert_eq!(e1.dot(e2), 0, "{face:?} is a rectangle");
        assert!(
            e1.abs().max_element() == e1.abs().element_sum()
                && e2.abs().max_element() == e2.abs().element_sum(),
            "{face:?} is axis-aligned"
        );
        let cross = e1.cross(e2);
        assert_ne!(cross, IVec3::ZERO, "{face:?} is degenerate");
        let normal = cross / cross.abs().max_element();
        let dir = DIRS
            .iter()
            .position(|&n| n == normal)
            .expect("a non-degenerate axis-aligned face");
        if let Some(n) = face.normal {
            assert_eq!(n, normal, "{face:?}: counter-clockwise about its normal");
        }
        let (u, v) = (e1.signum(), e2.signum());
        for i in 0..e1.abs().element_sum() {
            for j in 0..e2.abs().element_sum() {
                let p = a + u * i + v * j;
                let square = [p, p + u, p + u + v, p + v];
                for k in 0..4 {
                    *out.edges
                        .entry((square[k], square[(k + 1) % 4]))
                        .or_default() += 1;
                }
                let min = square.into_iter().reduce(IVec3::min).unwrap();
                // The voxel the face belongs to lies behind it, against the normal.
                let owner = if normal.max_element() > 0 {
                    min - normal
                } else {
                    min
                };
                match expected.remove(&(owner, dir)) {
                    Some(color) => assert_eq!(face.color, color, "colour of {owner} {normal}"),
                    None => panic!(
                        "unexpected face of {owner} towards {normal} (hidden, inside, \
                         wound backwards or written twice)"
                    ),
                }
                out.area += 1;
            }
        }
    }
    assert!(
        expected.is_empty(),
        "{} faces are missing, e.g. {:?}",
        expected.len(),
        expected.iter().next()
    );
    out
}

/// Both exports of `world`, each read back and checked against its visible voxels.
struct Exports {
    obj: Parsed,
    ply: Parsed,
    obj_check: Checked,
    ply_check: Checked,
    report: EncodeReport,
}

fn export(world: &WorldSnapshot) -> Exports {
    let voxels = visible_voxels(world);
    let obj = mesh::encode_obj(world, "model.obj").unwrap();
    assert_eq!(obj.sidecars.len(), 1);
    let (mtl_name, mtl) = &obj.sidecars[0];
    assert_eq!(mtl_name, "model.mtl");
    let ply = mesh::encode_ply(world).unwrap();
    assert!(ply.sidecars.is_empty());
    assert_eq!(obj.report, ply.report);
    let obj_parsed = parse_obj(&obj.bytes, mtl_name, mtl);
    let ply_parsed = parse_ply(&ply.bytes);
    let report = obj.report.clone();
    assert_eq!(report.voxel_count, voxels.len() as u64);
    let colors: HashSet<Color> = voxels.values().copied().collect();
    assert_eq!(report.color_count, colors.len() as u64);
    assert_eq!(report.face_count, Some(ply_parsed.faces.len() as u64));
    assert_eq!(ply_parsed.vertex_count, 4 * ply_parsed.faces.len());
    let obj_check = check_faces(&obj_parsed, &voxels);
    let ply_check = check_faces(&ply_parsed, &voxels);
    assert_eq!(obj_check.quads, ply_check.quads);
    Exports {
        obj: obj_parsed,
        ply: ply_parsed,
        obj_check,
        ply_check,
        report,
    }
}

#[test]
fn a_single_voxel_is_six_outward_quads() {
    let p = IVec3::new(3, -2, 5);
    let world = world_of(vec![layer("one", true, [(p, RED)])]);
    let e = export(&world);
    assert_eq!(e.report.voxel_count, 1);
    assert_eq!(e.report.face_count, Some(6));
    assert_eq!(e.ply.vertex_count, 24);
    assert_eq!(e.obj.vertex_count, 8, "the obj shares the cube's corners");
    let centre = p.as_vec3() + 0.5;
    for parsed in [&e.obj, &e.ply] {
        let mut normals = HashSet::new();
        for f in &parsed.faces {
            assert_eq!(f.color, RED);
            for c in f.corners {
                assert!((c - p).cmpge(IVec3::ZERO).all() && (c - p).cmple(IVec3::ONE).all());
            }
            let [a, b, c, _] = f.corners.map(|c| c.as_vec3());
            let normal = (b - a).cross(c - b);
            let face_centre = f.corners.iter().map(|c| c.as_vec3()).sum::<glam::Vec3>() / 4.0;
            assert!(
                normal.dot(face_centre - centre) > 0.0,
                "{f:?} faces outward"
            );
            normals.insert(normal.normalize().round().as_ivec3());
        }
        assert_eq!(normals, DIRS.into_iter().collect());
    }
    e.obj_check.assert_watertight();
    e.ply_check.assert_watertight();
}

#[test]
fn a_bar_of_one_colour_merges_to_six_quads_and_two_colours_give_ten() {
    let one = world_of(vec![layer(
        "bar",
        true,
        [(IVec3::ZERO, RED), (IVec3::X, RED)],
    )]);
    let e = export(&one);
    assert_eq!(e.report.face_count, Some(6));
    assert_eq!(e.obj_check.area, 10);
    e.obj_check.assert_watertight();
    let two = world_of(vec![layer(
        "bar",
        true,
        [(IVec3::ZERO, RED), (IVec3::X, BLUE)],
    )]);
    let e = export(&two);
    assert_eq!(e.report.face_count, Some(10));
    assert_eq!(e.report.color_count, 2);
    assert_eq!(e.ply_check.area, 10);
    e.ply_check.assert_watertight();
}

#[test]
fn a_uniform_chunk_is_six_full_quads() {
    let world = world_of(vec![layer(
        "chunk",
        true,
        cuboid(IVec3::ZERO, IVec3::splat(16), GREEN),
    )]);
    let chunks = world.layers().next().unwrap().chunks_sorted();
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].1.kind(), ChunkKind::Uniform);
    let e = export(&world);
    assert_eq!(e.report.face_count, Some(6));
    assert_eq!(e.report.voxel_count, 4096);
    assert_eq!(e.obj_check.area, 6 * 256);
    e.obj_check.assert_watertight();
    e.ply_check.assert_watertight();
}

#[test]
fn a_box_spanning_chunks_is_exactly_its_surface_and_watertight() {
    // -12..28 meets chunks -1, 0 and 1 along every axis: faces merge within a chunk, so each
    // side of the box is 3 × 3 quads.
    let world = world_of(vec![layer(
        "box",
        true,
        cuboid(IVec3::splat(-12), IVec3::splat(40), BLUE),
    )]);
    let e = export(&world);
    assert_eq!(e.report.voxel_count, 40 * 40 * 40);
    assert_eq!(e.report.face_count, Some(6 * 9));
    assert_eq!(e.obj_check.area, 6 * 40 * 40);
    assert_eq!(e.ply_check.area, 6 * 40 * 40);
    e.obj_check.assert_watertight();
    e.ply_check.assert_watertight();
    for f in &e.ply.faces {
        let on_surface = (0..3).any(|axis| {
            let k = f.corners[0][axis];
            f.corners.iter().all(|c| c[axis] == k) && (k == -12 || k == 28)
        });
        assert!(on_surface, "{f:?} lies inside the box");
    }
}

#[test]
fn hidden_layers_do_not_appear_and_higher_layers_win() {
    let hidden = layer(
        "hidden",
        false,
        [(IVec3::splat(20), GREEN), (IVec3::splat(2), GREEN)],
    );
    let world = world_of(vec![
        layer("base", true, cuboid(IVec3::ZERO, IVec3::splat(4), RED)),
        layer(
            "top",
            true,
            [(IVec3::ZERO, BLUE), (IVec3::new(10, 0, 0), BLUE)],
        ),
        hidden,
    ]);
    let e = export(&world);
    assert_eq!(e.report.voxel_count, 64 + 1);
    assert_eq!(e.report.color_count, 2);
    for parsed in [&e.obj, &e.ply] {
        assert!(parsed.faces.iter().all(|f| f.color != GREEN));
        assert!(
            parsed
                .faces
                .iter()
                .all(|f| f.corners.iter().all(|c| c.max_element() <= 11)),
            "nothing of the hidden voxel at 20"
        );
        let blue_at_origin = parsed
            .faces
            .iter()
            .filter(|f| f.color == BLUE && f.corners.iter().all(|c| c.max_element() <= 1))
            .count();
        assert_eq!(
            blue_at_origin, 3,
            "the top layer's corner voxel shows three faces"
        );
    }
    // The base box with a blue corner, plus a lone blue voxel: two closed surfaces.
    e.obj_check.assert_watertight();
    assert_eq!(e.ply_check.area, 6 * 16 + 6);

    // Hiding the top layer brings the red corner back.
    let world = world_of(vec![
        layer("base", true, cuboid(IVec3::ZERO, IVec3::splat(4), RED)),
        layer("top", false, [(IVec3::ZERO, BLUE)]),
    ]);
    let e = export(&world);
    assert_eq!(e.report.color_count, 1);
    assert_eq!(e.report.face_count, Some(6));
}

#[test]
fn semi_transparent_voxels_show_what_lies_behind_them() {
    let world = world_of(vec![layer(
        "glass",
        true,
        [
            // Stone behind glass: the stone keeps its face towards the glass.
            (IVec3::new(0, 0, 0), RED),
            (IVec3::new(1, 0, 0), GLASS),
            // One glass colour is one volume: no face between the two.
            (IVec3::new(5, 0, 0), GLASS),
            (IVec3::new(6, 0, 0), GLASS),
            // Two glass colours: both faces between them.
            (IVec3::new(10, 0, 0), GLASS),
            (IVec3::new(11, 0, 0), SMOKE),
        ],
    )]);
    let e = export(&world);
    assert_eq!(e.ply_check.area, 11 + 10 + 12);
    assert_eq!(e.report.face_count, Some(6 + 5 + 6 + 6 + 6));
    let glass = e.obj.faces.iter().filter(|f| f.color == GLASS).count();
    assert_eq!(glass, 5 + 6 + 6, "the mtl carries the glass alpha");
}

/// A deterministic pseudo-random sequence (64-bit LCG, top bits).
fn lcg(seed: &mut u64) -> u32 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*seed >> 33) as u32
}

#[test]
fn a_noisy_world_across_chunks_and_layers_matches_brute_force() {
    let colors = [RED, BLUE, GREEN, Color::rgb(200, 200, 0)];
    let mut seed = 7;
    let mut noise = |density: u32, colors: &[Color]| {
        let mut v = Vec::new();
        for z in -20..20 {
            for y in -20..14 {
                for x in -6..30 {
                    if lcg(&mut seed) % 100 < density {
                        let c = colors[lcg(&mut seed) as usize % colors.len()];
                        v.push((IVec3::new(x, y, z), c));
                    }
                }
            }
        }
        v
    };
    let base = noise(45, &colors);
    let over = noise(10, &colors[..2]);
    let world = world_of(vec![
        layer("base", true, base),
        layer("over", true, over),
        layer("hidden", false, noise(30, &[Color::rgb(1, 1, 1)])),
    ]);
    let e = export(&world);
    assert!(
        e.report.face_count.unwrap() < e.obj_check.area as u64,
        "some faces merged"
    );
    // Opaque voxels only: the surface is closed (edges of four faces allowed).
    e.obj_check.assert_closed();
    e.ply_check.assert_closed();

    // With glass mixed in, the faces still match the rule one by one.
    let world = world_of(vec![layer(
        "mixed",
        true,
        noise(50, &[RED, GLASS, SMOKE, BLUE]),
    )]);
    export(&world);
}

#[test]
fn the_files_read_back_with_their_header_materials_and_indices() {
    let world = world_of(vec![layer(
        "bar",
        true,
        [(IVec3::ZERO, BLUE), (IVec3::X, GLASS), (IVec3::Y, RED)],
    )]);
    let obj = formats::encode(Format::Obj, &world, "dir/my model.v2.obj").unwrap();
    assert_eq!(obj.sidecars[0].0, "my model.v2.mtl");
    let text = String::from_utf8(obj.bytes.clone()).unwrap();
    assert!(text.contains("\nmtllib my model.v2.mtl\n"));
    let usemtl: Vec<&str> = text.lines().filter(|l| l.starts_with("usemtl ")).collect();
    assert_eq!(
        usemtl,
        [
            "usemtl color_0000ffff",
            "usemtl color_80c8ff80",
            "usemtl color_ff0000ff"
        ]
    );
    let mtl = String::from_utf8(obj.sidecars[0].1.clone()).unwrap();
    assert!(mtl.contains("newmtl color_ff0000ff\nKa 0 0 0\nKd 1 0 0\n"));
    assert!(mtl.contains("d 0.5019608\n"), "{mtl}");
    assert_eq!(mtl.matches("\nd ").count(), 1, "only glass has a d");
    let materials = parse_mtl(&mtl);
    assert_eq!(
        materials.values().copied().collect::<Vec<_>>(),
        [BLUE, GLASS, RED]
    );

    let ply = formats::encode(Format::Ply, &world, "x.ply").unwrap();
    assert!(
        ply.bytes
            .starts_with(b"ply\nformat binary_little_endian 1.0\n")
    );
    let parsed = parse_ply(&ply.bytes);
    let mut by_color: BTreeMap<[u8; 4], usize> = BTreeMap::new();
    for f in &parsed.faces {
        *by_color.entry(f.color.0).or_default() += 1;
    }
    // Blue shows its face towards the glass, not towards red; glass and red both hide their
    // faces towards blue.
    assert_eq!(by_color[&BLUE.0], 5);
    assert_eq!(by_color[&GLASS.0], 5);
    assert_eq!(by_color[&RED.0], 5);
    export(&world);
}

#[test]
fn the_same_world_gives_the_same_bytes() {
    let voxels: Vec<(IVec3, Color)> = {
        let mut seed = 3;
        (0..3000)
            .map(|_| {
                let p = IVec3::new(
                    (lcg(&mut seed) % 50) as i32 - 25,
                    (lcg(&mut seed) % 50) as i32 - 25,
                    (lcg(&mut seed) % 20) as i32,
                );
                (p, Color::rgb((p.x * 10) as u8, 50, 60))
            })
            .collect()
    };
    // A later set wins in a builder, so deduplicate before reversing the order.
    let unique: HashMap<IVec3, Color> = voxels.into_iter().collect();
    let mut forward: Vec<_> = unique.clone().into_iter().collect();
    forward.sort_by_key(|(p, _)| (p.x, p.y, p.z));
    let mut backward = forward.clone();
    backward.reverse();
    let a = world_of(vec![layer("a", true, forward)]);
    let b = world_of(vec![layer("b", true, backward)]);
    let (oa, ob) = (
        mesh::encode_obj(&a, "m.obj").unwrap(),
        mesh::encode_obj(&b, "m.obj").unwrap(),
    );
    assert_eq!(oa.bytes, ob.bytes);
    assert_eq!(oa.sidecars, ob.sidecars);
    assert_eq!(
        mesh::encode_ply(&a).unwrap().bytes,
        mesh::encode_ply(&b).unwrap().bytes
    );
    export(&a);
}

#[test]
fn an_empty_world_gives_valid_empty_files() {
    let world = world_of(vec![layer("empty", true, [])]);
    let e = export(&world);
    assert_eq!(e.report.face_count, Some(0));
    assert_eq!(e.report.voxel_count, 0);
    assert_eq!(e.ply.vertex_count, 0);
}
