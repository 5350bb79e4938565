//! The Wavefront `.obj` and `.mtl` text: shared vertices, six normals, quads grouped by
//! material, one material per colour.

use rustc_hash::FxHashMap;
use systems::Color;

use super::greedy::{Mesh, NORMALS};
use super::push_int;

/// The `.obj` (naming `mtl_name` in `mtllib`) and the `.mtl` of `mesh`.
pub(super) fn write(mesh: &Mesh, mtl_name: &str) -> (Vec<u8>, Vec<u8>) {
    // A stable sort keeps chunk order inside each colour, so the output is deterministic.
    let mut order: Vec<u32> = (0..mesh.quads.len() as u32).collect();
    order.sort_by_key(|&i| mesh.quads[i as usize].color);

    let mut ids: FxHashMap<[i32; 3], u32> = FxHashMap::default();
    let mut vertices = Vec::with_capacity(mesh.quads.len() * 20);
    let mut faces = Vec::with_capacity(mesh.quads.len() * 40);
    let mut materials = Vec::new();
    let mut current = None;
    for &i in &order {
        let quad = &mesh.quads[i as usize];
        if current != Some(quad.color) {
            current = Some(quad.color);
            faces.extend_from_slice(b"usemtl ");
            push_material_name(&mut faces, quad.color);
            faces.push(b'\n');
            push_material(&mut materials, quad.color);
        }
        faces.push(b'f');
        for corner in quad.corners() {
            let next = ids.len() as u32 + 1;
            let id = *ids.entry(corner).or_insert_with(|| {
                vertices.push(b'v');
                for x in corner {
                    vertices.push(b' ');
                    push_int(&mut vertices, x.into());
                }
                vertices.push(b'\n');
                next
            });
            faces.push(b' ');
            push_int(&mut faces, id.into());
            faces.extend_from_slice(b"//");
            push_int(&mut faces, i64::from(quad.face) + 1);
        }
        faces.push(b'\n');
    }

    let mut obj = Vec::with_capacity(vertices.len() + faces.len() + 256);
    obj.extend_from_slice(b"# voxeld mesh export (z up, counter-clockwise quads)\nmtllib ");
    obj.extend_from_slice(mtl_name.as_bytes());
    obj.push(b'\n');
    obj.extend_from_slice(&vertices);
    for n in NORMALS {
        obj.extend_from_slice(b"vn");
        for x in n {
            obj.push(b' ');
            push_int(&mut obj, x.into());
        }
        obj.push(b'\n');
    }
    obj.extend_from_slice(&faces);

    let mut mtl = b"# voxeld mesh export: one material per voxel colour\n".to_vec();
    mtl.extend_from_slice(&materials);
    (obj, mtl)
}

/// `color_rrggbbaa`, in lowercase hex.
fn push_material_name(out: &mut Vec<u8>, c: Color) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"color_");
    for b in c.0 {
        out.push(HEX[(b >> 4) as usize]);
        out.push(HEX[(b & 15) as usize]);
    }
}

/// A matte material: diffuse colour in 0..1 and, for a semi-transparent colour, its opacity.
fn push_material(out: &mut Vec<u8>, c: Color) {
    use std::io::Write;
    let [r, g, b, a] = c.0.map(|x| f32::from(x) / 255.0);
    out.extend_from_slice(b"\nnewmtl ");
    push_material_name(out, c);
    // Writing to a Vec cannot fail.
    let _ = writeln!(out, "\nKa 0 0 0\nKd {r} {g} {b}\nKs 0 0 0\nillum 1");
    if c.0[3] < 255 {
        let _ = writeln!(out, "d {a}");
    }
}
