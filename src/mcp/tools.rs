//! The MCP tools: one typed parameter struct per voxeld method, used twice — its JSON Schema
//! (`schemars`) is the tool's `inputSchema`, and a call's arguments are read into it and written
//! back out as the method's JSON-RPC params. So a tool's schema and what the bridge sends cannot
//! drift apart, and arguments the schema refuses (a string for `x`, a misspelt field) are
//! answered with a `-32602` naming the field before anything reaches the server.
//!
//! The descriptions are the method table's (`methods::table`), so `list_methods` and
//! `tools/list` say the same thing.

use std::sync::Arc;

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::rpc::{COLOR_EXPECTED, RpcError};

/// How a tool's reply becomes MCP content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    /// The result as JSON text (and as structured content).
    Json,
    /// A script's result: `success: false` (the script threw or hit a limit) is a tool error.
    Script,
    /// A base64 render: the PNG as image content, the rest as JSON text.
    Image,
}

/// One MCP tool and the method it calls.
pub struct ToolDef {
    /// The tool's name (`add_voxel`).
    pub name: &'static str,
    /// The JSON-RPC method it calls (`goxel.add_voxel`).
    pub method: &'static str,
    /// A description when the method table's does not fit the tool.
    pub description: Option<&'static str>,
    /// The JSON Schema of the arguments, from the parameter struct.
    pub schema: fn() -> Arc<JsonObject>,
    /// Reads the arguments into the parameter struct and writes the JSON-RPC params.
    pub params: fn(JsonObject) -> Result<Value, RpcError>,
    /// How the reply is shown.
    pub reply: ReplyKind,
}

impl ToolDef {
    /// The one-line description: the override, else the method table's.
    pub fn description(&self) -> &'static str {
        self.description
            .or_else(|| method(self.method).map(|m| m.description))
            .unwrap_or(self.method)
    }
}

/// The method table's entry for `name`.
fn method(name: &str) -> Option<&'static crate::methods::Method> {
    crate::methods::METHODS.iter().find(|m| m.name == name)
}

/// A parameter struct: its schema is the tool's input schema, and [`ToolParams::into_params`]
/// writes the method's params (by name; absent options are left out so the server's defaults
/// apply).
pub trait ToolParams: DeserializeOwned + Serialize + JsonSchema + 'static {
    /// The JSON-RPC params for these arguments.
    fn into_params(self) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            map.retain(|_, v| !v.is_null());
        }
        value
    }
}

const fn tool<P: ToolParams>(
    name: &'static str,
    method: &'static str,
    reply: ReplyKind,
) -> ToolDef {
    ToolDef {
        name,
        method,
        description: None,
        schema: rmcp::handler::server::common::schema_for_type::<P>,
        params: build::<P>,
        reply,
    }
}

const fn json<P: ToolParams>(name: &'static str, method: &'static str) -> ToolDef {
    tool::<P>(name, method, ReplyKind::Json)
}

/// Reads `arguments` as `P` (naming the field that does not fit) and writes the params.
pub fn build<P: ToolParams>(arguments: JsonObject) -> Result<Value, RpcError> {
    match serde_path_to_error::deserialize::<_, P>(Value::Object(arguments)) {
        Ok(p) => Ok(p.into_params()),
        Err(e) => {
            let field = e.path().to_string();
            let why = e.into_inner().to_string();
            Err(if field.is_empty() || field == "." {
                RpcError::invalid_params_message(why)
            } else {
                RpcError::invalid_params(&field, why)
            })
        }
    }
}

/// Every tool, grouped as docs/methods.md groups the methods.
pub const TOOLS: &[ToolDef] = &[
    // Voxels.
    json::<AddVoxel>("add_voxel", "goxel.add_voxel"),
    json::<AddVoxels>("add_voxels", "add_voxels"),
    json::<VoxelAt>("remove_voxel", "goxel.remove_voxel"),
    json::<VoxelAt>("get_voxel", "goxel.get_voxel"),
    json::<PaintVoxels>("paint_voxels", "goxel.paint_voxels"),
    json::<FloodFill>("flood_fill", "goxel.flood_fill"),
    json::<BatchOperations>("batch_operations", "goxel.batch_operations"),
    json::<NoParams>("undo", "goxel.undo"),
    json::<NoParams>("redo", "goxel.redo"),
    // Shapes.
    json::<ProceduralShape>("procedural_shape", "goxel.procedural_shape"),
    // Layers.
    json::<NoParams>("list_layers", "goxel.list_layers"),
    json::<CreateLayer>("create_layer", "goxel.create_layer"),
    json::<DeleteLayer>("delete_layer", "goxel.delete_layer"),
    json::<MergeLayers>("merge_layers", "goxel.merge_layers"),
    json::<SetLayerVisibility>("set_layer_visibility", "goxel.set_layer_visibility"),
    json::<LayerRef>("set_active_layer", "goxel.set_active_layer"),
    // Analysis.
    json::<NoParams>("get_status", "goxel.get_status"),
    json::<VoxelsRegion>("get_voxels_region", "goxel.get_voxels_region"),
    json::<LayerVoxels>("get_layer_voxels", "goxel.get_layer_voxels"),
    json::<BoundingBox>("get_bounding_box", "goxel.get_bounding_box"),
    json::<ColorHistogram>("get_color_histogram", "goxel.get_color_histogram"),
    json::<FindVoxelsByColor>("find_voxels_by_color", "goxel.find_voxels_by_color"),
    json::<UniqueColors>("get_unique_colors", "goxel.get_unique_colors"),
    // Files.
    json::<CreateProject>("create_project", "goxel.create_project"),
    json::<LoadProject>("load_project", "goxel.load_project"),
    json::<FilePath>("save_project", "goxel.save_project"),
    json::<ExportModel>("export_model", "goxel.export_model"),
    // Scripts.
    tool::<ExecuteScript>("execute_script", "goxel.execute_script", ReplyKind::Script),
    // Render.
    ToolDef {
        description: Some(
            "Render the visible layers to a PNG and return it as an image (isometric by default)",
        ),
        ..tool::<RenderScene>("render_scene", "goxel.render_scene", ReplyKind::Image)
    },
];

/// The tool called `name`.
pub fn find(name: &str) -> Option<&'static ToolDef> {
    TOOLS.iter().find(|t| t.name == name)
}

// ---------------------------------------------------------------------------------------------
// Argument types shared by several tools.

/// A colour: `[r, g, b]` or `[r, g, b, a]` (0..255; alpha 255 when absent, alpha 0 is an empty
/// voxel), or `"#RRGGBB"` / `"#RRGGBBAA"`.
/// (The type only describes the schema; arguments are read as [`Rgba`].)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Colour {
    /// Channels, each 0..255.
    Channels(#[schemars(length(min = 3, max = 4))] Vec<u8>),
    /// Hex digits after a `#`.
    Hex(#[schemars(regex(pattern = r"^#([0-9a-fA-F]{6}|[0-9a-fA-F]{8})$"))] String),
}

/// Read with the server's own colour parser, so the MCP layer takes what the socket takes;
/// always written as `[r, g, b, a]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgba(pub [u8; 4]);

impl Serialize for Rgba {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Rgba {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let raw = serde_json::value::to_raw_value(&value).map_err(serde::de::Error::custom)?;
        crate::rpc::parse_color(&raw, "color")
            .map(Rgba)
            .map_err(|_| serde::de::Error::custom(COLOR_EXPECTED))
    }
}

impl JsonSchema for Rgba {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Colour".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        Colour::json_schema(generator)
    }
}

/// An inclusive box.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// The low corner `[x, y, z]`.
    pub min: [i32; 3],
    /// The high corner `[x, y, z]`, inclusive.
    pub max: [i32; 3],
}

/// No arguments.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}
impl ToolParams for NoParams {}

// ---------------------------------------------------------------------------------------------
// Voxels.

/// Add (or with alpha 0, clear) one voxel.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddVoxel {
    /// X coordinate.
    pub x: i32,
    /// Y coordinate.
    pub y: i32,
    /// Z coordinate (up).
    pub z: i32,
    /// The colour; white when absent.
    pub color: Option<Rgba>,
    /// The layer; the active layer when absent, 0 or -1.
    pub layer_id: Option<i64>,
}
impl ToolParams for AddVoxel {}

/// One voxel of `add_voxels`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VoxelEntry {
    /// X coordinate.
    pub x: i32,
    /// Y coordinate.
    pub y: i32,
    /// Z coordinate (up).
    pub z: i32,
    /// Red, 0..255.
    pub r: u8,
    /// Green, 0..255.
    pub g: u8,
    /// Blue, 0..255.
    pub b: u8,
    /// Alpha, 0..255 (255 when absent; 0 clears).
    pub a: Option<u8>,
}

/// Add many voxels to the active layer as one edit.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddVoxels {
    /// The voxels.
    pub voxels: Vec<VoxelEntry>,
}
impl ToolParams for AddVoxels {}

/// A position in a layer.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VoxelAt {
    /// X coordinate.
    pub x: i32,
    /// Y coordinate.
    pub y: i32,
    /// Z coordinate (up).
    pub z: i32,
    /// The layer; the active layer when absent, 0 or -1.
    pub layer_id: Option<i64>,
}
impl ToolParams for VoxelAt {}

/// Recolour existing voxels (empty positions are skipped).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaintVoxels {
    /// The positions `[x, y, z]` to recolour.
    pub positions: Vec<[i32; 3]>,
    /// The new colour.
    pub color: Rgba,
    /// The layer; layer 1 when absent.
    pub layer_id: Option<i64>,
}
impl ToolParams for PaintVoxels {}

/// Recolour the 6-connected region sharing the start voxel's colour.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FloodFill {
    /// Start X.
    pub x: i32,
    /// Start Y.
    pub y: i32,
    /// Start Z.
    pub z: i32,
    /// The fill colour.
    pub color: Rgba,
    /// The layer; layer 1 when absent.
    pub layer_id: Option<i64>,
    /// Optional low corner bounding the fill.
    pub min: Option<[i32; 3]>,
    /// Optional high corner bounding the fill.
    pub max: Option<[i32; 3]>,
}
impl ToolParams for FloodFill {}

/// What one batch operation does.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OperationType {
    /// Set the voxel to `color`.
    AddVoxel,
    /// Clear the voxel.
    RemoveVoxel,
    /// Recolour the voxel if it exists.
    PaintVoxel,
}

/// One operation of a batch.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// What to do.
    #[serde(rename = "type")]
    pub kind: OperationType,
    /// X coordinate.
    pub x: i32,
    /// Y coordinate.
    pub y: i32,
    /// Z coordinate (up).
    pub z: i32,
    /// The colour (for add_voxel and paint_voxel).
    pub color: Option<Rgba>,
}

/// Apply many voxel operations, in order, as one edit.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchOperations {
    /// The operations.
    pub operations: Vec<Operation>,
    /// The layer; layer 1 when absent.
    pub layer_id: Option<i64>,
}
impl ToolParams for BatchOperations {}

// ---------------------------------------------------------------------------------------------
// Shapes.

/// A procedural solid.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ShapeKind {
    /// A box.
    Cube,
    /// An ellipsoid.
    Sphere,
    /// A cylinder along z.
    Cylinder,
    /// A cone along z, apex up.
    Cone,
    /// A square pyramid, apex up.
    Pyramid,
}

/// A shape's size: one edge for all axes, or `[sx, sy, sz]`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Size {
    /// The same size on every axis.
    Uniform(#[schemars(range(min = 1, max = 2097152))] i64),
    /// Per axis.
    PerAxis([i64; 3]),
}

/// Draw a solid inscribed in the box of `size` voxels around `center`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProceduralShape {
    /// The solid.
    pub shape: ShapeKind,
    /// The size in voxels (default 10).
    pub size: Option<Size>,
    /// The centre `[x, y, z]` (default the origin).
    pub center: Option<[i32; 3]>,
    /// The colour (default black).
    pub color: Option<Rgba>,
    /// The layer; layer 1 when absent.
    pub layer_id: Option<i64>,
}
impl ToolParams for ProceduralShape {}

// ---------------------------------------------------------------------------------------------
// Layers.

/// Create a layer (it becomes the active one unless `activate` is false).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLayer {
    /// The name (default "New Layer").
    pub name: Option<String>,
    /// Whether it is shown (default true).
    pub visible: Option<bool>,
    /// Whether it becomes the active layer (default true).
    pub activate: Option<bool>,
}
impl ToolParams for CreateLayer {}

/// A layer by id or by name.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteLayer {
    /// The layer's id.
    pub layer_id: Option<i64>,
    /// The layer's name, when no id is given.
    pub layer_name: Option<String>,
}
impl ToolParams for DeleteLayer {}

/// Draw one layer over another and delete it.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeLayers {
    /// The layer merged (and deleted).
    pub source_layer_id: i64,
    /// The layer drawn into; the active layer when absent.
    pub target_layer_id: Option<i64>,
}
impl ToolParams for MergeLayers {}

/// Show or hide a layer.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetLayerVisibility {
    /// The layer.
    pub layer_id: i64,
    /// Shown (default true).
    pub visible: Option<bool>,
}
impl ToolParams for SetLayerVisibility {}

/// One layer.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LayerRef {
    /// The layer's id.
    pub layer_id: i64,
}
impl ToolParams for LayerRef {}

// ---------------------------------------------------------------------------------------------
// Analysis.

/// The voxels inside a box, a page at a time.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VoxelsRegion {
    /// The low corner `[x, y, z]`.
    pub min: [i32; 3],
    /// The high corner `[x, y, z]`, inclusive.
    pub max: [i32; 3],
    /// The layer (default -1, the active one).
    pub layer_id: Option<i64>,
    /// Only voxels of this colour (alpha 255 matches any alpha).
    pub color_filter: Option<Rgba>,
    /// Voxels to skip (default 0).
    pub offset: Option<i64>,
    /// Voxels per reply (default 10000).
    pub limit: Option<i64>,
}
impl ToolParams for VoxelsRegion {}

/// Every voxel of a layer, a page at a time.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LayerVoxels {
    /// The layer (default -1, the active one).
    pub layer_id: Option<i64>,
    /// Only voxels of this colour (alpha 255 matches any alpha).
    pub color_filter: Option<Rgba>,
    /// Voxels to skip (default 0).
    pub offset: Option<i64>,
    /// Voxels per reply (default 10000).
    pub limit: Option<i64>,
}
impl ToolParams for LayerVoxels {}

/// The bounding box of a layer's (or every layer's) voxels.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BoundingBox {
    /// The layer: -1 the active one (default), -2 all layers.
    pub layer_id: Option<i64>,
    /// Exact (default true) or aligned to 16³ chunks.
    pub exact: Option<bool>,
}
impl ToolParams for BoundingBox {}

/// Voxel counts per colour.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColorHistogram {
    /// The layer: -1 the active one (default), -2 all layers.
    pub layer_id: Option<i64>,
    /// Only this box.
    pub region: Option<Region>,
    /// Bin each channel into steps of this size (> 1).
    pub bin_size: Option<i64>,
    /// Most frequent first (default true), else by colour.
    pub sort_by_count: Option<bool>,
    /// Keep the first N bins.
    pub top_n: Option<i64>,
}
impl ToolParams for ColorHistogram {}

/// Channel tolerance: one value for every channel, or per channel.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Tolerance {
    /// Every channel, alpha included.
    All(u8),
    /// `[r, g, b]` or `[r, g, b, a]`.
    PerChannel(#[schemars(length(min = 3, max = 4))] Vec<u8>),
}

/// The voxels of a colour.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindVoxelsByColor {
    /// The colour looked for.
    pub color: Rgba,
    /// How far each channel may differ.
    pub tolerance: Option<Tolerance>,
    /// The layer: -1 the active one (default), -2 all layers.
    pub layer_id: Option<i64>,
    /// Only this box.
    pub region: Option<Region>,
    /// At most this many locations (default 1000; 0: no limit).
    pub max_results: Option<i64>,
    /// List the locations (default true).
    pub include_locations: Option<bool>,
}
impl ToolParams for FindVoxelsByColor {}

/// The distinct colours.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UniqueColors {
    /// The layer: -1 the active one (default), -2 all layers.
    pub layer_id: Option<i64>,
    /// Only this box.
    pub region: Option<Region>,
    /// Merge colours closer than `merge_threshold`.
    pub merge_similar: Option<bool>,
    /// The merge distance (default 10).
    pub merge_threshold: Option<i64>,
    /// Most frequent first (default false: by r, g, b, a).
    pub sort_by_count: Option<bool>,
}
impl ToolParams for UniqueColors {}

// ---------------------------------------------------------------------------------------------
// Files.

/// Replace the world by one empty layer.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    /// The project name (default "New Project").
    pub name: Option<String>,
    /// Echoed width (default 64; it does not bound the world).
    pub width: Option<i64>,
    /// Echoed height (default 64).
    pub height: Option<i64>,
    /// Echoed depth (default 64).
    pub depth: Option<i64>,
}
impl ToolParams for CreateProject {}

/// A world file format.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// Goxel.
    Gox,
    /// MagicaVoxel.
    Vox,
    /// voxeld's snapshot.
    Vxs,
    /// Wavefront mesh (+ .mtl), write only.
    Obj,
    /// Binary PLY mesh, write only.
    Ply,
}

/// Load a world file.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadProject {
    /// Relative to the server's data directory, or absolute under `files.roots`.
    pub path: String,
    /// gox, vox or vxs (default: from the file's bytes, else the extension).
    pub format: Option<FileFormat>,
}
impl ToolParams for LoadProject {}

/// Write the world as a Goxel .gox file.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilePath {
    /// Relative to the server's data directory, or absolute under `files.roots`.
    pub path: String,
}
impl ToolParams for FilePath {}

/// Export the world.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportModel {
    /// Relative to the server's data directory, or absolute under `files.roots`.
    pub path: String,
    /// The format (default: from the extension).
    pub format: Option<FileFormat>,
}
impl ToolParams for ExportModel {}

// ---------------------------------------------------------------------------------------------
// Scripts.

/// Run JavaScript on the world (global `goxel`: addVoxel, fillBox, fillSphere, getVoxel, ...);
/// its edits commit as one undo step if it succeeds.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecuteScript {
    /// The script's source.
    pub script: Option<String>,
    /// A script file inside the server's script directories (when `script` is absent).
    pub path: Option<String>,
    /// The name shown in stack traces.
    pub name: Option<String>,
    /// Time limit in milliseconds (default 30000).
    pub timeout_ms: Option<i64>,
    /// Seeds `Math.random`.
    pub seed: Option<u64>,
}
impl ToolParams for ExecuteScript {}

// ---------------------------------------------------------------------------------------------
// Render.

/// A camera preset; the model fills the frame.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CameraPreset {
    /// Looking along +y.
    Front,
    /// Looking along -y.
    Back,
    /// Looking along +x.
    Left,
    /// Looking along -x.
    Right,
    /// Looking down.
    Top,
    /// Looking up.
    Bottom,
    /// From a corner, above.
    Isometric,
}

/// A projection.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Projection {
    /// With a field of view.
    Perspective,
    /// Parallel.
    Orthographic,
}

/// An explicit camera.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Camera {
    /// The eye `[x, y, z]`.
    pub position: [f64; 3],
    /// The point looked at.
    pub target: [f64; 3],
    /// Up (default `[0, 0, 1]`).
    pub up: Option<[f64; 3]>,
    /// perspective (default) or orthographic.
    pub projection: Option<Projection>,
    /// Perspective field of view in degrees (default 45).
    pub fov: Option<f64>,
    /// Orthographic view height in world units.
    pub height: Option<f64>,
}

/// Render the visible layers; the PNG comes back as image content.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RenderScene {
    /// Width in pixels, 1..8192 (default 512).
    #[schemars(range(min = 1, max = 8192))]
    pub width: Option<u32>,
    /// Height in pixels, 1..8192 (default 512).
    #[schemars(range(min = 1, max = 8192))]
    pub height: Option<u32>,
    /// The view (default isometric); ignored when `camera` is given.
    pub camera_preset: Option<CameraPreset>,
    /// An explicit camera.
    pub camera: Option<Camera>,
    /// The background `[r, g, b]` or `[r, g, b, a]` (alpha 0: transparent).
    pub background_color: Option<Rgba>,
    /// Outline silhouettes and creases (default true).
    pub outline: Option<bool>,
    /// Antialias (default true).
    pub antialias: Option<bool>,
}

impl ToolParams for RenderScene {
    fn into_params(self) -> Value {
        let mut options = json!({"return_mode": "base64"});
        if let Some(c) = self.background_color {
            options["background_color"] = json!(c.0);
        }
        let mut params = json!({"options": options});
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                params[k] = v;
            }
        };
        put("width", self.width.map(Value::from));
        put("height", self.height.map(Value::from));
        put("camera_preset", self.camera_preset.map(|p| json!(p)));
        put(
            "camera",
            self.camera
                .map(|c| serde_json::to_value(c).unwrap_or_default()),
        );
        put("outline", self.outline.map(Value::from));
        put("antialias", self.antialias.map(Value::from));
        params
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: Value) -> JsonObject {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn every_tool_calls_a_listed_method_and_has_an_object_schema() {
        let mut names: Vec<_> = TOOLS.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TOOLS.len());
        for t in TOOLS {
            assert!(method(t.method).is_some(), "{}", t.method);
            assert_eq!((t.schema)()["type"], "object", "{}", t.name);
            assert!(!t.description().is_empty());
        }
    }

    #[test]
    fn add_voxel_schema_and_params() {
        let schema = (find("add_voxel").unwrap().schema)();
        let required: Vec<_> = schema["required"].as_array().unwrap().iter().collect();
        assert_eq!(required, ["x", "y", "z"]);
        assert!(schema["properties"]["color"].is_object());
        let params = build::<AddVoxel>(args(json!({"x": 1, "y": 2, "z": 3, "color": "#ff000080"})));
        assert_eq!(
            params.unwrap(),
            json!({"x": 1, "y": 2, "z": 3, "color": [255, 0, 0, 128]})
        );
    }

    #[test]
    fn bad_arguments_name_the_field() {
        let e = build::<AddVoxel>(args(json!({"x": "1", "y": 2, "z": 3}))).unwrap_err();
        assert_eq!(e.code, -32602);
        assert!(
            e.message.starts_with("invalid params: field 'x': "),
            "{e:?}"
        );
        let e = build::<AddVoxel>(args(json!({"x": 1, "y": 2, "z": 3, "color": "red"})));
        assert_eq!(
            e.unwrap_err().message,
            format!("invalid params: field 'color': {COLOR_EXPECTED}")
        );
        let e = build::<AddVoxel>(args(json!({"x": 1, "y": 2, "z": 3, "colour": [1, 2, 3]})));
        assert!(e.unwrap_err().message.contains("unknown field `colour`"));
        let e = build::<AddVoxel>(args(json!({"y": 2, "z": 3}))).unwrap_err();
        assert_eq!(e.message, "invalid params: missing field `x`");
    }

    #[test]
    fn render_asks_for_base64() {
        let params = build::<RenderScene>(args(json!({
            "width": 64, "camera_preset": "top", "background_color": [0, 0, 0, 0]
        })))
        .unwrap();
        assert_eq!(
            params,
            json!({"width": 64, "camera_preset": "top",
                   "options": {"return_mode": "base64", "background_color": [0, 0, 0, 0]}})
        );
    }
}
