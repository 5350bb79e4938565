//! The world as scripts see it: [`ScratchWorld`] behind the script pool's [`ScriptHost`] trait.
//!
//! A script reads the snapshot taken when it was accepted plus its own edits, and its edits
//! become one command buffer that the world applies only if the script succeeds.

use glam::IVec3;
use systems::{Color, EditError, LayerId, ScratchWorld, Shape, VoxelBox};

use crate::scripting::host::{LayerView, ShapeKind};
use crate::scripting::{HostError, Rgba, ScriptHost};

/// A script's view of the world (across layers: see [`ScratchWorld`]).
pub struct WorldHost {
    /// The snapshot plus the script's own edits.
    pub scratch: ScratchWorld,
    /// A library run: where its result may be cached once it is back.
    pub cache_key: Option<crate::script_library::CacheKey>,
}

impl WorldHost {
    /// A view of `scratch` for an inline script.
    pub fn new(scratch: ScratchWorld) -> WorldHost {
        WorldHost {
            scratch,
            cache_key: None,
        }
    }
}

fn host_error(e: EditError) -> HostError {
    match e {
        EditError::TooManyVoxels { limit, .. } => HostError::EditLimit { limit },
        EditError::OutOfBounds { pos, .. } => HostError::OutOfBounds { p: pos.to_array() },
        EditError::UnknownLayer(id) => HostError::UnknownLayer { id },
        other => HostError::Other(other.to_string()),
    }
}

impl ScriptHost for WorldHost {
    fn get_voxel(&self, p: [i32; 3]) -> Option<Rgba> {
        let c = self.scratch.get(IVec3::from_array(p));
        (!c.is_empty()).then_some(c.0)
    }

    fn add_voxel(&mut self, p: [i32; 3], c: Rgba) -> Result<(), HostError> {
        self.scratch
            .set(IVec3::from_array(p), Color(c))
            .map_err(host_error)
    }

    fn remove_voxel(&mut self, p: [i32; 3]) -> Result<(), HostError> {
        self.scratch
            .set(IVec3::from_array(p), Color::EMPTY)
            .map_err(host_error)
    }

    fn paint_voxel(&mut self, p: [i32; 3], c: Rgba) -> Result<bool, HostError> {
        self.scratch
            .paint(IVec3::from_array(p), Color(c))
            .map_err(host_error)
    }

    fn flood_fill(&mut self, p: [i32; 3], c: Rgba) -> Result<u64, HostError> {
        let start = IVec3::from_array(p);
        // Like the RPC method: a fill from an empty voxel stays within the layer's bounds + 1.
        let bounds = if self.scratch.get(start).is_empty() {
            let b = self
                .scratch
                .bounding_box()
                .unwrap_or(VoxelBox::point(start))
                .union(&VoxelBox::point(start));
            VoxelBox {
                min: b.min.saturating_sub(IVec3::ONE),
                max: b.max.saturating_add(IVec3::ONE),
            }
        } else {
            VoxelBox {
                min: IVec3::splat(i32::MIN / 2),
                max: IVec3::splat(i32::MAX / 2),
            }
        };
        self.scratch
            .flood_fill(start, Color(c), bounds)
            .map_err(host_error)
    }

    fn fill_box(&mut self, min: [i32; 3], max: [i32; 3], c: Rgba) -> Result<u64, HostError> {
        let region = VoxelBox::from_corners(IVec3::from_array(min), IVec3::from_array(max));
        self.scratch.fill_box(region, Color(c)).map_err(host_error)
    }

    fn fill_sphere(&mut self, center: [i32; 3], radius: i32, c: Rgba) -> Result<u64, HostError> {
        if radius < 0 {
            return Err(HostError::Other(format!(
                "radius must be ≥ 0, got {radius}"
            )));
        }
        let centre = IVec3::from_array(center);
        let region = VoxelBox {
            min: centre.saturating_sub(IVec3::splat(radius)),
            max: centre.saturating_add(IVec3::splat(radius)),
        };
        self.scratch
            .fill_shape(Shape::Sphere, region, Color(c))
            .map_err(host_error)
    }

    fn bounding_box(&self) -> Option<([i32; 3], [i32; 3])> {
        self.scratch
            .bounding_box()
            .map(|b| (b.min.to_array(), b.max.to_array()))
    }

    fn voxel_count(&self) -> u64 {
        self.scratch.voxel_count()
    }

    fn active_layer(&self) -> u32 {
        self.scratch.layer().0
    }

    fn edit_count(&self) -> u64 {
        self.scratch.edit_count()
    }

    fn tick(&self) -> u64 {
        self.scratch.base().tick
    }

    fn fill_shape(
        &mut self,
        shape: ShapeKind,
        min: [i32; 3],
        max: [i32; 3],
        c: Rgba,
    ) -> Result<u64, HostError> {
        let shape = match shape {
            ShapeKind::Cube => Shape::Cube,
            ShapeKind::Sphere => Shape::Sphere,
            ShapeKind::Cylinder => Shape::Cylinder,
            ShapeKind::Cone => Shape::Cone,
            ShapeKind::Pyramid => Shape::Pyramid,
        };
        let region = VoxelBox::from_corners(IVec3::from_array(min), IVec3::from_array(max));
        self.scratch
            .fill_shape(shape, region, Color(c))
            .map_err(host_error)
    }

    fn layers(&self) -> Vec<LayerView> {
        self.scratch
            .layers()
            .into_iter()
            .map(|l| LayerView {
                id: l.id.0,
                name: l.name,
                visible: l.visible,
                voxel_count: l.voxel_count,
            })
            .collect()
    }

    fn set_layer_visible(&mut self, id: u32, visible: bool) -> Result<(), HostError> {
        self.scratch
            .set_layer_visible(LayerId(id), visible)
            .map_err(host_error)
    }

    fn create_layer(&mut self, name: &str) -> Result<u32, HostError> {
        self.scratch
            .create_layer(name)
            .map(|l| l.0)
            .map_err(host_error)
    }

    fn select_layer(&mut self, id: u32) -> Result<(), HostError> {
        self.scratch.select_layer(LayerId(id)).map_err(host_error)
    }
}
