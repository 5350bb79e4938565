//! Every JSON-RPC error code voxeld sends, in one table: the specification's codes, voxeld's
//! server codes (`-32000..=-32099`), and the Goxel daemon's method codes (`-1001..=-1021`),
//! which daemon clients check. `docs/methods.md` lists the same table; a test holds the two
//! together.

/// Invalid JSON, or a frame over the size limit (reply `id` null).
pub const PARSE_ERROR: i32 = -32700;
/// JSON, but not a request object.
pub const INVALID_REQUEST: i32 = -32600;
/// The method does not exist.
pub const METHOD_NOT_FOUND: i32 = -32601;
/// A parameter is missing or malformed; the message names it.
pub const INVALID_PARAMS: i32 = -32602;
/// The server failed: script timeout (as in the seed), unknown layer in a read (as in the
/// daemon), an encoding failure.
pub const INTERNAL_ERROR: i32 = -32603;

/// The server cannot take the request now: connection limit, script queue full, shutting down.
pub const BUSY: i32 = -32000;
/// The journal could not record an edit, or could not sync the group it was in; the edit was
/// taken back. Also every edit refused by a failed journal, and every reply withdrawn with a
/// group whose fsync failed (`docs/journal-format.md`, "A failed fsync").
pub const JOURNAL: i32 = -32001;
/// A file could not be read or written (load, save, export): path and reason in the message.
pub const FILE: i32 = -32002;
/// Replication: this node does not take edits (a read replica, or a leader that lost its
/// lease or whose records the stream refused); `data.leader` names the leader when known.
/// Also a leader's reply withdrawn because the stream did not acknowledge its edit.
pub const NOT_LEADER: i32 = -32003;
/// An edit refused by the world: limits, nothing to undo or redo.
pub const EDIT_REFUSED: i32 = -32010;
/// A script threw, or did not compile (inside a `success: false` result).
pub const SCRIPT_EXCEPTION: i32 = -32020;
/// A script used more memory than allowed.
pub const SCRIPT_MEMORY: i32 = -32021;
/// A script recursed too deep.
pub const SCRIPT_STACK: i32 = -32022;
/// A script made more edits than allowed.
pub const SCRIPT_EDITS: i32 = -32023;
/// A script logged more than allowed.
pub const SCRIPT_LOGS: i32 = -32024;
/// A script file could not be used: outside the script directories, missing, unreadable.
pub const SCRIPT_FILE: i32 = -32025;
/// A network client has not presented a valid token (`goxel.authenticate`) while tokens are
/// configured: nothing but `goxel.authenticate` is answered.
pub const NOT_AUTHENTICATED: i32 = -32030;
/// The connection's token does not allow the method (`docs/methods.md`, "Permissions").
pub const PERMISSION_DENIED: i32 = -32031;

/// `goxel.create_project` failed.
pub const CREATE_PROJECT: i32 = -1001;
/// `goxel.load_project` failed.
pub const LOAD_PROJECT: i32 = -1002;
/// `goxel.save_project` failed.
pub const SAVE_PROJECT: i32 = -1003;
/// `goxel.add_voxel` failed.
pub const ADD_VOXEL: i32 = -1004;
/// `goxel.remove_voxel`: unknown layer.
pub const REMOVE_VOXEL: i32 = -1005;
/// `goxel.get_voxel` failed.
pub const GET_VOXEL: i32 = -1006;
/// `goxel.export_model`: unknown format, or the export failed.
pub const EXPORT_MODEL: i32 = -1007;
/// `goxel.create_layer` failed.
pub const CREATE_LAYER: i32 = -1008;
/// `goxel.paint_voxels`: no voxel at the position, or an unknown layer.
pub const PAINT_VOXELS: i32 = -1009;
/// `goxel.flood_fill` failed.
pub const FLOOD_FILL: i32 = -1010;
/// `goxel.procedural_shape`: unknown shape type.
pub const PROCEDURAL_SHAPE: i32 = -1011;
/// `goxel.delete_layer`: no such layer.
pub const DELETE_LAYER: i32 = -1012;
/// `goxel.merge_layers`: unknown layer, or source = target.
pub const MERGE_LAYERS: i32 = -1013;
/// `goxel.set_layer_visibility`: no such layer.
pub const SET_LAYER_VISIBILITY: i32 = -1014;
/// `goxel.render_scene` failed.
pub const RENDER_SCENE: i32 = -1015;
/// `goxel.get_render_info`: the path is not a registered render.
pub const RENDER_NOT_REGISTERED: i32 = -1020;
/// `goxel.cleanup_render`: the path is not a registered render.
pub const CLEANUP_RENDER: i32 = -1021;

/// Every code with what it means, in the order `docs/methods.md` lists them.
pub const TABLE: &[(i32, &str)] = &[
    (PARSE_ERROR, "parse error"),
    (INVALID_REQUEST, "invalid request"),
    (METHOD_NOT_FOUND, "method not found"),
    (INVALID_PARAMS, "invalid params"),
    (INTERNAL_ERROR, "internal error"),
    (BUSY, "busy"),
    (JOURNAL, "journal write or sync failed"),
    (FILE, "file error"),
    (NOT_LEADER, "not the replication leader"),
    (EDIT_REFUSED, "edit refused"),
    (SCRIPT_EXCEPTION, "script exception"),
    (SCRIPT_MEMORY, "script memory limit"),
    (SCRIPT_STACK, "script stack limit"),
    (SCRIPT_EDITS, "script edit limit"),
    (SCRIPT_LOGS, "script log limit"),
    (SCRIPT_FILE, "script file unusable"),
    (NOT_AUTHENTICATED, "authentication required"),
    (PERMISSION_DENIED, "permission denied"),
    (CREATE_PROJECT, "create_project failed"),
    (LOAD_PROJECT, "load_project failed"),
    (SAVE_PROJECT, "save_project failed"),
    (ADD_VOXEL, "add_voxel failed"),
    (REMOVE_VOXEL, "remove_voxel failed"),
    (GET_VOXEL, "get_voxel failed"),
    (EXPORT_MODEL, "export_model failed"),
    (CREATE_LAYER, "create_layer failed"),
    (PAINT_VOXELS, "paint_voxels failed"),
    (FLOOD_FILL, "flood_fill failed"),
    (PROCEDURAL_SHAPE, "procedural_shape failed"),
    (DELETE_LAYER, "delete_layer failed"),
    (MERGE_LAYERS, "merge_layers failed"),
    (SET_LAYER_VISIBILITY, "set_layer_visibility failed"),
    (RENDER_SCENE, "render_scene failed"),
    (RENDER_NOT_REGISTERED, "render not registered"),
    (CLEANUP_RENDER, "cleanup_render failed"),
];
