//! The Goxel daemon's methods, on the world: one function per method, grouped by what they
//! touch. The socket server, batch mode and tests all call [`call`], so every road to the
//! world goes through the same code.
//!
//! Edits are applied at once, through [`Ctx::apply`], which also journals them: a method's
//! reply is built only after its edits are applied and recorded (read-your-writes).

mod analysis;
mod housekeeping;
mod layers;
pub mod scripts;
mod voxels;

use std::time::Instant;

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use systems::{BufferOutcome, CommandBuffer, EditError, HistoryMode, LayerId, Source, VoxelWorld};

use crate::codec::encode_buffer;
use crate::rpc::{Params, RpcError};
use crate::script_host::WorldHost;
use crate::scripting::ScriptPool;

pub use housekeeping::METHODS;

/// Error codes of the server range (-32000..-32099), in one place.
pub mod codes {
    /// A request the server cannot take now (connection limit, worker pool exhausted).
    pub const BUSY: i32 = -32000;
    /// The journal could not record an edit; the edit was taken back.
    pub const JOURNAL: i32 = -32001;
    /// An edit refused by the world: limits, last layer, nothing to undo.
    pub const EDIT_REFUSED: i32 = -32010;
}

/// Where applied buffers are recorded before their replies are sent.
pub trait Recorder {
    /// Records the buffer applied as `seq` (its encoding in `payload`). An error means the
    /// record is not on disk: the caller takes the buffer back.
    fn record(&mut self, seq: u64, source: Source, payload: &[u8]) -> Result<(), String>;
}

/// A recorder that keeps nothing (tests, and servers with the journal off).
pub struct NoJournal;

impl Recorder for NoJournal {
    fn record(&mut self, _seq: u64, _source: Source, _payload: &[u8]) -> Result<(), String> {
        Ok(())
    }
}

/// Facts about the server that status methods report.
#[derive(Clone, Copy, Default)]
pub struct ServerFacts<'a> {
    /// Open connections.
    pub connections: usize,
    /// Requests answered since start.
    pub requests: u64,
    /// The script pool, asked for its statistics only by the status methods.
    pub scripts: Option<&'a ScriptPool<WorldHost>>,
}

/// What a method works with.
pub struct Ctx<'a> {
    /// The world.
    pub world: &'a mut VoxelWorld,
    /// Where applied buffers are recorded.
    pub journal: &'a mut dyn Recorder,
    /// When the server started.
    pub started: Instant,
    /// Live figures for the status methods.
    pub facts: ServerFacts<'a>,
}

/// A method's answer.
pub enum Reply {
    /// The result object.
    Value(Value),
    /// A result already serialised.
    Raw(Box<RawValue>),
    /// `goxel.execute_script`: the caller runs it and answers later.
    Script(ScriptRequest),
}

/// A script run asked for by `goxel.execute_script`, validated.
#[derive(Debug, Clone)]
pub struct ScriptRequest {
    /// Inline source, or `None` when `path` is set.
    pub script: Option<String>,
    /// Path to load inside the script directories.
    pub path: Option<String>,
    /// Name for messages and stack traces.
    pub name: Option<String>,
    /// Timeout in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Queue priority (higher first).
    pub priority: i32,
    /// Seed of `Math.random`.
    pub seed: Option<u64>,
}

/// Serialises a typed result.
pub fn raw<T: Serialize>(value: &T) -> Result<Reply, RpcError> {
    serde_json::value::to_raw_value(value)
        .map(Reply::Raw)
        .map_err(|e| RpcError::internal(e.to_string()))
}

impl Ctx<'_> {
    /// Applies a buffer and records it. A refused buffer or a failed record leaves the world
    /// as it was.
    pub fn apply_recorded(&mut self, buffer: CommandBuffer) -> Result<BufferOutcome, ApplyError> {
        let mode = buffer.history;
        let source = buffer.source;
        let mut payload = Vec::new();
        if matches!(mode, HistoryMode::Record | HistoryMode::Skip) {
            encode_buffer(&buffer, &mut payload);
        }
        let applied = self.world.apply(buffer);
        let outcome = applied.result.clone().map_err(ApplyError::Edit)?;
        if let Some(effective) = &applied.effective {
            encode_buffer(effective, &mut payload);
        }
        if let Err(e) = self.journal.record(outcome.seq, source, &payload) {
            self.world.revert_last(mode, &applied);
            return Err(ApplyError::Journal(e));
        }
        Ok(outcome)
    }

    /// Applies a buffer and maps refusals to JSON-RPC errors, naming `field` for bad values.
    pub fn edit(&mut self, buffer: CommandBuffer, field: &str) -> Result<BufferOutcome, RpcError> {
        self.apply_recorded(buffer).map_err(|e| match e {
            ApplyError::Edit(e) => edit_error(e, field),
            ApplyError::Journal(msg) => RpcError::server(
                codes::JOURNAL,
                format!("journal write failed, edit not applied: {msg}"),
                None,
            ),
        })
    }

    /// The layer named by the optional `layer_id` parameter, or the active layer; an unknown
    /// id is `-32602`.
    pub fn layer(&self, params: &Params<'_>, position: usize) -> Result<LayerId, RpcError> {
        let snapshot = self.world.snapshot();
        match params.layer_id(position)? {
            None => Ok(snapshot.active_layer),
            Some(id) => {
                if snapshot.layer(LayerId(id)).is_some() {
                    Ok(LayerId(id))
                } else {
                    Err(RpcError::invalid_params(
                        "layer_id",
                        format!("no layer with id {id}"),
                    ))
                }
            }
        }
    }
}

/// Why [`Ctx::apply_recorded`] failed.
#[derive(Debug)]
pub enum ApplyError {
    /// The world refused the buffer.
    Edit(EditError),
    /// The journal could not record it (the world was restored).
    Journal(String),
}

/// Maps a world refusal to a JSON-RPC error; `field` is the parameter to blame for bad values.
pub fn edit_error(e: EditError, field: &str) -> RpcError {
    let message = e.to_string();
    match e {
        EditError::OutOfBounds { pos, min, max } => RpcError::invalid_params(
            field,
            format!(
                "position [{}, {}, {}] is outside the world bounds [{}, {}, {}]..[{}, {}, {}]",
                pos.x, pos.y, pos.z, min.x, min.y, min.z, max.x, max.y, max.z
            ),
        ),
        EditError::TooManyVoxels { count, limit } => RpcError::invalid_params(field, message)
            .with_data(serde_json::json!({ "count": count, "limit": limit })),
        EditError::UnknownLayer(_) => RpcError::invalid_params("layer_id", message),
        EditError::MergeIntoSelf(_) => RpcError::invalid_params("target_id", message),
        EditError::FloodFillTooLarge { limit } => RpcError::server(
            codes::EDIT_REFUSED,
            message,
            Some(serde_json::json!({ "limit": limit })),
        ),
        EditError::LastLayer | EditError::NothingToUndo | EditError::NothingToRedo => {
            RpcError::server(codes::EDIT_REFUSED, message, None)
        }
    }
}

/// Runs method `method` with `params`.
pub fn call(ctx: &mut Ctx<'_>, method: &str, params: &Params<'_>) -> Result<Reply, RpcError> {
    match method {
        "goxel.add_voxel" => voxels::add_voxel(ctx, params),
        "goxel.remove_voxel" => voxels::remove_voxel(ctx, params),
        "goxel.get_voxel" => voxels::get_voxel(ctx, params),
        "goxel.paint_voxels" => voxels::paint_voxels(ctx, params),
        "goxel.flood_fill" => voxels::flood_fill(ctx, params),
        "goxel.procedural_shape" => voxels::procedural_shape(ctx, params),
        "goxel.batch_operations" => voxels::batch_operations(ctx, params),
        "goxel.get_voxels_region" => analysis::get_voxels_region(ctx, params),
        "goxel.get_layer_voxels" => analysis::get_layer_voxels(ctx, params),
        "goxel.get_bounding_box" => analysis::get_bounding_box(ctx, params),
        "goxel.get_color_histogram" => analysis::get_color_histogram(ctx, params),
        "goxel.find_voxels_by_color" => analysis::find_voxels_by_color(ctx, params),
        "goxel.get_unique_colors" => analysis::get_unique_colors(ctx, params),
        "goxel.create_project" => layers::create_project(ctx, params),
        "goxel.list_layers" => layers::list_layers(ctx, params),
        "goxel.create_layer" => layers::create_layer(ctx, params),
        "goxel.delete_layer" => layers::delete_layer(ctx, params),
        "goxel.merge_layers" => layers::merge_layers(ctx, params),
        "goxel.set_layer_visibility" => layers::set_layer_visibility(ctx, params),
        "goxel.set_active_layer" => layers::set_active_layer(ctx, params),
        "goxel.undo" => layers::undo(ctx, params, true),
        "goxel.redo" => layers::undo(ctx, params, false),
        "goxel.get_status" | "status" => housekeeping::status(ctx, params),
        "goxel.execute_script" => housekeeping::execute_script(params),
        "ping" => Ok(Reply::Value(Value::String("pong".into()))),
        "echo" => housekeeping::echo(params),
        "version" => housekeeping::version(),
        "list_methods" => Ok(Reply::Value(serde_json::json!(METHODS))),
        other => Err(RpcError::method_not_found(other)),
    }
}
