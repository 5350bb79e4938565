//! Layers: named, ordered, hideable sets of voxels. Each layer is an entity.

use bevy_ecs::component::Component;
use bevy_ecs::entity::Entity;
use bevy_ecs::resource::Resource;
use std::collections::BTreeMap;

/// The id of a layer; also a component of every chunk entity, naming the layer it belongs to.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LayerId(pub u32);

/// What a layer is, apart from its voxels.
#[derive(Component, Clone, Debug, PartialEq, Eq)]
pub struct LayerInfo {
    /// Shown to users; not unique.
    pub name: String,
    /// Hidden layers keep their voxels but drop out of merged reads and renders.
    pub visible: bool,
    /// Stacking order: a higher order is drawn over a lower one.
    pub order: i32,
}

/// Layer ids to layer entities, sorted by id so iteration is deterministic.
#[derive(Resource, Debug, Default)]
pub struct LayerIndex {
    /// Every live layer.
    pub by_id: BTreeMap<LayerId, Entity>,
}

impl LayerIndex {
    /// The id a new layer gets: the lowest free id from 1, as in Goxel (so a new project's
    /// layers are 1, 2, 3 ... and a deleted layer's id is given out again).
    pub fn lowest_free_id(&self) -> LayerId {
        let mut id = 1;
        for taken in self.by_id.keys() {
            if taken.0 != id {
                break;
            }
            id += 1;
        }
        LayerId(id)
    }
}

/// The layer that edits without an explicit layer go to.
#[derive(Resource, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActiveLayer(pub LayerId);
