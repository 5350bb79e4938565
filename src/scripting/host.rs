//! The seam between scripts and the world.
//!
//! Scripts never touch the world directly: every `goxel.*` call lands on a [`ScriptHost`]. The
//! server implements it on a copy-on-write scratch view (a snapshot plus the script's own edits),
//! so a script sees its own writes, and the edits commit as one buffer only if the script
//! succeeds. Tests implement it on a plain hash map.
//!
//! **API Boundary:** this trait is the only thing the scripting module knows about the world; it
//! does not depend on the `systems` crate.

use thiserror::Error;

/// An RGBA colour; alpha 0 means "no voxel".
pub type Rgba = [u8; 4];

/// What a script may do to the world, one call per `goxel.*` function.
///
/// Every mutating call counts towards [`ScriptHost::edit_count`]. A host may refuse an edit with
/// [`HostError::EditLimit`]; the worker then fails the whole script with
/// [`ScriptError::EditLimit`](crate::scripting::ScriptError::EditLimit), even if the script
/// catches the JavaScript exception.
pub trait ScriptHost: Send + 'static {
    /// The colour at `p`, or `None` if the cell is empty.
    fn get_voxel(&self, p: [i32; 3]) -> Option<Rgba>;
    /// Sets the voxel at `p`; alpha 0 removes it.
    fn add_voxel(&mut self, p: [i32; 3], c: Rgba) -> Result<(), HostError>;
    /// Removes the voxel at `p` (no-op if empty).
    fn remove_voxel(&mut self, p: [i32; 3]) -> Result<(), HostError>;
    /// Recolours the voxel at `p` only if it exists; returns whether it did.
    fn paint_voxel(&mut self, p: [i32; 3], c: Rgba) -> Result<bool, HostError>;
    /// Recolours the face-connected region of same-coloured voxels containing `p`; returns the
    /// number of voxels changed.
    fn flood_fill(&mut self, p: [i32; 3], c: Rgba) -> Result<u64, HostError>;
    /// Sets every voxel in the inclusive box `min..=max`; returns the number of voxels set.
    fn fill_box(&mut self, min: [i32; 3], max: [i32; 3], c: Rgba) -> Result<u64, HostError>;
    /// Sets every voxel within `radius` of `center`; returns the number of voxels set.
    fn fill_sphere(&mut self, center: [i32; 3], radius: i32, c: Rgba) -> Result<u64, HostError>;
    /// Inclusive bounds of all voxels, or `None` if the view is empty.
    fn bounding_box(&self) -> Option<([i32; 3], [i32; 3])>;
    /// Number of non-empty voxels in the view.
    fn voxel_count(&self) -> u64;
    /// Index of the layer edits go to.
    fn active_layer(&self) -> u32;
    /// Number of voxel edits made through this host so far.
    fn edit_count(&self) -> u64;
    /// The simulation tick of the world the script reads (fixed for the whole run: a script
    /// sees one snapshot and cannot step the simulation). Hosts without a simulation: 0.
    fn tick(&self) -> u64 {
        0
    }
    /// Sets every voxel of `shape` inscribed in the inclusive box `min..=max` (as
    /// `goxel.procedural_shape` does); returns the number of voxels set.
    fn fill_shape(
        &mut self,
        shape: ShapeKind,
        min: [i32; 3],
        max: [i32; 3],
        c: Rgba,
    ) -> Result<u64, HostError> {
        if shape == ShapeKind::Cube {
            return self.fill_box(min, max, c);
        }
        Err(HostError::Other(format!(
            "this host cannot draw a {}",
            shape.name()
        )))
    }
    /// The layers, bottom to top. Hosts without layers: the one active layer.
    fn layers(&self) -> Vec<LayerView> {
        vec![LayerView {
            id: self.active_layer(),
            name: "layer".into(),
            visible: true,
            voxel_count: self.voxel_count(),
        }]
    }
    /// Shows or hides layer `id` (a whole-world edit; it does not count as a voxel edit).
    fn set_layer_visible(&mut self, id: u32, visible: bool) -> Result<(), HostError> {
        let _ = (id, visible);
        Err(HostError::Other(
            "this host has no layers to show or hide".into(),
        ))
    }
    /// Creates a layer named `name` over all others and selects it (as
    /// [`ScriptHost::select_layer`]); returns its id, the one the world gives it. Not a voxel
    /// edit.
    fn create_layer(&mut self, name: &str) -> Result<u32, HostError> {
        let _ = name;
        Err(HostError::Other("this host cannot create layers".into()))
    }
    /// Makes layer `id` the one later edits and reads act on (and the world's active layer
    /// after the script). Not a voxel edit.
    fn select_layer(&mut self, id: u32) -> Result<(), HostError> {
        if id == self.active_layer() {
            return Ok(());
        }
        Err(HostError::UnknownLayer { id })
    }
}

/// The solids of `goxel.procedural_shape`, each inscribed in a box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeKind {
    /// The whole box.
    Cube,
    /// The ellipsoid inscribed in the box.
    Sphere,
    /// Elliptic cylinder along z.
    Cylinder,
    /// Elliptic cone along z, apex at the top.
    Cone,
    /// Square pyramid along z, apex at the top.
    Pyramid,
}

impl ShapeKind {
    /// The shape called `name` (the RPC method's names).
    pub fn from_name(name: &str) -> Option<ShapeKind> {
        Some(match name {
            "cube" => ShapeKind::Cube,
            "sphere" => ShapeKind::Sphere,
            "cylinder" => ShapeKind::Cylinder,
            "cone" => ShapeKind::Cone,
            "pyramid" => ShapeKind::Pyramid,
            _ => return None,
        })
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            ShapeKind::Cube => "cube",
            ShapeKind::Sphere => "sphere",
            ShapeKind::Cylinder => "cylinder",
            ShapeKind::Cone => "cone",
            ShapeKind::Pyramid => "pyramid",
        }
    }
}

/// One layer as a script lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerView {
    /// Its id.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// Whether it is shown (after the script's own changes).
    pub visible: bool,
    /// Its non-empty voxels (after the script's own edits).
    pub voxel_count: u64,
}

/// Why a host refused an operation.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HostError {
    /// The script made more edits than it is allowed.
    #[error("edit limit of {limit} exceeded")]
    EditLimit {
        /// The configured maximum number of edits.
        limit: u64,
    },
    /// The position lies outside the world bounds.
    #[error("position {p:?} is outside the world bounds")]
    OutOfBounds {
        /// The offending position.
        p: [i32; 3],
    },
    /// A layer id that names no layer.
    #[error("no layer with id {id}")]
    UnknownLayer {
        /// The id asked for.
        id: u32,
    },
    /// Anything else the host wants to report to the script.
    #[error("{0}")]
    Other(String),
}
