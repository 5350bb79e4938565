//! Placeholder until the gox codec lands.

use systems::WorldSnapshot;

use super::{Document, Encoded, FormatError};

/// Reads a gox file.
pub fn decode(_bytes: &[u8]) -> Result<Document, FormatError> {
    Err(FormatError::new("gox is not supported yet"))
}

/// Writes a gox file.
pub fn encode(_world: &WorldSnapshot) -> Result<Encoded, FormatError> {
    Err(FormatError::new("gox is not supported yet"))
}
