//! What changed since the server last asked: the chunks (and whether layer metadata) changed,
//! collected by the publish system from the same dirty-chunk tracking the snapshot uses. The
//! server turns them into change notifications for its subscribers, once per loop iteration.
//!
//! Collection is off until someone turns it on ([`VoxelWorld::track_changes`]): with no
//! subscriber nobody drains the log, so it must not grow.
//!
//! ```
//! use systems::{Color, CommandBuffer, Edit, LayerId, VoxelWorld, WorldSettings};
//! let mut world = VoxelWorld::new(WorldSettings::default());
//! world.track_changes(true);
//! let mut buffer = CommandBuffer::default();
//! buffer.edits.push(Edit::Set { pos: glam::IVec3::new(17, 0, 0), color: Color::rgb(1, 2, 3) });
//! world.apply(buffer);
//! let changes = world.take_changes();
//! assert_eq!(changes.chunks, vec![(LayerId(1), glam::IVec3::new(1, 0, 0))]);
//! assert!(world.take_changes().is_empty());
//! ```
//!
//! [`VoxelWorld::track_changes`]: crate::VoxelWorld::track_changes

use bevy_ecs::prelude::Resource;
use glam::IVec3;
use rustc_hash::FxHashSet;

use crate::LayerId;

/// Changes collected since the last [`VoxelWorld::take_changes`](crate::VoxelWorld::take_changes).
#[derive(Resource, Debug, Default)]
pub struct ChangeLog {
    /// Whether changes are collected.
    pub enabled: bool,
    /// Chunks whose content changed, appeared or vanished.
    pub chunks: FxHashSet<(LayerId, IVec3)>,
    /// Whether layer metadata changed (layers created, deleted, renamed, shown, hidden, reordered).
    pub layers: bool,
}

/// The changes of one interval, in a fixed order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Changed chunks (layer, chunk position), sorted by layer, then z, y, x.
    pub chunks: Vec<(LayerId, IVec3)>,
    /// Whether layer metadata changed.
    pub layers: bool,
}

impl Changes {
    /// Nothing changed.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty() && !self.layers
    }
}

impl ChangeLog {
    /// Notes what the publish system is about to fold into the snapshot.
    pub fn note(&mut self, chunks: &FxHashSet<(LayerId, IVec3)>, layers: bool) {
        if self.enabled {
            self.chunks.extend(chunks.iter().copied());
            self.layers |= layers;
        }
    }

    /// Takes what was collected, sorted.
    pub fn take(&mut self) -> Changes {
        let mut chunks: Vec<(LayerId, IVec3)> = self.chunks.drain().collect();
        chunks.sort_unstable_by_key(|&(l, p)| (l, p.z, p.y, p.x));
        Changes {
            chunks,
            layers: std::mem::take(&mut self.layers),
        }
    }
}
