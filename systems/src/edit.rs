//! Edits and command buffers: the only way the world changes.
//!
//! Every change, whether from an RPC, a script, a batch file, undo or journal replay, arrives as a
//! [`CommandBuffer`]: an ordered list of [`Edit`]s applied all-or-nothing. The world stamps each
//! applied buffer with the next global sequence number, so applying the same buffers in the same
//! order always gives the same world.

use std::sync::Arc;

use glam::IVec3;

use crate::color::Color;
use crate::coords::VoxelBox;
use crate::layer::LayerId;
use crate::storage::ChunkData;

/// A solid that [`Edit::Shape`] fills, inscribed in its box (z is up).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shape {
    /// The whole box.
    Cube,
    /// The ellipsoid inscribed in the box.
    Sphere,
    /// Elliptic cylinder along z.
    Cylinder,
    /// Elliptic cone along z: base at the bottom of the box, apex at the top.
    Cone,
    /// Square pyramid along z: base at the bottom of the box, apex at the top.
    Pyramid,
}

impl Shape {
    /// The shape called `name` (`cube`, `box`, `sphere`, `cylinder`, `cone`, `pyramid`).
    pub fn from_name(name: &str) -> Option<Shape> {
        Some(match name {
            "cube" | "box" => Shape::Cube,
            "sphere" => Shape::Sphere,
            "cylinder" => Shape::Cylinder,
            "cone" => Shape::Cone,
            "pyramid" => Shape::Pyramid,
            _ => return None,
        })
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Cube => "cube",
            Shape::Sphere => "sphere",
            Shape::Cylinder => "cylinder",
            Shape::Cone => "cone",
            Shape::Pyramid => "pyramid",
        }
    }
}

/// One change to the world. Voxel edits act on the buffer's current target layer.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    /// Sets one voxel (the empty colour removes it).
    Set { pos: IVec3, color: Color },
    /// Recolours one voxel if it exists.
    Paint { pos: IVec3, color: Color },
    /// Sets every voxel of a box (the empty colour clears it).
    FillBox { region: VoxelBox, color: Color },
    /// Sets every voxel of a solid inscribed in a box.
    Shape {
        shape: Shape,
        region: VoxelBox,
        color: Color,
    },
    /// Recolours the 6-connected region of voxels that share the colour at `pos`, inside `bounds`.
    FloodFill {
        pos: IVec3,
        color: Color,
        bounds: Box<VoxelBox>,
    },
    /// Makes later voxel edits of this buffer act on `layer`.
    TargetLayer(LayerId),
    /// Creates a layer (id = the next free id) over all others; it becomes the target layer.
    CreateLayer { name: Box<str> },
    /// Deletes a layer and its voxels. The last layer cannot be deleted.
    DeleteLayer(LayerId),
    /// Renames a layer.
    RenameLayer { layer: LayerId, name: Box<str> },
    /// Shows or hides a layer.
    SetLayerVisible { layer: LayerId, visible: bool },
    /// Makes `layer` the world's active layer.
    SetActiveLayer(LayerId),
    /// Copies the non-empty voxels of `source` over `target`, then deletes `source`.
    MergeLayers { source: LayerId, target: LayerId },
    /// Puts back a layer exactly as it was (inverse of a delete).
    RestoreLayer {
        layer: LayerId,
        name: Box<str>,
        visible: bool,
        order: i32,
    },
    /// Puts back a chunk exactly as it was (`None`: no chunk). Produced by inverse buffers.
    RestoreChunk {
        layer: LayerId,
        pos: IVec3,
        data: Option<Arc<ChunkData>>,
    },
}

impl Edit {
    /// Voxels this edit may touch at most, for the per-buffer limit checked before applying.
    pub fn voxel_budget(&self) -> u64 {
        match self {
            Edit::Set { .. } | Edit::Paint { .. } => 1,
            Edit::FillBox { region, .. } | Edit::Shape { region, .. } => region.volume(),
            // Bounded while it runs by the flood-fill limit.
            Edit::FloodFill { .. } => 1,
            _ => 0,
        }
    }

    /// The box this edit must lie in, for the world-bounds check.
    pub fn extent(&self) -> Option<VoxelBox> {
        match self {
            Edit::Set { pos, .. } | Edit::Paint { pos, .. } | Edit::FloodFill { pos, .. } => {
                Some(VoxelBox::point(*pos))
            }
            Edit::FillBox { region, .. } | Edit::Shape { region, .. } => Some(*region),
            _ => None,
        }
    }
}

/// Where a buffer came from; recorded in the journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Source {
    /// A JSON-RPC edit method.
    #[default]
    Rpc,
    /// A script's committed edits.
    Script,
    /// An undo (the buffer holds the inverse edits).
    Undo,
    /// A redo.
    Redo,
    /// Start-up, project load and other whole-world operations.
    System,
}

/// What the world does with the undo history when it applies a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum HistoryMode {
    /// Push the inverse on the undo stack and clear the redo stack.
    #[default]
    Record,
    /// Pop the undo stack and apply its top (the buffer's own edits are ignored).
    Undo,
    /// Pop the redo stack and apply its top.
    Redo,
    /// Leave the history alone.
    Skip,
}

/// An ordered list of edits, applied all-or-nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CommandBuffer {
    /// The edits, in order; a later edit wins over an earlier one on the same voxel.
    pub edits: Vec<Edit>,
    /// The layer voxel edits act on until a [`Edit::TargetLayer`]; `None` = the active layer.
    pub layer: Option<LayerId>,
    /// Who sent it.
    pub source: Source,
    /// How it affects undo.
    pub history: HistoryMode,
}

impl CommandBuffer {
    /// An empty buffer from `source` acting on the active layer.
    pub fn new(source: Source) -> CommandBuffer {
        CommandBuffer {
            source,
            ..Default::default()
        }
    }

    /// The same with a target layer.
    pub fn on_layer(mut self, layer: Option<LayerId>) -> CommandBuffer {
        self.layer = layer;
        self
    }

    /// Appends an edit.
    pub fn push(&mut self, edit: Edit) -> &mut CommandBuffer {
        self.edits.push(edit);
        self
    }

    /// A buffer that undoes the last recorded buffer.
    pub fn undo() -> CommandBuffer {
        CommandBuffer {
            source: Source::Undo,
            history: HistoryMode::Undo,
            ..Default::default()
        }
    }

    /// A buffer that redoes the last undone buffer.
    pub fn redo() -> CommandBuffer {
        CommandBuffer {
            source: Source::Redo,
            history: HistoryMode::Redo,
            ..Default::default()
        }
    }

    /// Number of edits.
    pub fn len(&self) -> usize {
        self.edits.len()
    }

    /// Whether there is no edit.
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }
}

/// Limits an edit must respect; a buffer over any of them is refused whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EditLimits {
    /// Every voxel edit must lie inside.
    pub bounds: VoxelBox,
    /// Sum of [`Edit::voxel_budget`] over a buffer.
    pub max_voxels: u64,
    /// Voxels one flood fill may recolour.
    pub flood_fill_limit: u64,
}

impl Default for EditLimits {
    fn default() -> EditLimits {
        EditLimits {
            bounds: VoxelBox {
                min: IVec3::splat(-(1 << 20)),
                max: IVec3::splat((1 << 20) - 1),
            },
            max_voxels: 1 << 28,
            flood_fill_limit: 1 << 22,
        }
    }
}

/// Why a buffer was refused. The world is unchanged when one of these is returned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// A voxel edit reaches outside the world bounds.
    #[error("position {pos} is outside the world bounds {min}..{max}")]
    OutOfBounds { pos: IVec3, min: IVec3, max: IVec3 },
    /// The buffer touches more voxels than allowed.
    #[error("edit touches up to {count} voxels, over the limit of {limit}")]
    TooManyVoxels { count: u64, limit: u64 },
    /// A flood fill found a larger region than allowed.
    #[error("flood fill region exceeds the limit of {limit} voxels")]
    FloodFillTooLarge { limit: u64 },
    /// A layer id that does not exist.
    #[error("no layer with id {0}")]
    UnknownLayer(u32),
    /// A script creating more layers than one script may.
    #[error("a script may create at most {limit} layers")]
    TooManyLayers { limit: u64 },
    /// Deleting the only layer.
    #[error("cannot delete the last layer")]
    LastLayer,
    /// Merging a layer into itself.
    #[error("cannot merge layer {0} into itself")]
    MergeIntoSelf(u32),
    /// Undo with nothing to undo.
    #[error("nothing to undo")]
    NothingToUndo,
    /// Redo with nothing to redo.
    #[error("nothing to redo")]
    NothingToRedo,
}

/// What applying a buffer did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BufferOutcome {
    /// The sequence number stamped on the buffer.
    pub seq: u64,
    /// Voxels whose colour changed.
    pub changed_count: u64,
    /// Bounds of the changed voxels.
    pub bounds: Option<VoxelBox>,
    /// Layers created by the buffer, in order.
    pub created_layers: Vec<LayerId>,
}

/// A buffer's result, as the apply system reports it.
#[derive(Clone, Debug)]
pub struct Applied {
    /// The caller's ticket, copied from [`PendingBuffer::ticket`].
    pub ticket: u64,
    /// Outcome or refusal.
    pub result: Result<BufferOutcome, EditError>,
    /// The edits that were applied, when they differ from the submitted ones (undo and redo:
    /// the journal records these, so replay needs no history).
    pub effective: Option<CommandBuffer>,
    /// The buffer's history mode: what [`VoxelWorld::revert_last`](crate::VoxelWorld::revert_last)
    /// must undo in the history.
    pub history: HistoryMode,
    /// What applying the buffer took out of the undo history. Filled by
    /// [`VoxelWorld::apply`](crate::VoxelWorld::apply) only (one buffer at a time, so a long
    /// replay through `update` does not hold every step it pushed out).
    pub displaced: Displaced,
}

/// What applying one buffer took out of the undo history, so that taking the buffer back
/// restores the history exactly.
#[derive(Clone, Debug, Default)]
pub struct Displaced {
    /// The redo steps a recorded buffer cleared.
    pub redo: Vec<CommandBuffer>,
    /// The oldest undo step a recorded buffer pushed out of a full history.
    pub evicted: Option<CommandBuffer>,
    /// The inverse of a `Skip` buffer, which the history does not keep.
    pub inverse: Option<CommandBuffer>,
}

/// A buffer waiting to be applied, with the caller's ticket to match the result.
#[derive(Clone, Debug)]
pub struct PendingBuffer {
    /// Chosen by the caller; returned in [`Applied::ticket`].
    pub ticket: u64,
    /// The buffer.
    pub buffer: CommandBuffer,
}

#[cfg(test)]
mod tests {
    #[test]
    fn edit_stays_small() {
        // Buffers of millions of edits are memory-bound: keep the common variants compact.
        assert!(
            std::mem::size_of::<super::Edit>() <= 32,
            "{}",
            std::mem::size_of::<super::Edit>()
        );
    }
}
