//! Placeholder until the vox codec lands.

use systems::WorldSnapshot;

use super::{Document, Encoded, FormatError};

/// Reads a vox file.
pub fn decode(_bytes: &[u8]) -> Result<Document, FormatError> {
    Err(FormatError::new("vox is not supported yet"))
}

/// Writes a vox file.
pub fn encode(_world: &WorldSnapshot) -> Result<Encoded, FormatError> {
    Err(FormatError::new("vox is not supported yet"))
}
