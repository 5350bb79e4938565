//! voxeld's own world encoding (`.vxs`): a snapshot file (checksummed container around the
//! world image of [`crate::codec`]), so a saved world is exactly what a snapshot holds and a
//! server's `snapshot.vxs` loads like any other file.

use std::sync::Arc;

use systems::{Edit, WorldSnapshot};

use super::{DocLayer, Document, EncodeReport, Encoded, FormatError};
use crate::codec::{decode_world, encode_world};
use crate::journal::snapshot_file::{SNAPSHOT_MAGIC, decode_snapshot, encode_snapshot};

/// Reads a world written by [`encode`]: a snapshot file, or a bare world image.
pub fn decode(bytes: &[u8]) -> Result<Document, FormatError> {
    let bytes = if bytes.starts_with(&SNAPSHOT_MAGIC) {
        decode_snapshot(bytes)
            .map_err(|e| FormatError::new(e.to_string()))?
            .1
    } else {
        bytes
    };
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
    let mut payload = Vec::new();
    encode_world(world, &mut payload);
    Ok(Encoded {
        bytes: encode_snapshot(world.seq, &payload),
        sidecars: Vec::new(),
        report: EncodeReport {
            voxel_count: world.voxel_count(),
            ..EncodeReport::default()
        },
    })
}
