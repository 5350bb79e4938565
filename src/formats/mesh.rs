//! Placeholder until the mesh writers land.

use systems::WorldSnapshot;

use super::{Encoded, FormatError};

/// Writes an `.obj` (and its `.mtl`).
pub fn encode_obj(_world: &WorldSnapshot, _file_name: &str) -> Result<Encoded, FormatError> {
    Err(FormatError::new("obj is not supported yet"))
}

/// Writes a `.ply`.
pub fn encode_ply(_world: &WorldSnapshot) -> Result<Encoded, FormatError> {
    Err(FormatError::new("ply is not supported yet"))
}
