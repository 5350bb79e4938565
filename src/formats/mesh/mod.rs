//! Mesh export: the visible world as Wavefront `.obj` (with its `.mtl`) or Stanford `.ply`, for
//! tools that take polygons rather than voxels (Blender, slicers, game engines).
//!
//! Both writers share one mesh (built in `greedy`): the visible layers merged as
//! [`WorldSnapshot::merged_voxel`] sees them, hidden faces culled, and coplanar faces of one
//! colour merged into rectangles within each chunk. A voxel at (x, y, z) is the unit cube
//! `[x, x+1]×[y, y+1]×[z, z+1]`; z is up, as in Goxel; every quad turns counter-clockwise seen
//! from outside. A semi-transparent voxel (alpha < 255) hides its neighbour's face only when
//! the neighbour has the same colour, so what lies behind glass stays in the mesh.
//!
//! The output depends on the visible voxels alone, so the same world always gives the same
//! bytes: quads follow chunk order, and the `.obj` groups them by colour in sorted order.
//!
//! ```
//! use glam::IVec3;
//! use systems::Color;
//! use voxeld::formats::{DocLayer, Document, LayerBuilder, mesh};
//! let mut b = LayerBuilder::new();
//! b.set(IVec3::ZERO, Color::rgb(255, 0, 0));
//! b.set(IVec3::X, Color::rgb(255, 0, 0));
//! let doc = Document {
//!     layers: vec![DocLayer { chunks: b.finish(), ..DocLayer::new("bar") }],
//!     active: None,
//! };
//! let world = doc.to_world().unwrap();
//! let obj = mesh::encode_obj(&world.snapshot(), "bar.obj").unwrap();
//! assert_eq!(obj.report.face_count, Some(6)); // The two cubes' shared faces merge.
//! assert_eq!(obj.sidecars[0].0, "bar.mtl");
//! ```

mod greedy;
mod obj;
mod ply;

use std::path::Path;

use systems::WorldSnapshot;

use super::{EncodeReport, Encoded, FormatError};

/// Writes the visible world as an `.obj`; its materials go in a `.mtl` sidecar named after
/// `file_name` (the extension replaced by `.mtl`), which the `.obj` names in `mtllib`.
pub fn encode_obj(world: &WorldSnapshot, file_name: &str) -> Result<Encoded, FormatError> {
    let mesh = greedy::mesh_world(world);
    let mtl_name = mtl_name(file_name);
    let (bytes, mtl) = obj::write(&mesh, &mtl_name);
    Ok(Encoded {
        bytes,
        sidecars: vec![(mtl_name, mtl)],
        report: report(&mesh),
    })
}

/// Writes the visible world as a binary little-endian `.ply` with vertex colours (each quad
/// has its own four vertices, so colours stay flat).
pub fn encode_ply(world: &WorldSnapshot) -> Result<Encoded, FormatError> {
    let mesh = greedy::mesh_world(world);
    let bytes = ply::write(&mesh)?;
    Ok(Encoded {
        bytes,
        sidecars: Vec::new(),
        report: report(&mesh),
    })
}

fn report(mesh: &greedy::Mesh) -> EncodeReport {
    EncodeReport {
        voxel_count: mesh.voxel_count,
        color_count: mesh.color_count,
        face_count: Some(mesh.quads.len() as u64),
        ..EncodeReport::default()
    }
}

/// The `.mtl` beside `file_name`: its last component with the extension replaced.
fn mtl_name(file_name: &str) -> String {
    let name = Path::new(file_name)
        .file_name()
        .map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned());
    Path::new(&name)
        .with_extension("mtl")
        .to_string_lossy()
        .into_owned()
}

/// Appends the decimal digits of `n`.
fn push_int(out: &mut Vec<u8>, n: i64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut m = n.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::greedy::{NORMALS, Quad};
    use super::*;
    use systems::Color;

    #[test]
    fn the_mtl_is_named_after_the_obj() {
        assert_eq!(mtl_name("model.obj"), "model.mtl");
        assert_eq!(mtl_name("dir/a.b.obj"), "a.b.mtl");
        assert_eq!(mtl_name("noext"), "noext.mtl");
        assert_eq!(mtl_name(""), "model.mtl");
    }

    #[test]
    fn integers_print_without_padding_or_sign_noise() {
        let mut out = Vec::new();
        for n in [0, 7, -7, 1234567890, i64::MIN] {
            push_int(&mut out, n);
            out.push(b' ');
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "0 7 -7 1234567890 -9223372036854775808 "
        );
    }

    #[test]
    fn quad_corners_turn_counter_clockwise_about_the_normal() {
        for face in 0..6u8 {
            let q = Quad {
                origin: [0; 3],
                width: 2,
                height: 3,
                face,
                color: Color::rgb(1, 2, 3),
            };
            let c = q.corners().map(glam::IVec3::from_array);
            let n = (c[1] - c[0]).cross(c[2] - c[1]);
            assert_eq!(n, glam::IVec3::from_array(NORMALS[face as usize]) * 6);
        }
    }
}
