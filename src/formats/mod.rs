//! Whole-world files: projects read into a [`Document`], snapshots written out, one module
//! per format.
//!
//! Readers turn bytes into a [`Document`] (layers of chunks, nothing applied yet); writers turn a
//! [`WorldSnapshot`] into bytes ([`Encoded`]). Neither touches the file system: the caller
//! ([`crate::files`]) resolves paths, reads whole files and writes atomically. A document enters
//! the world only as one command buffer ([`Document::replace_buffer`]), so a load is journaled,
//! undoable and all-or-nothing like any other edit.
//!
//! Every reader treats its input as hostile: a truncated or malformed file, a size the file does
//! not pay for, or a bad index is a [`FormatError`] naming the reason, never a panic and never an
//! allocation larger than the input justifies.
//!
//! ```
//! use std::path::Path;
//! use voxeld::formats::Format;
//! assert_eq!(Format::from_name("GOX"), Some(Format::Gox));
//! assert_eq!(Format::from_path(Path::new("model.vox")), Some(Format::Vox));
//! assert!(!Format::Obj.can_read());
//! ```

pub mod gox;
pub mod mesh;
pub mod native;
pub mod vox;

use std::path::Path;
use std::sync::Arc;

use glam::IVec3;
use rustc_hash::FxHashMap;
use systems::coords::split;
use systems::{
    CHUNK_VOLUME, ChunkData, Color, CommandBuffer, Edit, EditError, HistoryMode, LayerId, Source,
    VoxelWorld, WorldSettings, WorldSnapshot,
};

/// A file format voxeld reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// voxeld's own world encoding (the snapshot format), `.vxs`.
    Native,
    /// Goxel's project format, `.gox` (layers, names, visibility).
    Gox,
    /// MagicaVoxel, `.vox` (models, palette, scene graph).
    Vox,
    /// Wavefront `.obj` with a `.mtl` beside it; write only.
    Obj,
    /// Stanford `.ply` with vertex colours; write only.
    Ply,
}

impl Format {
    /// Every format, in the order the docs list them.
    pub const ALL: [Format; 5] = [
        Format::Native,
        Format::Gox,
        Format::Vox,
        Format::Obj,
        Format::Ply,
    ];

    /// The format called `name`, compared without regard to case (`gox`, `vox`, `obj`, `ply`,
    /// `vxs`/`native`; also `magicavoxel` and `wavefront`).
    pub fn from_name(name: &str) -> Option<Format> {
        Some(match name.to_ascii_lowercase().as_str() {
            "vxs" | "native" | "voxeld" => Format::Native,
            "gox" | "goxel" => Format::Gox,
            "vox" | "magicavoxel" => Format::Vox,
            "obj" | "wavefront" => Format::Obj,
            "ply" | "stanford" => Format::Ply,
            _ => return None,
        })
    }

    /// The format a path's extension names.
    pub fn from_path(path: &Path) -> Option<Format> {
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(Format::from_name)
    }

    /// The canonical name (also the usual extension).
    pub fn name(self) -> &'static str {
        match self {
            Format::Native => "vxs",
            Format::Gox => "gox",
            Format::Vox => "vox",
            Format::Obj => "obj",
            Format::Ply => "ply",
        }
    }

    /// Whether voxeld can read files of this format (meshes are write only).
    pub fn can_read(self) -> bool {
        matches!(self, Format::Native | Format::Gox | Format::Vox)
    }

    /// The names every format is known by, for error messages.
    pub fn names() -> String {
        Format::ALL.map(Format::name).join(", ")
    }
}

/// Why a file could not be read or written; the caller adds the path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FormatError(pub String);

impl FormatError {
    /// An error with this reason (lowercase, no trailing period).
    pub fn new(reason: impl Into<String>) -> FormatError {
        FormatError(reason.into())
    }
}

/// A world read from a file, not yet applied: layers bottom first.
#[derive(Debug, Clone, Default)]
pub struct Document {
    /// Layers in stacking order, the lowest first.
    pub layers: Vec<DocLayer>,
    /// Id of the layer to make active, if the file says (else the top layer).
    pub active: Option<u32>,
}

/// One layer of a [`Document`].
#[derive(Debug, Clone)]
pub struct DocLayer {
    /// The id the file gives the layer (`None` or a duplicate: the lowest free id is used).
    pub id: Option<u32>,
    /// Layer name.
    pub name: String,
    /// Whether the layer is shown.
    pub visible: bool,
    /// Non-empty chunks, keyed by chunk position (voxel position >> 4), sorted (z, y, x).
    pub chunks: Vec<(IVec3, Arc<ChunkData>)>,
}

impl DocLayer {
    /// An empty visible layer.
    pub fn new(name: impl Into<String>) -> DocLayer {
        DocLayer {
            id: None,
            name: name.into(),
            visible: true,
            chunks: Vec::new(),
        }
    }

    /// Non-empty voxels in the layer.
    pub fn voxel_count(&self) -> u64 {
        self.chunks.iter().map(|(_, c)| c.filled() as u64).sum()
    }
}

impl Document {
    /// Non-empty voxels in all layers.
    pub fn voxel_count(&self) -> u64 {
        self.layers.iter().map(DocLayer::voxel_count).sum()
    }

    /// A new world (default settings) holding exactly this document (for tests).
    pub fn to_world(&self) -> Result<VoxelWorld, EditError> {
        self.to_world_with(WorldSettings::default())
    }

    /// A new world with `settings` holding exactly this document, without undo history (for
    /// conversions).
    pub fn to_world_with(&self, settings: WorldSettings) -> Result<VoxelWorld, EditError> {
        let mut world = VoxelWorld::new(settings);
        let buffer = self.replace_buffer(&world.snapshot());
        world
            .apply(CommandBuffer {
                history: HistoryMode::Skip,
                ..buffer
            })
            .result?;
        Ok(world)
    }

    /// The buffer that replaces every layer of `current` with this document's layers, as one
    /// recorded (undoable, journaled) change. A document without layers gives one empty layer.
    ///
    /// Ids come from the file where they are positive and unique, else the lowest free id from 1;
    /// stacking order follows the document's order.
    pub fn replace_buffer(&self, current: &WorldSnapshot) -> CommandBuffer {
        let mut edits: Vec<Edit> = current.layers().map(|l| Edit::DeleteLayer(l.id)).collect();
        let mut taken = std::collections::BTreeSet::new();
        for layer in &self.layers {
            if let Some(id) = layer.id.filter(|&id| id > 0) {
                taken.insert(id);
            }
        }
        let mut used = std::collections::BTreeSet::new();
        let mut next_free = 1u32;
        let mut ids = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let id = match layer.id.filter(|&id| id > 0 && !used.contains(&id)) {
                Some(id) => id,
                None => {
                    while taken.contains(&next_free) || used.contains(&next_free) {
                        next_free += 1;
                    }
                    next_free
                }
            };
            used.insert(id);
            ids.push(LayerId(id));
        }
        if self.layers.is_empty() {
            edits.push(Edit::RestoreLayer {
                layer: LayerId(1),
                name: "Layer 1".into(),
                visible: true,
                order: 0,
            });
            edits.push(Edit::SetActiveLayer(LayerId(1)));
        }
        for (order, (layer, &id)) in self.layers.iter().zip(&ids).enumerate() {
            edits.push(Edit::RestoreLayer {
                layer: id,
                name: layer.name.as_str().into(),
                visible: layer.visible,
                order: order as i32,
            });
            for (pos, data) in &layer.chunks {
                edits.push(Edit::RestoreChunk {
                    layer: id,
                    pos: *pos,
                    data: Some(data.clone()),
                });
            }
        }
        if let Some(&top) = ids.last() {
            let active = self
                .active
                .map(LayerId)
                .filter(|a| ids.contains(a))
                .unwrap_or(top);
            edits.push(Edit::SetActiveLayer(active));
        }
        CommandBuffer {
            edits,
            ..CommandBuffer::new(Source::System)
        }
    }
}

/// Collects voxels one by one into chunks, for readers whose files are not chunked.
#[derive(Default)]
pub struct LayerBuilder {
    chunks: FxHashMap<IVec3, Box<[Color; CHUNK_VOLUME]>>,
}

impl LayerBuilder {
    /// An empty builder.
    pub fn new() -> LayerBuilder {
        LayerBuilder::default()
    }

    /// Sets the voxel at `pos` (a later call wins; the empty colour clears it).
    #[inline]
    pub fn set(&mut self, pos: IVec3, color: Color) {
        let (chunk, index) = split(pos);
        self.chunks
            .entry(chunk)
            .or_insert_with(|| Box::new([Color::EMPTY; CHUNK_VOLUME]))[index] = color;
    }

    /// The non-empty chunks, sorted (z, y, x), each in its smallest representation.
    pub fn finish(self) -> Vec<(IVec3, Arc<ChunkData>)> {
        let mut chunks: Vec<(IVec3, Arc<ChunkData>)> = self
            .chunks
            .into_iter()
            .map(|(pos, dense)| (pos, Arc::new(ChunkData::from_dense(&dense))))
            .filter(|(_, c)| !c.is_empty())
            .collect();
        chunks.sort_by_key(|(p, _)| systems::coords::zyx_key(*p));
        chunks
    }
}

/// A written file: its bytes, files that go beside it, and what the writer reports.
#[derive(Debug, Clone, Default)]
pub struct Encoded {
    /// The file's contents.
    pub bytes: Vec<u8>,
    /// Files written next to it (an `.obj`'s `.mtl`), by file name.
    pub sidecars: Vec<(String, Vec<u8>)>,
    /// Facts about what was written, for the reply.
    pub report: EncodeReport,
}

/// What a writer tells the user about the file it wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EncodeReport {
    /// Voxels written.
    pub voxel_count: u64,
    /// Distinct colours in the world written.
    pub color_count: u64,
    /// Colours in the written palette, where the format has one (`.vox`).
    pub palette_size: Option<u64>,
    /// Whether colours had to be approximated to fit the palette.
    pub quantized: bool,
    /// Largest per-channel error of an approximated colour (0 when exact).
    pub max_color_error: u8,
    /// Models written, where the format splits the world (`.vox`).
    pub model_count: Option<u64>,
    /// Faces written (meshes), after culling and merging.
    pub face_count: Option<u64>,
}

/// Reads a document in `format` from `bytes`.
pub fn decode(format: Format, bytes: &[u8]) -> Result<Document, FormatError> {
    match format {
        Format::Native => native::decode(bytes),
        Format::Gox => gox::decode(bytes),
        Format::Vox => vox::decode(bytes),
        Format::Obj | Format::Ply => Err(FormatError::new(format!(
            "{} files cannot be read (voxeld reads vxs, gox and vox)",
            format.name()
        ))),
    }
}

/// Writes `world` in `format`. `file_name` is the name the main file will have (an `.obj`
/// names its `.mtl` after it).
pub fn encode(
    format: Format,
    world: &WorldSnapshot,
    file_name: &str,
) -> Result<Encoded, FormatError> {
    match format {
        Format::Native => native::encode(world),
        Format::Gox => gox::encode(world),
        Format::Vox => vox::encode(world),
        Format::Obj => mesh::encode_obj(world, file_name),
        Format::Ply => mesh::encode_ply(world),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(id: Option<u32>, name: &str, voxels: &[([i32; 3], [u8; 4])]) -> DocLayer {
        let mut b = LayerBuilder::new();
        for (p, c) in voxels {
            b.set(IVec3::from_array(*p), Color(*c));
        }
        DocLayer {
            id,
            chunks: b.finish(),
            ..DocLayer::new(name)
        }
    }

    #[test]
    fn a_document_replaces_every_layer_and_one_undo_brings_the_old_world_back() {
        let mut world = VoxelWorld::new(WorldSettings::default());
        world
            .apply(CommandBuffer {
                edits: vec![
                    Edit::Set {
                        pos: IVec3::new(9, 9, 9),
                        color: Color([1, 2, 3, 255]),
                    },
                    Edit::CreateLayer { name: "old".into() },
                ],
                ..CommandBuffer::new(Source::Rpc)
            })
            .result
            .unwrap();
        let before = world.snapshot().hash_hex();
        let mut hidden = layer(Some(7), "hidden", &[([-20, 0, 3], [0, 0, 255, 128])]);
        hidden.visible = false;
        let doc = Document {
            layers: vec![
                layer(
                    None,
                    "base",
                    &[
                        ([0, 0, 0], [255, 0, 0, 255]),
                        ([17, 0, 0], [0, 255, 0, 255]),
                    ],
                ),
                hidden,
                layer(Some(7), "duplicate id", &[]),
            ],
            active: None,
        };
        world
            .apply(doc.replace_buffer(&world.snapshot()))
            .result
            .unwrap();
        let s = world.snapshot();
        let ids: Vec<_> = s
            .layers()
            .map(|l| (l.id.0, l.name.as_str(), l.visible))
            .collect();
        assert_eq!(
            ids,
            [
                (1, "base", true),
                (2, "duplicate id", true),
                (7, "hidden", false)
            ]
        );
        assert_eq!(s.active_layer, LayerId(2), "the top layer is active");
        assert_eq!(
            s.voxel(LayerId(1), IVec3::new(17, 0, 0)),
            Color([0, 255, 0, 255])
        );
        assert_eq!(
            s.voxel(LayerId(7), IVec3::new(-20, 0, 3)),
            Color([0, 0, 255, 128])
        );
        assert_eq!(s.voxel_count(), 3);
        assert_eq!(doc.to_world().unwrap().snapshot().hash_hex(), s.hash_hex());
        world.apply(CommandBuffer::undo()).result.unwrap();
        assert_eq!(world.snapshot().hash_hex(), before);
    }

    #[test]
    fn an_empty_document_leaves_one_empty_layer() {
        let world = Document::default().to_world().unwrap();
        let s = world.snapshot();
        assert_eq!(s.layers().count(), 1);
        assert_eq!(s.active_layer, LayerId(1));
        assert_eq!(s.voxel_count(), 0);
    }
}
