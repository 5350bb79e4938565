//! `voxeld mcp` driven by a real MCP client: the official Python SDK (`mcp` from PyPI, in a venv
//! made under the target directory) runs tests/mcp_client.py against the binary, once bridging
//! to a running server's socket and once `--embedded`, and these tests assert on its report and,
//! for the bridge, on the world seen over the socket.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{Value, json};
use support::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_voxeld");

/// The SDK version the client script is written for (snake_case models, Python ≥ 3.10).
const REQUIREMENTS: [&str; 1] = ["mcp==2.3.0"];

/// A Python with the MCP SDK, in a venv under the target directory, made once.
fn python_with_mcp() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| support::python::venv("mcp-venv", &REQUIREMENTS, "the MCP client"))
}

/// Runs tests/mcp_client.py against `voxeld ARGS` and returns its report.
fn client_report(args: &[&str], env: &[(&str, String)]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp_client.py");
    let out = Command::new(python_with_mcp())
        .arg(script)
        .arg(BIN)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("VOXELD_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mcp_client.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "report is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// A library script (`docs/scripting.md`'s header format): a column of voxels at (20, 20).
const TOWER: &str = r##"// A column of voxels at (20, 20), from z = 0 up.
// @param height int(1..32) = 3 "voxels high"
// @param color color = "#00ff00" "their colour"
for (let z = 0; z < args.height; z++) goxel.addVoxel(20, 20, z, args.color);
args.height
"##;

/// A script directory holding `tower.js`, and the client's environment to call it: good
/// arguments (a tower 4 high) and bad ones (out of the declared range).
fn script_library() -> (tempfile::TempDir, Vec<(&'static str, String)>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tower.js"), TOWER).unwrap();
    let env = vec![
        ("VOXELD_MCP_SCRIPT_ARGS", r#"{"height": 4}"#.to_owned()),
        ("VOXELD_MCP_SCRIPT_BAD_ARGS", r#"{"height": 99}"#.to_owned()),
    ];
    (dir, env)
}

/// What every session shows, bridge or embedded.
fn assert_session(report: &Value) {
    assert_eq!(report["server_name"], "voxeld");

    // Tools, with schemas generated from the parameter types.
    let tools = report["tools"].as_object().unwrap();
    for name in [
        "add_voxel",
        "get_voxel",
        "procedural_shape",
        "create_layer",
        "get_bounding_box",
        "export_model",
        "execute_script",
        "render_scene",
    ] {
        assert!(
            tools.contains_key(name),
            "no tool {name}: {:?}",
            tools.keys()
        );
    }
    let add = &tools["add_voxel"];
    assert_eq!(add["description"], "Add a voxel");
    let schema = &add["schema"];
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["required"], json!(["x", "y", "z"]));
    for field in ["x", "y", "z"] {
        assert_eq!(schema["properties"][field]["type"], "integer", "{field}");
    }
    assert!(schema["properties"]["color"].is_object(), "{schema}");
    let shapes: Vec<&Value> = tools["procedural_shape"]["schema"]["$defs"]["ShapeKind"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["const"])
        .collect();
    assert_eq!(shapes, ["cube", "sphere", "cylinder", "cone", "pyramid"]);

    // Edits and reads.
    let add = &report["add"];
    assert_eq!(add["is_error"], false, "{add}");
    assert_eq!(add["structured"]["color"], json!([255, 0, 0, 255]));
    assert_eq!(report["get"]["structured"]["exists"], true);
    assert_eq!(
        report["get"]["structured"]["color"],
        json!([255, 0, 0, 255])
    );
    assert_eq!(report["shape"]["structured"]["voxel_count"], 81);

    // The render is an image an agent can look at.
    let render = &report["render"];
    assert_eq!(render["is_error"], false, "{render}");
    assert_eq!(render["image_count"], 1);
    assert_eq!(render["mime_type"], "image/png");
    assert_eq!(render["png_signature_ok"], true);
    assert_eq!(render["png_chunk"], "IHDR");
    assert_eq!(
        (&render["png_width"], &render["png_height"]),
        (&json!(64), &json!(48))
    );
    assert_eq!(render["structured"]["size"], render["png_bytes"]);

    // Resources.
    assert_eq!(
        report["resources"],
        json!(["voxeld://layers", "voxeld://status"])
    );
    assert_eq!(report["status"]["voxel_count"], 82);
    assert_eq!(report["status"]["layer_count"], 1);

    // Errors are tool errors with the JSON-RPC code and message.
    let bad = &report["bad_args"];
    assert_eq!(bad["is_error"], true);
    assert_eq!(bad["structured"]["error"]["code"], -32602);
    let text = bad["texts"][0].as_str().unwrap();
    assert!(
        text.starts_with("JSON-RPC error -32602: invalid params: field 'x'"),
        "{text}"
    );
    let unknown = &report["unknown_layer"];
    assert_eq!(unknown["is_error"], true);
    assert_eq!(unknown["structured"]["error"]["code"], -1005);
    assert_eq!(
        unknown["texts"][0],
        "JSON-RPC error -1005: no layer with id 99"
    );

    // The library script is a tool, its header's parameters its schema.
    let tower = &tools["script_tower"];
    assert_eq!(
        tower["description"],
        "A column of voxels at (20, 20), from z = 0 up."
    );
    let height = &tower["schema"]["properties"]["height"];
    assert_eq!(height["type"], "integer", "{tower}");
    assert_eq!(height["default"], 3);
    assert_eq!(report["script_tool"], "script_tower");
    let run = &report["script"];
    assert_eq!(run["is_error"], false, "{run}");
    assert_eq!(run["structured"]["result"], 4);
    assert_eq!(run["structured"]["edit_count"], 4);
    let refused = &report["script_error"];
    assert_eq!(refused["is_error"], true, "{refused}");
    assert_eq!(refused["structured"]["error"]["code"], -32602);
    let text = refused["texts"][0].as_str().unwrap();
    assert!(text.contains("args.height"), "{text}");
}

#[test]
fn bridge_to_a_running_server() {
    let (scripts, env) = script_library();
    let server =
        TestServer::start_with(|c| c.scripts.script_dirs = vec![scripts.path().to_path_buf()]);
    let socket = server.socket.to_str().unwrap().to_owned();
    let report = client_report(&["mcp", "--socket", &socket], &env);
    assert_session(&report);
    // The world the MCP client built, seen over the socket.
    let mut client = server.client();
    let voxel = client.result("goxel.get_voxel", json!({"x": 1, "y": 2, "z": 3}));
    assert_eq!(voxel["color"], json!([255, 0, 0, 255]));
    // The voxel and the sphere (82), then the library script's tower of 4.
    let status = client.result("goxel.get_status", json!({}));
    assert_eq!(status["voxel_count"], 86);
    assert_eq!(
        client.result("goxel.get_voxel", json!({"x": 10, "y": 10, "z": 10}))["color"],
        json!([0x30, 0x70, 0xff, 255])
    );
    // The library script's tower, and nothing of the refused run.
    let top = client.result("goxel.get_voxel", json!({"x": 20, "y": 20, "z": 3}));
    assert_eq!(top["color"], json!([0, 255, 0, 255]));
    let above = client.result("goxel.get_voxel", json!({"x": 20, "y": 20, "z": 4}));
    assert_eq!(above["exists"], false);
}

#[test]
fn embedded_world() {
    let (scripts, env) = script_library();
    let dir = scripts.path().to_str().unwrap().to_owned();
    let report = client_report(
        &["mcp", "--embedded", "--workers", "1", "--script-dir", &dir],
        &env,
    );
    assert_session(&report);
}

#[test]
fn unreachable_server_is_a_tool_error() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("nobody.sock");
    let script = r#"
import asyncio, json, sys
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
async def main():
    params = StdioServerParameters(command=sys.argv[1], args=sys.argv[2:])
    async with stdio_client(params) as (r, w):
        async with ClientSession(r, w) as s:
            await s.initialize()
            res = await s.call_tool("get_voxel", {"x": 0, "y": 0, "z": 0})
            print(json.dumps({"is_error": res.is_error, "text": res.content[0].text}))
asyncio.run(main())
"#;
    let out = Command::new(python_with_mcp())
        .args(["-c", script, BIN, "mcp", "--socket"])
        .arg(&socket)
        .env("VOXELD_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["is_error"], true);
    let text = report["text"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("cannot reach voxeld at {}", socket.display())),
        "{text}"
    );
}
