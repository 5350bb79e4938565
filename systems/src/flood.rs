//! Flood fill's search: the 6-connected region of one colour, shared by the world's apply
//! system and a script's scratch world.

use std::collections::VecDeque;

use glam::IVec3;
use rustc_hash::FxHashSet;

use crate::color::Color;
use crate::coords::VoxelBox;
use crate::edit::EditError;

/// The voxels 6-connected to `start` inside `bounds` that have `start`'s colour, in
/// breadth-first order. `colour_at` reads the world as the caller sees it. More than `limit`
/// voxels is [`EditError::FloodFillTooLarge`]. A start outside `bounds` gives an empty region.
pub fn flood_region(
    start: IVec3,
    bounds: &VoxelBox,
    limit: u64,
    colour_at: impl Fn(IVec3) -> Color,
) -> Result<Vec<IVec3>, EditError> {
    if !bounds.contains(start) {
        return Ok(Vec::new());
    }
    let from = colour_at(start);
    let mut seen: FxHashSet<IVec3> = FxHashSet::default();
    let mut queue = VecDeque::from([start]);
    let mut region = Vec::new();
    seen.insert(start);
    while let Some(p) = queue.pop_front() {
        region.push(p);
        if region.len() as u64 > limit {
            return Err(EditError::FloodFillTooLarge { limit });
        }
        for d in [
            IVec3::X,
            IVec3::NEG_X,
            IVec3::Y,
            IVec3::NEG_Y,
            IVec3::Z,
            IVec3::NEG_Z,
        ] {
            let n = p + d;
            if bounds.contains(n) && !seen.contains(&n) && colour_at(n) == from {
                seen.insert(n);
                queue.push_back(n);
            }
        }
    }
    Ok(region)
}
