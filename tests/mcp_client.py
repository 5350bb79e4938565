"""A real MCP client (the official Python SDK) driving `voxeld mcp` over stdio.

Usage: mcp_client.py VOXELD [ARG...]

Starts `VOXELD ARG...` (e.g. `voxeld mcp --socket S`), runs a fixed session through the SDK's
ClientSession — list the tools and resources, call tools, read a resource — and prints one JSON
report of what came back on standard output; tests/mcp.rs asserts on it. The steps:

- tools: every tool's name, description and input schema;
- add: add_voxel at (1, 2, 3), red; get: get_voxel there;
- shape: procedural_shape, a sphere of size 5 at (10, 10, 10);
- render: render_scene 64x48, the image content decoded (PNG signature and IHDR size);
- status: the voxeld://status resource; resources: the resource URIs;
- bad_args: add_voxel with x a string; unknown_layer: remove_voxel in layer 99;
- script: the first script_* tool, called with the arguments in $VOXELD_MCP_SCRIPT_ARGS
  (JSON), when there is one; script_error: the same tool with $VOXELD_MCP_SCRIPT_BAD_ARGS.
"""

import asyncio
import base64
import json
import os
import struct
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def tool_result(result):
    """The parts of a CallToolResult a test looks at."""
    texts = [c.text for c in result.content if c.type == "text"]
    images = [c for c in result.content if c.type == "image"]
    out = {
        "is_error": bool(result.is_error),
        "texts": texts,
        "structured": result.structured_content,
        "image_count": len(images),
    }
    if images:
        png = base64.b64decode(images[0].data)
        out["mime_type"] = images[0].mime_type
        out["png_signature_ok"] = png[:8] == b"\x89PNG\r\n\x1a\n"
        # IHDR is the first chunk: length (4), type (4), then width and height, big-endian.
        out["png_chunk"] = png[12:16].decode("latin-1")
        out["png_width"], out["png_height"] = struct.unpack(">II", png[16:24])
        out["png_bytes"] = len(png)
    return out


async def session_report(command, args):
    params = StdioServerParameters(command=command, args=args)
    report = {}
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            report["server_name"] = init.server_info.name
            tools = await session.list_tools()
            report["tools"] = {
                t.name: {"description": t.description, "schema": t.input_schema} for t in tools.tools
            }
            call = session.call_tool
            report["add"] = tool_result(
                await call("add_voxel", {"x": 1, "y": 2, "z": 3, "color": [255, 0, 0, 255]})
            )
            report["get"] = tool_result(await call("get_voxel", {"x": 1, "y": 2, "z": 3}))
            report["shape"] = tool_result(
                await call(
                    "procedural_shape",
                    {"shape": "sphere", "size": 5, "center": [10, 10, 10], "color": "#3070ff"},
                )
            )
            report["render"] = tool_result(
                await call("render_scene", {"width": 64, "height": 48, "camera_preset": "isometric"})
            )
            resources = await session.list_resources()
            report["resources"] = sorted(str(r.uri) for r in resources.resources)
            status = await session.read_resource("voxeld://status")
            report["status"] = json.loads(status.contents[0].text)
            report["bad_args"] = tool_result(await call("add_voxel", {"x": "one", "y": 2, "z": 3}))
            report["unknown_layer"] = tool_result(
                await call("remove_voxel", {"x": 1, "y": 2, "z": 3, "layer_id": 99})
            )
            scripts = sorted(n for n in report["tools"] if n.startswith("script_"))
            if scripts:
                good = json.loads(os.environ.get("VOXELD_MCP_SCRIPT_ARGS", "{}"))
                bad = json.loads(os.environ.get("VOXELD_MCP_SCRIPT_BAD_ARGS", "{}"))
                report["script_tool"] = scripts[0]
                report["script"] = tool_result(await call(scripts[0], good))
                report["script_error"] = tool_result(await call(scripts[0], bad))
    return report


def main():
    report = asyncio.run(session_report(sys.argv[1], sys.argv[2:]))
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
