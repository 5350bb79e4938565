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
        free_ids(self.by_id.keys().copied(), 1)[0]
    }

    /// The ids `n` layer creations get, one after the other, when nothing is deleted between
    /// them (each takes the lowest id still free).
    pub fn next_free_ids(&self, n: usize) -> Vec<LayerId> {
        free_ids(self.by_id.keys().copied(), n)
    }
}

/// The ids `n` layer creations get, one after the other, when `taken` (ascending) are the ids in
/// use: each creation takes the lowest id still free, from 1. The one rule for new layer ids, used
/// by the apply system and by scripts' scratch views (which must predict what the world gives).
pub fn free_ids(taken: impl IntoIterator<Item = LayerId>, n: usize) -> Vec<LayerId> {
    let mut out = Vec::with_capacity(n);
    let mut taken = taken.into_iter().peekable();
    let mut id = 1u32;
    while out.len() < n {
        match taken.peek() {
            Some(t) if t.0 < id => {
                taken.next();
            }
            Some(t) if t.0 == id => {
                taken.next();
                id += 1;
            }
            _ => {
                out.push(LayerId(id));
                id += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[u32]) -> Vec<LayerId> {
        v.iter().copied().map(LayerId).collect()
    }

    #[test]
    fn new_layer_ids_fill_the_gaps_from_one() {
        assert_eq!(free_ids(ids(&[]), 3), ids(&[1, 2, 3]));
        assert_eq!(free_ids(ids(&[1, 2, 3]), 1), ids(&[4]));
        assert_eq!(free_ids(ids(&[2, 4, 5, 9]), 4), ids(&[1, 3, 6, 7]));
        assert_eq!(free_ids(ids(&[1, 3]), 0), ids(&[]));
    }
}

/// The layer that edits without an explicit layer go to.
#[derive(Resource, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActiveLayer(pub LayerId);
