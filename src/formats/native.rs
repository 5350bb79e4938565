//! voxeld's own world encoding (`.vxs`): the snapshot file's world image, read and written
//! through [`crate::codec`], so a saved world is exactly what a snapshot holds.

use std::sync::Arc;

use systems::{Edit, WorldSnapshot};

use super::{DocLayer, Document, EncodeReport, Encoded, FormatError};
use crate::codec::{decode_world, encode_world};

/// Reads a world written by [`encode`] (or a `voxeld replay --out` file).
pub fn decode(bytes: &[u8]) -> Result<Document, FormatError> {
    let image =
        decode_world(bytes).map_err(|e| FormatError::new(format!("not a voxeld world: {e}")))?;
    let mut doc = Document::default();
    let mut orders = Vec::new();
    for edit in image.restore.edits {
        match edit {
            Edit::RestoreLayer {
                layer,
                name,
                visible,
                order,
            } => {
                orders.push(order);
                doc.layers.push(DocLayer {
                    id: Some(layer.0),
                    name: name.into(),
                    visible,
                    chunks: Vec::new(),
                });
            }
            Edit::RestoreChunk {
                layer,
                pos,
                data: Some(data),
            } => {
                let Some(target) = doc.layers.iter_mut().rev().find(|l| l.id == Some(layer.0))
                else {
                    return Err(FormatError::new(format!(
                        "chunk of unknown layer {}",
                        layer.0
                    )));
                };
                if !data.is_empty() {
                    target.chunks.push((pos, Arc::clone(&data)));
                }
            }
            Edit::SetActiveLayer(layer) => doc.active = Some(layer.0),
            _ => {}
        }
    }
    // Bottom first: by stacking order, ties by id as the world breaks them.
    let mut ordered: Vec<(i32, DocLayer)> = orders.into_iter().zip(doc.layers).collect();
    ordered.sort_by_key(|(order, l)| (*order, l.id));
    doc.layers = ordered.into_iter().map(|(_, l)| l).collect();
    Ok(doc)
}

/// Writes every layer of `world`.
pub fn encode(world: &WorldSnapshot) -> Result<Encoded, FormatError> {
    let mut bytes = Vec::new();
    encode_world(world, &mut bytes);
    Ok(Encoded {
        bytes,
        sidecars: Vec::new(),
        report: EncodeReport {
            voxel_count: world.voxel_count(),
            ..EncodeReport::default()
        },
    })
}
