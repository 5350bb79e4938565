//! `goxel.render_scene` and the managed renders over the real socket: the daemon's forms and
//! replies, byte-identical output, size limits, managed renders listed, described and cleaned
//! up, and a render that sees one consistent snapshot while another client edits.

mod support;

use base64::Engine;
use serde_json::{Value, json};
use support::TestServer;

fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

fn decode(r: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(r["data"].as_str().unwrap())
        .unwrap()
}

fn build_model(c: &mut support::Client) {
    c.result("goxel.create_project", json!(["Render test"]));
    c.result(
        "goxel.procedural_shape",
        json!({"shape_type": "cube", "size_x": 8, "size_y": 8, "size_z": 8, "r": 200, "g": 40, "b": 40}),
    );
}

#[test]
fn render_scene_in_the_daemons_forms() {
    let server = TestServer::start();
    let mut c = server.client();
    build_model(&mut c);
    // Legacy array form: [output_path, width, height].
    let r = c.result("goxel.render_scene", json!(["legacy.png", 320, 200]));
    assert_eq!(
        (
            r["success"].clone(),
            r["width"].clone(),
            r["height"].clone(),
            r["format"].clone()
        ),
        (json!(true), json!(320), json!(200), json!("png"))
    );
    assert_eq!(r["output_path"], "legacy.png");
    let file = std::fs::read(r["file"].as_str().unwrap()).unwrap();
    assert_eq!(png_size(&file), (320, 200));
    // Object form, same picture inline: the same bytes.
    let r = c.result(
        "goxel.render_scene",
        json!({"width": 320, "height": 200, "camera_preset": "isometric", "options": {"return_mode": "base64"}}),
    );
    assert_eq!(
        decode(&r),
        file,
        "the same world and camera give the same PNG bytes"
    );
    // Defaults: 512 x 512; an unknown preset is the default view.
    let r = c.result(
        "goxel.render_scene",
        json!({"camera_preset": "sideways", "options": {"return_mode": "base64"}}),
    );
    assert_eq!(png_size(&decode(&r)), (512, 512));
    // The background colour is exact in a corner, alpha included.
    let r = c.result(
        "goxel.render_scene",
        json!({"width": 64, "height": 64, "camera_preset": "top",
               "options": {"return_mode": "base64", "background_color": [10, 20, 30, 0]}}),
    );
    let png = decode(&r);
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut pixels).unwrap();
    assert_eq!(&pixels[..4], &[10, 20, 30, 0]);
    // Sizes: 0 or above 8192 are refused with -32602; no output at all is -1015.
    for (params, code) in [
        (
            json!({"width": 0, "options": {"return_mode": "base64"}}),
            -32602,
        ),
        (
            json!({"height": 8193, "options": {"return_mode": "base64"}}),
            -32602,
        ),
        (json!(["x.png", -5, 10]), -32602),
        (json!({"width": 10}), -1015),
        (json!({"output_path": "/etc/x.png"}), -1015),
    ] {
        let e = c.error("goxel.render_scene", params.clone());
        assert_eq!(e["code"], code, "{params}: {e}");
    }
}

#[test]
fn managed_renders_are_listed_described_and_cleaned_up() {
    let server = TestServer::start();
    let mut c = server.client();
    build_model(&mut c);
    let mut paths = Vec::new();
    for preset in ["front", "top"] {
        let r = c.result(
            "goxel.render_scene",
            json!({"width": 100, "height": 80, "camera_preset": preset, "options": {"return_mode": "file_path"}}),
        );
        let file = &r["file"];
        assert_eq!(file["format"], "png");
        assert_eq!(file["dimensions"], json!({"width": 100, "height": 80}));
        let path = file["path"].as_str().unwrap().to_string();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(file["size"], bytes.len());
        assert!(file["checksum"].as_str().unwrap().starts_with("sha256:"));
        assert!(file["expires_at"].as_u64().unwrap() > file["created_at"].as_u64().unwrap());
        let name = std::path::Path::new(&path)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            name.starts_with("render_") && name.contains("_auto"),
            "{name}"
        );
        paths.push(path);
    }
    let info = c.result("goxel.get_render_info", json!([paths[0]]));
    assert_eq!(info["render"]["path"], paths[0].as_str());
    assert!(
        info["render"]["session_id"]
            .as_str()
            .unwrap()
            .starts_with("auto")
    );
    let list = c.result("goxel.list_renders", Value::Null);
    assert_eq!(list["count"], 2);
    let r = c.result("goxel.cleanup_render", json!({"path": paths[0]}));
    assert_eq!(r["success"], true);
    assert!(!std::path::Path::new(&paths[0]).exists());
    assert_eq!(c.result("goxel.list_renders", Value::Null)["count"], 1);
    assert_eq!(
        c.error("goxel.get_render_info", json!([paths[0]]))["code"],
        -1020
    );
    assert_eq!(
        c.error("goxel.cleanup_render", json!([paths[0]]))["code"],
        -1021
    );
    assert_eq!(c.error("goxel.get_render_info", json!({}))["code"], -32602);
}

#[test]
fn a_render_sees_one_snapshot_while_another_client_edits() {
    let server = TestServer::start();
    let mut c = server.client();
    let mut editor = server.client();
    build_model(&mut c);
    let before = c.result(
        "goxel.render_scene",
        json!({"width": 1024, "height": 1024, "options": {"return_mode": "base64"}}),
    );
    // Send a large render, then edit from another connection before reading its reply.
    c.send_line(
        &json!({"jsonrpc": "2.0", "method": "goxel.render_scene", "id": "big",
                "params": {"width": 1024, "height": 1024, "options": {"return_mode": "base64"}}})
        .to_string(),
    );
    for i in 0..50 {
        editor.result("goxel.add_voxel", json!([20 + i, 0, 0, 0, 0, 255, 255]));
    }
    let during = c.read_json();
    assert_eq!(during["id"], "big");
    let seq = during["result"]["seq"].as_u64().unwrap();
    assert_eq!(
        seq,
        before["seq"].as_u64().unwrap(),
        "the render drew the world as it was sent"
    );
    assert_eq!(
        decode(&during["result"]),
        decode(&before),
        "none of the later edits show"
    );
    let after = c.result(
        "goxel.render_scene",
        json!({"width": 1024, "height": 1024, "options": {"return_mode": "base64"}}),
    );
    assert_ne!(
        decode(&after),
        decode(&before),
        "a later render shows the edits"
    );
}
