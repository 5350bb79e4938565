//! The Stanford `.ply` bytes: binary little-endian, float positions with RGBA vertex colours
//! (the form most readers take), and one quad face per merged face with its own four vertices.

use super::FormatError;
use super::greedy::Mesh;

/// The `.ply` of `mesh`.
pub(super) fn write(mesh: &Mesh) -> Result<Vec<u8>, FormatError> {
    let vertex_count = mesh.quads.len() * 4;
    if i32::try_from(vertex_count).is_err() {
        return Err(FormatError::new(format!(
            "{} faces are more than a ply file can index",
            mesh.quads.len()
        )));
    }
    let header = format!(
        "ply\nformat binary_little_endian 1.0\ncomment voxeld mesh export (z up)\n\
         element vertex {vertex_count}\n\
         property float x\nproperty float y\nproperty float z\n\
         property uchar red\nproperty uchar green\nproperty uchar blue\nproperty uchar alpha\n\
         element face {}\nproperty list uchar int vertex_indices\nend_header\n",
        mesh.quads.len()
    );
    let mut out = Vec::with_capacity(header.len() + vertex_count * 16 + mesh.quads.len() * 17);
    out.extend_from_slice(header.as_bytes());
    for quad in &mesh.quads {
        for corner in quad.corners() {
            for x in corner {
                out.extend_from_slice(&(x as f32).to_le_bytes());
            }
            out.extend_from_slice(&quad.color.0);
        }
    }
    for i in 0..mesh.quads.len() as i32 {
        out.push(4);
        for k in 0..4 {
            out.extend_from_slice(&(i * 4 + k).to_le_bytes());
        }
    }
    Ok(out)
}
