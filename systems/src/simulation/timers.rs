//! Timers of [`Timing::After`](super::Timing::After) rules: for each voxel a rule is counting,
//! the tick it fires on.
//!
//! A timer starts on the first tick its rule sees the voxel (due `ticks - 1` ticks later, so
//! `After { ticks: 1 }` fires at once) and goes when the voxel no longer matches. It is state
//! beyond the voxels, so it is not part of the world hash, but replay rebuilds it exactly and
//! snapshot files carry it ([`VoxelWorld::timers`](crate::VoxelWorld::timers)). A chunk with a
//! running timer stays pending, so it is visited on every tick until the timer fires.

use std::collections::BTreeMap;

use bevy_ecs::resource::Resource;
use glam::IVec3;

use crate::layer::LayerId;

/// Every running timer: by (rule index, layer, chunk position as z, y, x), the (cell index,
/// due tick) pairs in cell order.
#[derive(Resource, Clone, Debug, Default, PartialEq, Eq)]
pub struct Timers {
    pub(crate) chunks: BTreeMap<TimerKey, Vec<(u16, u64)>>,
}

/// (rule index, layer, chunk position as z, y, x): sorts a rule's chunks of one layer
/// together, in z, y, x order.
pub(crate) type TimerKey = (u32, LayerId, (i32, i32, i32));

impl Timers {
    /// Whether no timer runs.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// Running timers, in a fixed order: (rule index, layer, chunk position, (cell, due)).
    pub fn chunks(&self) -> impl Iterator<Item = (u32, LayerId, IVec3, &[(u16, u64)])> {
        self.chunks
            .iter()
            .map(|(&(rule, layer, (z, y, x)), v)| (rule, layer, IVec3::new(x, y, z), &v[..]))
    }

    /// Adds the timers of one chunk (decoding a snapshot); `cells` sorted by cell index.
    pub fn insert(&mut self, rule: u32, layer: LayerId, chunk: IVec3, cells: Vec<(u16, u64)>) {
        if !cells.is_empty() {
            self.chunks
                .insert((rule, layer, (chunk.z, chunk.y, chunk.x)), cells);
        }
    }

    /// Takes the timers of one chunk.
    pub(crate) fn take(&mut self, rule: u32, layer: LayerId, chunk: IVec3) -> Vec<(u16, u64)> {
        self.chunks
            .remove(&(rule, layer, (chunk.z, chunk.y, chunk.x)))
            .unwrap_or_default()
    }

    /// Drops the timers of `rule` in the chunks `visited` does not hold: a chunk with a running
    /// timer is pending, so one the rule did not visit has no voxel it counts.
    pub(crate) fn retain_visited(&mut self, rule: u32, visited: impl Fn(LayerId, IVec3) -> bool) {
        let lo = (rule, LayerId(0), (i32::MIN, i32::MIN, i32::MIN));
        let hi = (rule, LayerId(u32::MAX), (i32::MAX, i32::MAX, i32::MAX));
        let stale: Vec<TimerKey> = self
            .chunks
            .range(lo..=hi)
            .filter(|(k, _)| !visited(k.1, IVec3::new(k.2.2, k.2.1, k.2.0)))
            .map(|(k, _)| *k)
            .collect();
        for k in stale {
            self.chunks.remove(&k);
        }
    }
}
