//! The MCP side: `tools/list`, `tools/call`, `resources/list` and `resources/read` answered by
//! calling voxeld methods through the [`Bridge`].
//!
//! The built-in tools are [`super::tools::TOOLS`]; each library script (`goxel.list_scripts`)
//! is one more tool, `script_<name>`, listed afresh on every `tools/list` so a script added to
//! a script directory shows up without a restart. A JSON-RPC error, and a script that failed,
//! come back as a tool result with `isError: true` carrying the code and the message, so an
//! agent reads why and can try again; only an unknown tool name is a protocol error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rmcp::ErrorData as McpError;
use rmcp::RoleServer;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use serde_json::{Value, json};

use super::bridge::{Bridge, CallError};
use super::tools::{self, ReplyKind};
use crate::rpc::{RpcError, codes};

/// Tool names of library scripts start with this.
pub const SCRIPT_TOOL_PREFIX: &str = "script_";

/// The resources: URI, name, method, description.
const RESOURCES: &[(&str, &str, &str, &str)] = &[
    (
        "voxeld://status",
        "status",
        "goxel.get_status",
        "The world's status: voxel and layer counts, extent, seq, world hash, journal state",
    ),
    (
        "voxeld://layers",
        "layers",
        "goxel.list_layers",
        "The layers: id, name, visibility, voxel count, which one is active",
    ),
];

/// The MCP server handler.
pub struct VoxeldMcp {
    bridge: Arc<Bridge>,
    /// Script tool name → script name, from the last `tools/list` (names with characters a
    /// tool name cannot hold are spelt with `_`).
    script_names: Mutex<HashMap<String, String>>,
}

impl VoxeldMcp {
    /// A handler calling through `bridge`.
    pub fn new(bridge: Arc<Bridge>) -> VoxeldMcp {
        VoxeldMcp {
            bridge,
            script_names: Mutex::new(HashMap::new()),
        }
    }

    /// The tools of the library scripts; none when the server has no script library.
    async fn script_tools(&self) -> Vec<Tool> {
        let listed = match self.bridge.call("goxel.list_scripts", Value::Null).await {
            Ok(listed) => listed,
            Err(CallError::Rpc(e)) if e.code == codes::METHOD_NOT_FOUND => return Vec::new(),
            Err(e) => {
                tracing::warn!(error = %e, "goxel.list_scripts failed; no script tools");
                return Vec::new();
            }
        };
        let scripts = listed
            .get("scripts")
            .and_then(Value::as_array)
            .or(listed.as_array())
            .cloned()
            .unwrap_or_default();
        let mut names = HashMap::new();
        let mut out = Vec::new();
        for script in scripts {
            let Some(name) = script.get("name").and_then(Value::as_str) else {
                continue;
            };
            let tool_name = script_tool_name(name);
            let description = script
                .get("description")
                .and_then(Value::as_str)
                .filter(|d| !d.is_empty())
                .map_or_else(|| format!("Run the library script {name}"), str::to_owned);
            let schema = match script.get("parameters") {
                Some(Value::Object(schema)) if schema.get("type") == Some(&json!("object")) => {
                    schema.clone()
                }
                _ => json!({"type": "object"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            };
            names.insert(tool_name.clone(), name.to_owned());
            out.push(Tool::new(tool_name, description, Arc::new(schema)));
        }
        if let Ok(mut known) = self.script_names.lock() {
            *known = names;
        }
        out
    }

    async fn call(&self, name: &str, arguments: JsonObject) -> Result<CallToolResult, McpError> {
        let (method, params, reply) = if let Some(tool) = tools::find(name) {
            match (tool.params)(arguments) {
                Ok(params) => (tool.method, params, tool.reply),
                Err(e) => return Ok(rpc_error(&e)),
            }
        } else if let Some(rest) = name.strip_prefix(SCRIPT_TOOL_PREFIX) {
            let script = self
                .script_names
                .lock()
                .ok()
                .and_then(|known| known.get(name).cloned())
                .unwrap_or_else(|| rest.to_owned());
            let params = json!({"name": script, "args": Value::Object(arguments)});
            ("goxel.run_script", params, ReplyKind::Script)
        } else {
            return Err(McpError::invalid_params(
                format!("unknown tool '{name}'"),
                None,
            ));
        };
        Ok(match self.bridge.call(method, params).await {
            Ok(result) => tool_result(result, reply),
            Err(CallError::Rpc(e)) => rpc_error(&e),
            Err(CallError::Transport(why)) => CallToolResult::error(vec![ContentBlock::text(why)]),
        })
    }
}

impl rmcp::ServerHandler for VoxeldMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new("voxeld", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "A voxel world (z up, integer coordinates, colours [r,g,b,a]). Edit it with \
             add_voxel, procedural_shape, execute_script and the layer tools; look at it with \
             render_scene (an image) and the analysis tools. Every edit is one undo step.",
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let mut list: Vec<Tool> = tools::TOOLS
            .iter()
            .map(|t| Tool::new(t.name, t.description(), (t.schema)()))
            .collect();
        list.extend(self.script_tools().await);
        Ok(ListToolsResult::with_all_items(list))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let arguments = request.arguments.unwrap_or_default();
        self.call(&request.name, arguments).await.map(Into::into)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        Ok(ListResourcesResult::with_all_items(
            RESOURCES
                .iter()
                .map(|(uri, name, _, description)| {
                    Resource::new(*uri, *name)
                        .with_description(*description)
                        .with_mime_type("application/json")
                })
                .collect(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let Some((uri, _, method, _)) = RESOURCES.iter().find(|r| r.0 == request.uri) else {
            return Err(McpError::resource_not_found(
                format!("no resource '{}'", request.uri),
                None,
            ));
        };
        match self.bridge.call(method, Value::Null).await {
            Ok(result) => Ok(ReadResourceResult::new(vec![
                ResourceContents::text(result.to_string(), *uri).with_mime_type("application/json"),
            ])
            .into()),
            Err(CallError::Rpc(e)) => Err(McpError::internal_error(
                format!("{method}: {}", e.message),
                Some(json!({"code": e.code, "data": e.data})),
            )),
            Err(CallError::Transport(why)) => Err(McpError::internal_error(why, None)),
        }
    }
}

/// `script_<name>`, with characters outside `[A-Za-z0-9_-]` spelt `_` (MCP tool names).
pub fn script_tool_name(script: &str) -> String {
    let mut name = String::from(SCRIPT_TOOL_PREFIX);
    name.extend(script.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            c
        } else {
            '_'
        }
    }));
    name
}

/// A method's result as tool content.
fn tool_result(mut result: Value, reply: ReplyKind) -> CallToolResult {
    match reply {
        ReplyKind::Script if result.get("success") == Some(&Value::Bool(false)) => {
            let code = result.get("code").and_then(Value::as_i64).unwrap_or(0);
            let message = result
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("script failed")
                .to_owned();
            error_result(code, &message, Some(result))
        }
        ReplyKind::Image => {
            let data = result
                .as_object_mut()
                .and_then(|r| r.remove("data"))
                .and_then(|d| d.as_str().map(str::to_owned));
            let Some(data) = data else {
                return error_result(
                    i64::from(codes::INTERNAL_ERROR),
                    "render_scene replied without base64 data",
                    Some(result),
                );
            };
            let mut out = CallToolResult::success(vec![
                ContentBlock::image(data, "image/png"),
                ContentBlock::text(result.to_string()),
            ]);
            out.structured_content = Some(result);
            out
        }
        ReplyKind::Json | ReplyKind::Script => {
            let mut out = CallToolResult::success(vec![ContentBlock::text(result.to_string())]);
            if result.is_object() {
                out.structured_content = Some(result);
            }
            out
        }
    }
}

fn rpc_error(e: &RpcError) -> CallToolResult {
    error_result(i64::from(e.code), &e.message, e.data.clone())
}

/// A tool error: the text an agent reads, and `{error: {code, message, data}}` as structured
/// content for programs.
fn error_result(code: i64, message: &str, data: Option<Value>) -> CallToolResult {
    let mut text = format!("JSON-RPC error {code}: {message}");
    if let Some(data) = &data {
        text.push_str(&format!("\ndata: {data}"));
    }
    let mut error = json!({"code": code, "message": message});
    if let Some(data) = data {
        error["data"] = data;
    }
    let mut out = CallToolResult::error(vec![ContentBlock::text(text)]);
    out.structured_content = Some(json!({ "error": error }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_tool_names_are_valid() {
        assert_eq!(script_tool_name("tower"), "script_tower");
        assert_eq!(script_tool_name("my tower.v2"), "script_my_tower_v2");
    }

    #[test]
    fn failed_scripts_are_tool_errors() {
        let failed = json!({"success": false, "code": -32020, "message": "Script error: boom"});
        let out = tool_result(failed.clone(), ReplyKind::Script);
        assert_eq!(out.is_error, Some(true));
        assert_eq!(out.structured_content.unwrap()["error"]["code"], -32020);
        let out = tool_result(failed, ReplyKind::Json);
        assert_eq!(out.is_error, Some(false));
    }

    #[test]
    fn renders_become_images() {
        let out = tool_result(
            json!({"success": true, "data": "iVBORw0KGgo=", "width": 8}),
            ReplyKind::Image,
        );
        assert!(matches!(&out.content[0], ContentBlock::Image(i) if i.data == "iVBORw0KGgo="));
        assert_eq!(
            out.structured_content.unwrap(),
            json!({"success": true, "width": 8})
        );
    }
}
