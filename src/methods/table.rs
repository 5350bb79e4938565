//! The one table of methods: dispatch, `list_methods` and the documentation check all read it,
//! so a method cannot be answered without being listed, or listed without being answered.

use std::sync::OnceLock;

use rustc_hash::FxHashMap;

use super::{
    Ctx, Reply, analysis, housekeeping, layers, live, project, renders, scripts, simulation, voxels,
};
use crate::config::Permission;
use crate::rpc::{Params, RpcError};

/// A method's handler.
pub type Handler = fn(&mut Ctx<'_>, &Params<'_>) -> Result<Reply, RpcError>;

/// One method the server answers.
pub struct Method {
    /// The name clients call.
    pub name: &'static str,
    /// What it does, as `list_methods` reports it.
    pub description: &'static str,
    /// The function that answers it.
    pub handler: Handler,
    /// What a network client's token must allow to call it (`docs/methods.md`, "Permissions").
    pub permission: Permission,
}

/// A method that needs [`Permission::Admin`] unless wrapped in [`read`], [`edit`] or
/// [`script`]: a method nobody classified is open to admin tokens only.
const fn m(name: &'static str, description: &'static str, handler: Handler) -> Method {
    Method {
        name,
        description,
        handler,
        permission: Permission::Admin,
    }
}

/// Reads the world or the server; changes nothing.
const fn read(m: Method) -> Method {
    Method {
        permission: Permission::Read,
        ..m
    }
}

/// Changes voxels, layers or the tick.
const fn edit(m: Method) -> Method {
    Method {
        permission: Permission::Edit,
        ..m
    }
}

/// Runs a script.
const fn script(m: Method) -> Method {
    Method {
        permission: Permission::Script,
        ..m
    }
}

/// Every method, in the Goxel daemon's order (its six unprefixed methods first, then its
/// `goxel.*` methods), then voxeld's own.
pub const METHODS: &[Method] = &[
    read(m("echo", "Echo back the parameters", |_, p| {
        housekeeping::echo(p)
    })),
    read(m("version", "Get the daemon version", |_, _| {
        housekeeping::version()
    })),
    read(m(
        "status",
        "Get the daemon status",
        housekeeping::daemon_status,
    )),
    read(m("ping", "Check that the daemon is alive", |_, _| {
        housekeeping::ping()
    })),
    read(m("list_methods", "List the available methods", |_, _| {
        housekeeping::list_methods()
    })),
    edit(m(
        "add_voxels",
        "Add many voxels to the active layer in one call",
        voxels::add_voxels,
    )),
    edit(m(
        "goxel.create_project",
        "Create a new project with one empty layer",
        layers::create_project,
    )),
    m(
        "goxel.load_project",
        "Load a project file (.gox, .vox, .vxs)",
        project::load_project,
    ),
    m(
        "goxel.save_project",
        "Save the project as a Goxel .gox file",
        project::save_project,
    ),
    m(
        "goxel.export_model",
        "Export the model (gox, vox, obj, ply, vxs)",
        project::export_model,
    ),
    read(m(
        "goxel.get_status",
        "Get the project status",
        housekeeping::status,
    )),
    edit(m("goxel.add_voxel", "Add a voxel", voxels::add_voxel)),
    edit(m(
        "goxel.remove_voxel",
        "Remove a voxel",
        voxels::remove_voxel,
    )),
    read(m(
        "goxel.get_voxel",
        "Get the voxel at a position",
        voxels::get_voxel,
    )),
    edit(m(
        "goxel.paint_voxels",
        "Recolour existing voxels",
        voxels::paint_voxels,
    )),
    edit(m(
        "goxel.flood_fill",
        "Flood-fill the connected region of one colour",
        voxels::flood_fill,
    )),
    edit(m(
        "goxel.procedural_shape",
        "Generate a shape (cube, sphere, cylinder, cone, pyramid)",
        voxels::procedural_shape,
    )),
    edit(m(
        "goxel.batch_operations",
        "Apply many voxel operations as one edit",
        voxels::batch_operations,
    )),
    read(m(
        "goxel.list_layers",
        "List the layers",
        layers::list_layers,
    )),
    edit(m(
        "goxel.create_layer",
        "Create a layer and make it active",
        layers::create_layer,
    )),
    edit(m(
        "goxel.delete_layer",
        "Delete a layer",
        layers::delete_layer,
    )),
    edit(m(
        "goxel.merge_layers",
        "Merge a layer into another",
        layers::merge_layers,
    )),
    edit(m(
        "goxel.set_layer_visibility",
        "Show or hide a layer",
        layers::set_layer_visibility,
    )),
    script(m(
        "goxel.execute_script",
        "Execute a JavaScript script",
        |_, p| housekeeping::execute_script(p),
    )),
    read(m(
        "goxel.get_voxels_region",
        "Get the voxels inside a box",
        analysis::get_voxels_region,
    )),
    read(m(
        "goxel.get_layer_voxels",
        "Get every voxel of a layer",
        analysis::get_layer_voxels,
    )),
    read(m(
        "goxel.get_bounding_box",
        "Get the bounding box of the voxels",
        analysis::get_bounding_box,
    )),
    read(m(
        "goxel.get_color_histogram",
        "Count voxels per colour",
        analysis::get_color_histogram,
    )),
    read(m(
        "goxel.find_voxels_by_color",
        "Find the voxels of a colour",
        analysis::find_voxels_by_color,
    )),
    read(m(
        "goxel.get_unique_colors",
        "List the distinct colours",
        analysis::get_unique_colors,
    )),
    m(
        "goxel.render_scene",
        "Render the scene to a PNG (presets, explicit camera, file, managed or base64)",
        renders::render_scene,
    ),
    read(m(
        "goxel.get_render_info",
        "Describe a managed render",
        renders::get_render_info,
    )),
    m(
        "goxel.cleanup_render",
        "Delete a managed render",
        renders::cleanup_render,
    ),
    read(m(
        "goxel.list_renders",
        "List the managed renders",
        renders::list_renders,
    )),
    read(m(
        "goxel.get_render_stats",
        "Counts of the managed renders (documented by the daemon)",
        renders::get_render_stats,
    )),
    read(m(
        "goxel.get_version",
        "Get the daemon version (documented by the daemon)",
        |_, _| housekeeping::version(),
    )),
    edit(m(
        "goxel.set_active_layer",
        "Make a layer the active one (voxeld)",
        layers::set_active_layer,
    )),
    edit(m("goxel.undo", "Undo the last edit (voxeld)", |c, p| {
        layers::undo(c, p, true)
    })),
    edit(m(
        "goxel.redo",
        "Redo the last undone edit (voxeld)",
        |c, p| layers::undo(c, p, false),
    )),
    read(m(
        "goxel.get_simulation",
        "Get the simulation: rules, tick, active chunks, last tick's cost (voxeld)",
        simulation::get_simulation,
    )),
    m(
        "goxel.set_simulation",
        "Start, stop or retune the simulation, or replace its rules (voxeld)",
        simulation::set_simulation,
    ),
    edit(m(
        "goxel.step",
        "Run simulation ticks now (voxeld)",
        simulation::step,
    )),
    read(m(
        "goxel.subscribe",
        "Subscribe to change notifications: world_changed, script_finished, tick (voxeld)",
        live::subscribe,
    )),
    read(m(
        "goxel.unsubscribe",
        "End a subscription (voxeld)",
        live::unsubscribe,
    )),
    read(m(
        "goxel.get_chunks",
        "Get chunks in a compact run-length encoding, base64 (voxeld)",
        live::get_chunks,
    )),
    read(m(
        "goxel.authenticate",
        "Present a token on a network connection (voxeld)",
        live::authenticate,
    )),
    read(m(
        "goxel.list_scripts",
        "List the library scripts with their parameters (voxeld)",
        scripts::list_scripts,
    )),
    script(m(
        "goxel.run_script",
        "Run a library script by name with checked arguments (voxeld)",
        scripts::run_script,
    )),
    read(m(
        "goxel.get_script_stats",
        "Runs, failures, cache hits and durations per script name (voxeld)",
        scripts::get_script_stats,
    )),
];

/// The method called `name`.
pub fn find(name: &str) -> Option<&'static Method> {
    static INDEX: OnceLock<FxHashMap<&'static str, usize>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        METHODS
            .iter()
            .enumerate()
            .map(|(i, m)| (m.name, i))
            .collect()
    });
    index.get(name).map(|&i| &METHODS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = METHODS.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), METHODS.len());
        assert!(
            METHODS
                .iter()
                .all(|m| find(m.name).is_some_and(|f| f.name == m.name))
        );
        assert!(find("goxel.nosuch").is_none());
    }
}
