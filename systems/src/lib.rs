//! The deterministic voxel world core of voxeld.
//!
//! The main type is [`VoxelWorld`]: a bevy_ecs `World` whose chunks are entities
//! `(LayerId, ChunkPos, ChunkVoxels)` and whose only way to change is a [`CommandBuffer`] of
//! [`Edit`]s, applied in sequence order by a scheduled system. Readers on other threads use an
//! immutable [`WorldSnapshot`]; the [`hash`] module specifies the world hash.
//!
//! This crate does no I/O, starts no thread, reads no clock and knows nothing of JSON or
//! JavaScript: the server in `src/` does all of that around it.

pub mod apply;
pub mod changes;
pub mod color;
pub mod coords;
pub mod edit;
pub mod flood;
pub mod hash;
pub mod index;
pub mod layer;
pub mod schedule;
pub mod scratch;
pub mod shapes;
pub mod simulation;
pub mod snapshot;
pub mod storage;

pub use apply::{ChunkVoxels, UndoHistory, check_limits};
pub use changes::Changes;
pub use color::Color;
pub use coords::{CHUNK_SIZE, CHUNK_VOLUME, ChunkPos, VoxelBox};
pub use edit::{
    Applied, BufferOutcome, CommandBuffer, Displaced, Edit, EditError, EditLimits, HistoryMode,
    Shape, Source,
};
pub use layer::{LayerId, LayerInfo};
pub use schedule::{StepStamp, VoxelWorld, WorldSettings, WorldSystems};

pub use scratch::{ScratchLayer, ScratchWorld};
pub use snapshot::{LayerSnapshot, WorldSnapshot};
pub use storage::{ChunkData, ChunkKind};
