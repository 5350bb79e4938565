//! Every method over a real socket, with raw JSON lines: results, params by name and by
//! position, colours in every form, undo/redo, and `-32602` naming the field for bad params.

mod support;

use serde_json::{Value, json};
use support::{Client, TestServer};

fn hash(c: &mut Client) -> String {
    c.result("goxel.get_status", Value::Null)["world_hash"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The colour at `p` in the active layer, `null` when empty.
fn voxel(c: &mut Client, p: [i32; 3]) -> Value {
    let r = c.result("goxel.get_voxel", json!({"x": p[0], "y": p[1], "z": p[2]}));
    if r["exists"] == true {
        r["color"].clone()
    } else {
        assert_eq!(
            r["color"],
            json!([0, 0, 0, 0]),
            "an empty voxel reads [0,0,0,0]"
        );
        Value::Null
    }
}

fn add(c: &mut Client, p: [i32; 3], color: Value) {
    let r = c.result(
        "goxel.add_voxel",
        json!({"x": p[0], "y": p[1], "z": p[2], "color": color}),
    );
    assert_eq!(r["success"], true);
}

/// Total voxels in the active layer, counted by the server's listing.
fn layer_total(c: &mut Client) -> u64 {
    c.result("goxel.get_layer_voxels", json!({"limit": 0}))["total"]
        .as_u64()
        .unwrap()
}

#[test]
fn add_get_remove_by_name_and_by_position() {
    let server = TestServer::start();
    let mut c = server.client();

    let reply = c.request(
        r#"{"jsonrpc":"2.0","method":"goxel.add_voxel","params":{"x":1,"y":2,"z":3,"color":[255,0,0,255]},"id":1}"#,
    );
    assert_eq!(
        reply,
        json!({"jsonrpc":"2.0","id":1,"result":{"success":true,"x":1,"y":2,"z":3,"layer_id":1,"color":[255,0,0,255]}})
    );
    // By position: x, y, z then the colour, as flat channels (the daemon form) ...
    let reply = c.request(
        r#"{"jsonrpc":"2.0","method":"goxel.add_voxel","params":[-4,5,-6,0,128,0,200],"id":"two"}"#,
    );
    assert_eq!(reply["id"], "two");
    assert_eq!(reply["result"]["color"], json!([0, 128, 0, 200]));
    // ... or a colour value, and a nested position.
    let reply = c.request(
        r##"{"jsonrpc":"2.0","method":"goxel.add_voxel","params":[[7,8,9],"#0000ff"],"id":3}"##,
    );
    assert_eq!(reply["result"]["color"], json!([0, 0, 255, 255]));

    let reply =
        c.request(r#"{"jsonrpc":"2.0","method":"goxel.get_voxel","params":[-4,5,-6],"id":4}"#);
    assert_eq!(
        reply,
        json!({"jsonrpc":"2.0","id":4,"result":{"x":-4,"y":5,"z":-6,"exists":true,"color":[0,128,0,200],"layer_id":1}})
    );
    let reply = c.request(
        r#"{"jsonrpc":"2.0","method":"goxel.get_voxel","params":{"position":[7,8,9]},"id":5}"#,
    );
    assert_eq!(reply["result"]["color"], json!([0, 0, 255, 255]));
    let reply = c.request(
        r#"{"jsonrpc":"2.0","method":"goxel.get_voxel","params":{"x":100,"y":0,"z":0},"id":6}"#,
    );
    assert_eq!(
        reply["result"],
        json!({"x":100,"y":0,"z":0,"exists":false,"color":[0,0,0,0],"layer_id":1})
    );

    let r = c.result("goxel.remove_voxel", json!([1, 2, 3]));
    assert_eq!(
        r,
        json!({"success":true,"x":1,"y":2,"z":3,"layer_id":1,"removed":true})
    );
    assert_eq!(voxel(&mut c, [1, 2, 3]), Value::Null);
    // Removing an empty voxel succeeds and says nothing was removed.
    let r = c.result("goxel.remove_voxel", json!({"x": 1, "y": 2, "z": 3}));
    assert_eq!(r["removed"], false);
    assert_eq!(layer_total(&mut c), 2);
}

#[test]
fn colours_in_every_form() {
    let server = TestServer::start();
    let mut c = server.client();
    let cases = [
        (json!([10, 20, 30]), [10, 20, 30, 255]),
        (json!([10, 20, 30, 40]), [10, 20, 30, 40]),
        (json!("#0A141E"), [10, 20, 30, 255]),
        (json!("#0a141e28"), [10, 20, 30, 40]),
        (
            json!({"r": 10, "g": 20, "b": 30, "a": 40}),
            [10, 20, 30, 40],
        ),
        (json!({"r": 10, "g": 20, "b": 30}), [10, 20, 30, 255]),
    ];
    for (i, (color, rgba)) in cases.into_iter().enumerate() {
        let p = [i as i32, 0, 0];
        add(&mut c, p, color.clone());
        assert_eq!(voxel(&mut c, p), json!(rgba), "colour {color}");
    }
    // Top-level channels, as some daemon clients send them.
    c.result(
        "goxel.add_voxel",
        json!({"x": 9, "y": 0, "z": 0, "r": 1, "g": 2, "b": 3, "a": 4}),
    );
    assert_eq!(voxel(&mut c, [9, 0, 0]), json!([1, 2, 3, 4]));
}

#[test]
fn paint_voxels_list_and_single_forms() {
    let server = TestServer::start();
    let mut c = server.client();
    add(&mut c, [0, 0, 0], json!([1, 1, 1]));
    add(&mut c, [1, 0, 0], json!([1, 1, 1]));

    // List form: only existing voxels are recoloured; [5,5,5] stays empty.
    let r = c.result(
        "goxel.paint_voxels",
        json!({"positions": [[0, 0, 0], [1, 0, 0], [5, 5, 5]], "color": "#ff0000"}),
    );
    assert_eq!(
        r,
        json!({"success":true,"painted":2,"painted_count":2,"requested_count":3,"layer_id":1,"color":[255,0,0,255]})
    );
    assert_eq!(voxel(&mut c, [0, 0, 0]), json!([255, 0, 0, 255]));
    assert_eq!(voxel(&mut c, [1, 0, 0]), json!([255, 0, 0, 255]));
    assert_eq!(voxel(&mut c, [5, 5, 5]), Value::Null);

    // Single (daemon) form, by name and by position.
    let r = c.result(
        "goxel.paint_voxels",
        json!({"x": 1, "y": 0, "z": 0, "color": {"r": 0, "g": 9, "b": 0, "a": 9}}),
    );
    assert_eq!(r["painted_count"], 1);
    assert_eq!(voxel(&mut c, [1, 0, 0]), json!([0, 9, 0, 9]));
    let r = c.result("goxel.paint_voxels", json!([0, 0, 0, [7, 7, 7]]));
    assert_eq!(r["painted_count"], 1);
    assert_eq!(voxel(&mut c, [0, 0, 0]), json!([7, 7, 7, 255]));
    // List form by position.
    let r = c.result(
        "goxel.paint_voxels",
        json!([[[0, 0, 0], [1, 0, 0]], [8, 8, 8]]),
    );
    assert_eq!(r["painted_count"], 2);
    assert_eq!(voxel(&mut c, [1, 0, 0]), json!([8, 8, 8, 255]));
}

#[test]
fn flood_fill_recolours_exactly_the_connected_region() {
    let server = TestServer::start();
    let mut c = server.client();
    let a = json!([10, 10, 10]);
    // An L of seven same-coloured voxels: x = 0..=4 on y = 0, then (0,1,0) and (0,2,0).
    for x in 0..5 {
        add(&mut c, [x, 0, 0], a.clone());
    }
    add(&mut c, [0, 1, 0], a.clone());
    add(&mut c, [0, 2, 0], a.clone());
    // Same colour but only diagonally adjacent: not 6-connected, must stay.
    add(&mut c, [1, 1, 1], a.clone());
    // Touching the region but another colour: a border, must stay.
    add(&mut c, [5, 0, 0], json!([20, 20, 20]));
    // Same colour beyond the border: not reachable.
    add(&mut c, [6, 0, 0], a.clone());

    let r = c.result(
        "goxel.flood_fill",
        json!({"x": 2, "y": 0, "z": 0, "color": [99, 0, 0]}),
    );
    assert_eq!(r["filled_count"], 7, "{r}");
    for p in [[0, 0, 0], [4, 0, 0], [0, 2, 0]] {
        assert_eq!(voxel(&mut c, p), json!([99, 0, 0, 255]), "{p:?}");
    }
    assert_eq!(voxel(&mut c, [1, 1, 1]), json!([10, 10, 10, 255]));
    assert_eq!(voxel(&mut c, [5, 0, 0]), json!([20, 20, 20, 255]));
    assert_eq!(voxel(&mut c, [6, 0, 0]), json!([10, 10, 10, 255]));
    let hist = c.result("goxel.get_color_histogram", Value::Null);
    assert_eq!(hist["histogram"][0]["count"], 7);

    // By position, with explicit bounds that cut the region: only x <= 1 of the L's row and
    // column inside the box (0..=1, 0..=2, 0..=0) -> (0,0),(1,0),(0,1),(0,2).
    let r = c.result(
        "goxel.flood_fill",
        json!({"position": [0, 0, 0], "color": [1, 2, 3], "min": [0, 0, 0], "max": [1, 2, 0]}),
    );
    assert_eq!(r["filled_count"], 4, "{r}");
    assert_eq!(voxel(&mut c, [2, 0, 0]), json!([99, 0, 0, 255]));
}

#[test]
fn procedural_shapes_have_their_hand_counted_sizes() {
    let server = TestServer::start();
    let mut c = server.client();
    // size 3: cube 27; sphere 5+9+5; cylinder: a 3x3 disc of radius 1.5 keeps its corners
    // (distance 1.41), 3 slices; cone 7 and pyramid 11 (3x3 base + narrowing layers).
    // size 5 cylinder: the 5x5 disc loses its 4 corners (21) times 5 slices.
    let cases = [
        ("cube", json!(3), 27),
        ("sphere", json!(3), 19),
        ("cylinder", json!(3), 27),
        ("cylinder", json!(5), 105),
        ("cone", json!(3), 7),
        ("pyramid", json!(3), 11),
        ("CUBE", json!([2, 3, 4]), 24),
    ];
    for (shape, size, count) in cases {
        c.result("goxel.create_project", Value::Null);
        let r = c.result(
            "goxel.procedural_shape",
            json!({"shape": shape, "size": size, "center": [10, -10, 3], "color": "#336699"}),
        );
        assert_eq!(r["voxel_count"], count, "{shape} {size}: {r}");
        assert_eq!(r["changed_count"], count, "{shape} {size}: {r}");
        assert_eq!(layer_total(&mut c), count, "{shape} {size}");
    }
    // A sphere of radius 1 is the size-3 sphere; the shape is centred on `center`.
    c.result("goxel.create_project", Value::Null);
    let r = c.result(
        "goxel.procedural_shape",
        json!({"shape": "sphere", "radius": 1, "center": [0, 0, 0], "color": [1, 2, 3]}),
    );
    assert_eq!(r["voxel_count"], 19);
    assert_eq!(r["bounds"], json!({"min": [-1, -1, -1], "max": [1, 1, 1]}));
    assert_eq!(voxel(&mut c, [0, 0, 0]), json!([1, 2, 3, 255]));
    assert_eq!(voxel(&mut c, [1, 1, 1]), Value::Null);
    // By position: shape, size, centre, colour.
    c.result("goxel.create_project", Value::Null);
    let r = c.result(
        "goxel.procedural_shape",
        json!(["cube", 2, [0, 0, 0], [5, 5, 5]]),
    );
    assert_eq!(r["voxel_count"], 8);
    assert_eq!(layer_total(&mut c), 8);
}

#[test]
fn batch_operations_apply_as_one_buffer_or_not_at_all() {
    let server = TestServer::start();
    let mut c = server.client();
    add(&mut c, [9, 9, 9], json!([1, 1, 1]));
    let r = c.result(
        "goxel.batch_operations",
        json!({"operations": [
            {"op": "add", "x": 0, "y": 0, "z": 0, "color": [1, 2, 3]},
            {"op": "add", "position": [1, 0, 0], "color": "#040506"},
            {"op": "paint", "x": 0, "y": 0, "z": 0, "color": [7, 8, 9]},
            {"op": "remove", "x": 9, "y": 9, "z": 9},
        ]}),
    );
    assert_eq!(r["success"], true);
    assert_eq!(r["total_operations"], 4);
    assert_eq!(r["successful_operations"], 4);
    assert_eq!(voxel(&mut c, [0, 0, 0]), json!([7, 8, 9, 255]));
    assert_eq!(voxel(&mut c, [1, 0, 0]), json!([4, 5, 6, 255]));
    assert_eq!(voxel(&mut c, [9, 9, 9]), Value::Null);

    // One buffer: a single undo takes back all four operations.
    let before_batch_undo = hash(&mut c);
    c.result("goxel.undo", Value::Null);
    assert_eq!(voxel(&mut c, [0, 0, 0]), Value::Null);
    assert_eq!(voxel(&mut c, [1, 0, 0]), Value::Null);
    assert_eq!(voxel(&mut c, [9, 9, 9]), json!([1, 1, 1, 255]));
    c.result("goxel.redo", Value::Null);
    assert_eq!(hash(&mut c), before_batch_undo);

    // As in the daemon, a bad entry is skipped (and named in `errors`); the rest applies, as
    // one buffer.
    let r = c.result(
        "goxel.batch_operations",
        json!({"operations": [
            {"op": "add", "x": 5, "y": 5, "z": 5, "color": [1, 2, 3]},
            {"op": "explode", "x": 6, "y": 5, "z": 5},
            {"type": "add_voxel", "x": 5_000_000, "y": 5, "z": 5, "r": 1, "g": 2, "b": 3},
            {"type": "add_voxel", "x": 7, "y": 5, "z": 5, "r": 1, "g": 2},
            "not an object",
            {"type": "add_voxel", "x": 8, "y": 5, "z": 5, "r": 300, "g": 2, "b": 3, "a": 9},
        ]}),
    );
    assert_eq!(r["success"], true);
    assert_eq!(r["total_operations"], 6);
    assert_eq!(r["successful_operations"], 2);
    let failed: Vec<u64> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(failed, [1, 2, 3, 4], "{r}");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("explode"),
        "{r}"
    );
    assert_eq!(voxel(&mut c, [5, 5, 5]), json!([1, 2, 3, 255]));
    assert_eq!(
        voxel(&mut c, [8, 5, 5]),
        json!([255, 2, 3, 9]),
        "channels clamp"
    );
    // Nothing valid at all: still a success, with nothing written.
    let before = hash(&mut c);
    let r = c.result("goxel.batch_operations", json!({"operations": [{"x": 1}]}));
    assert_eq!(r["successful_operations"], 0);
    assert_eq!(hash(&mut c), before);
    // No list at all is -32602.
    let e = c.error("goxel.batch_operations", json!({"ops": []}));
    assert_eq!(e["code"], -32602);
}

#[test]
fn bulk_reads_and_colour_analysis() {
    let server = TestServer::start();
    let mut c = server.client();
    let red = json!([255, 0, 0]);
    let blue = json!([0, 0, 255]);
    for x in 0..4 {
        add(&mut c, [x, 0, 0], red.clone());
    }
    add(&mut c, [0, 3, 0], blue.clone());
    add(&mut c, [-2, 1, 5], blue.clone());
    add(&mut c, [40, 40, 40], json!([0, 255, 0]));

    let r = c.result(
        "goxel.get_voxels_region",
        json!({"min": [0, 0, 0], "max": [3, 3, 3]}),
    );
    assert_eq!(r["total"], 5);
    assert_eq!(r["count"], 5);
    assert_eq!(r["truncated"], false);
    let mut got: Vec<Value> = r["voxels"].as_array().unwrap().clone();
    got.sort_by_key(|v| v.to_string());
    let mut want = vec![
        json!({"x":0,"y":0,"z":0,"color":[255,0,0,255]}),
        json!({"x":1,"y":0,"z":0,"color":[255,0,0,255]}),
        json!({"x":2,"y":0,"z":0,"color":[255,0,0,255]}),
        json!({"x":3,"y":0,"z":0,"color":[255,0,0,255]}),
        json!({"x":0,"y":3,"z":0,"color":[0,0,255,255]}),
    ];
    want.sort_by_key(|v| v.to_string());
    assert_eq!(got, want);
    // Corners in any order, and the x1..z2 form.
    let r = c.result(
        "goxel.get_voxels_region",
        json!({"x1": 3, "y1": 3, "z1": 3, "x2": 0, "y2": 0, "z2": 0}),
    );
    assert_eq!(r["total"], 5);
    let r = c.result("goxel.get_voxels_region", json!([[0, 0, 0], [1, 0, 0]]));
    assert_eq!(r["total"], 2);

    // Paging: the pages, concatenated, are the full listing.
    let all = c.result("goxel.get_layer_voxels", Value::Null);
    assert_eq!(all["total"], 7);
    assert_eq!(all["count"], 7);
    let mut paged = Vec::new();
    for offset in (0..7).step_by(3) {
        let p = c.result(
            "goxel.get_layer_voxels",
            json!({"offset": offset, "limit": 3}),
        );
        assert_eq!(p["offset"], offset);
        assert_eq!(p["total"], 7);
        assert_eq!(p["truncated"], offset + 3 < 7, "{p}");
        paged.extend(p["voxels"].as_array().unwrap().iter().cloned());
    }
    assert_eq!(Value::Array(paged), all["voxels"]);
    let p = c.result("goxel.get_layer_voxels", json!({"offset": 100}));
    assert_eq!(p["count"], 0);

    // The daemon's `max` is one past the last voxel; `dimensions` is the true size.
    let r = c.result("goxel.get_bounding_box", Value::Null);
    assert_eq!(
        r,
        json!({"empty":false,"min":[-2,0,0],"max":[41,41,41],"dimensions":[43,41,41],
               "max_inclusive":[40,40,40],"width":43,"height":41,"depth":41,"exact":true})
    );
    let r = c.result("goxel.get_bounding_box", json!({"exact": false}));
    assert_eq!(
        (r["min"].clone(), r["max"].clone()),
        (json!([-16, 0, 0]), json!([48, 48, 48]))
    );

    let r = c.result("goxel.get_color_histogram", Value::Null);
    let pct = |n: f64| n * 100.0 / 7.0;
    assert_eq!(
        r,
        json!({"histogram":[
            {"color":"#FF0000FF","rgba":[255,0,0,255],"count":4,"percentage":pct(4.0)},
            {"color":"#0000FFFF","rgba":[0,0,255,255],"count":2,"percentage":pct(2.0)},
            {"color":"#00FF00FF","rgba":[0,255,0,255],"count":1,"percentage":pct(1.0)},
        ],"unique_colors":3,"total_voxels":7,"metadata":{"binned":false,"layer_id":-1}})
    );
    let r = c.result("goxel.find_voxels_by_color", json!({"color": [0, 0, 255]}));
    assert_eq!(r["match_count"], 2);
    assert_eq!(r["target_color"], "#0000FFFF");
    let mut found: Vec<String> = r["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            json!({"x":-2,"y":1,"z":5,"layer_id":1,"layer":"Layer 1"}).to_string(),
            json!({"x":0,"y":3,"z":0,"layer_id":1,"layer":"Layer 1"}).to_string()
        ]
    );
    let r = c.result(
        "goxel.find_voxels_by_color",
        json!({"color": [255, 0, 0], "max_results": 1}),
    );
    assert_eq!(r["match_count"], 1);
    assert_eq!(r["truncated"], true);
    // Tolerance: near-red matches within 10 per channel.
    let r = c.result(
        "goxel.find_voxels_by_color",
        json!({"color": [250, 5, 0], "tolerance": 10, "include_locations": false}),
    );
    assert_eq!(r["match_count"], 4);
    assert!(r.get("locations").is_none());
    let r = c.result("goxel.get_unique_colors", Value::Null);
    assert_eq!(
        r,
        json!({"colors":[
            {"hex":"#0000FFFF","rgba":[0,0,255,255],"count":2},
            {"hex":"#00FF00FF","rgba":[0,255,0,255],"count":1},
            {"hex":"#FF0000FF","rgba":[255,0,0,255],"count":4},
        ],"count":3,"metadata":{"layer_id":-1,"sorted_by_count":false}})
    );
    // color_filter in bulk reads; a region in colour analysis.
    let r = c.result(
        "goxel.get_layer_voxels",
        json!({"color_filter": [0, 255, 0]}),
    );
    assert_eq!(r["count"], 1);
    let r = c.result(
        "goxel.get_color_histogram",
        json!({"region": {"min": [0, 0, 0], "max": [3, 0, 0]}}),
    );
    assert_eq!(r["total_voxels"], 4);

    // Empty world after a new project.
    c.result("goxel.create_project", Value::Null);
    let r = c.result("goxel.get_bounding_box", Value::Null);
    assert_eq!(r["empty"], true);
    assert_eq!(c.result("goxel.get_unique_colors", Value::Null)["count"], 0);
}

#[test]
fn layers_create_list_visibility_activate_merge_delete_and_project() {
    let server = TestServer::start();
    let mut c = server.client();
    add(&mut c, [0, 0, 0], json!([1, 1, 1]));
    let r = c.result("goxel.list_layers", Value::Null);
    assert_eq!(
        r,
        json!({"layers":[{"id":1,"name":"Layer 1","visible":true,"active":true,"index":0,"order":0,"voxel_count":1}],
               "count":1,"active_layer":1})
    );

    let r = c.result("goxel.create_layer", json!({"name": "details"}));
    assert_eq!(
        r,
        json!({"success":true,"layer_id":2,"name":"details","visible":true,"color":[255,255,255],"active":true})
    );
    // New voxels go to the new active layer.
    add(&mut c, [1, 0, 0], json!([2, 2, 2]));
    add(&mut c, [0, 0, 0], json!([3, 3, 3]));
    let g = c.result(
        "goxel.get_voxel",
        json!({"x": 0, "y": 0, "z": 0, "layer_id": 1}),
    );
    assert_eq!(g["color"], json!([1, 1, 1, 255]));
    assert_eq!(voxel(&mut c, [0, 0, 0]), json!([3, 3, 3, 255]));

    let r = c.result(
        "goxel.set_layer_visibility",
        json!({"layer_id": 2, "visible": false}),
    );
    assert_eq!(r, json!({"success":true,"layer_id":2,"visible":false}));
    // The bounding box is the active layer's (2), as in the daemon; -2 is every layer.
    let bb = c.result("goxel.get_bounding_box", Value::Null);
    assert_eq!(
        (bb["min"].clone(), bb["max_inclusive"].clone()),
        (json!([0, 0, 0]), json!([1, 0, 0]))
    );
    let bb = c.result("goxel.get_bounding_box", json!({"layer_id": 1}));
    assert_eq!(bb["max_inclusive"], json!([0, 0, 0]));
    let bb = c.result("goxel.get_bounding_box", json!({"layer_id": -2}));
    assert_eq!(bb["max_inclusive"], json!([1, 0, 0]));
    let e = c.error("goxel.get_bounding_box", json!({"layer_id": 9}));
    assert_eq!(e["code"], -32603, "{e}");

    let r = c.result("goxel.set_active_layer", json!({"layer_id": 1}));
    assert_eq!(r, json!({"success":true,"layer_id":1}));
    let layers = c.result("goxel.list_layers", Value::Null);
    assert_eq!(layers["active_layer"], 1);
    assert_eq!(layers["layers"][1]["visible"], false);
    assert_eq!(layers["layers"][1]["active"], false);

    // Merge 2 over 1 (the active layer): 2's voxels win, layer 2 is gone.
    let r = c.result("goxel.merge_layers", json!({"source_id": 2}));
    assert_eq!(r["target_id"], 1);
    assert_eq!(r["success"], true);
    assert_eq!(voxel(&mut c, [0, 0, 0]), json!([3, 3, 3, 255]));
    assert_eq!(voxel(&mut c, [1, 0, 0]), json!([2, 2, 2, 255]));
    let layers = c.result("goxel.list_layers", Value::Null);
    assert_eq!(layers["count"], 1);
    assert_eq!(layers["layers"][0]["voxel_count"], 2);

    // Create without activating, delete it; the last layer cannot go.
    let r = c.result(
        "goxel.create_layer",
        json!({"name": "tmp", "activate": false, "visible": false}),
    );
    let tmp = r["layer_id"].as_u64().unwrap();
    let layers = c.result("goxel.list_layers", Value::Null);
    assert_eq!(layers["active_layer"], 1);
    assert_eq!(layers["layers"][1]["visible"], false);
    let r = c.result("goxel.delete_layer", json!({"layer_id": tmp}));
    assert_eq!(r, json!({"success":true,"layer_id":tmp,"active_layer":1}));
    // Deleting the last layer leaves an empty one in its place (as in the daemon); undo.
    let before_delete = hash(&mut c);
    let r = c.result("goxel.delete_layer", json!([1]));
    assert_eq!(r["success"], true);
    let layers = c.result("goxel.list_layers", Value::Null);
    assert_eq!(layers["count"], 1);
    assert_eq!(layers["layers"][0]["voxel_count"], 0);
    c.result("goxel.undo", Value::Null);
    assert_eq!(hash(&mut c), before_delete);
    let e = c.error("goxel.delete_layer", json!({"layer_id": 77}));
    assert_eq!(e["code"], -1012, "{e}");

    // A project replaces everything by one empty layer; undo brings the old world back.
    let before = hash(&mut c);
    let r = c.result("goxel.create_project", json!({"name": "fresh"}));
    assert_eq!(r["name"], "fresh");
    let layers = c.result("goxel.list_layers", Value::Null);
    assert_eq!(layers["count"], 1);
    assert_eq!(layers["active_layer"], r["layer_id"]);
    assert_eq!(layers["layers"][0]["voxel_count"], 0);
    assert_eq!(voxel(&mut c, [0, 0, 0]), Value::Null);
    // One request, one undo step.
    c.result("goxel.undo", Value::Null);
    assert_eq!(hash(&mut c), before);
    assert_eq!(voxel(&mut c, [0, 0, 0]), json!([3, 3, 3, 255]));
}

#[test]
fn status_hash_follows_edits_undo_and_redo() {
    let server = TestServer::start();
    let mut c = server.client();
    let e = c.error("goxel.undo", Value::Null);
    assert_eq!(e["code"], -32010, "{e}");

    let s = c.result("goxel.get_status", Value::Null);
    for key in [
        "version",
        "world_hash",
        "seq",
        "tick",
        "voxel_count",
        "chunk_count",
        "layer_count",
        "uptime_ms",
    ] {
        assert!(s.get(key).is_some(), "{key} missing: {s}");
    }
    assert_eq!(s["voxel_count"], 0);
    let h0 = s["world_hash"].as_str().unwrap().to_string();
    assert_eq!(h0.len(), 64);
    let seq0 = s["seq"].as_u64().unwrap();

    add(&mut c, [1, 1, 1], json!([10, 0, 0]));
    let h1 = hash(&mut c);
    assert_ne!(h1, h0);
    add(&mut c, [1, 1, 1], json!([20, 0, 0]));
    c.result(
        "goxel.paint_voxels",
        json!({"positions": [[1, 1, 1]], "color": [30, 0, 0]}),
    );
    let h3 = hash(&mut c);
    let s = c.result("status", Value::Null);
    assert_eq!(s["world_hash"], h3.as_str());
    assert_eq!(s["voxel_count"], 1);
    assert!(s["seq"].as_u64().unwrap() >= seq0 + 3);

    // Undo: exactly the previous states, voxel by voxel and by hash.
    c.result("goxel.undo", Value::Null);
    assert_eq!(voxel(&mut c, [1, 1, 1]), json!([20, 0, 0, 255]));
    c.result("goxel.undo", Value::Null);
    assert_eq!(voxel(&mut c, [1, 1, 1]), json!([10, 0, 0, 255]));
    assert_eq!(hash(&mut c), h1);
    c.result("goxel.undo", Value::Null);
    assert_eq!(voxel(&mut c, [1, 1, 1]), Value::Null);
    assert_eq!(hash(&mut c), h0);
    assert_eq!(c.error("goxel.undo", Value::Null)["code"], -32010);

    // Redo walks forward to the same states.
    c.result("goxel.redo", Value::Null);
    assert_eq!(hash(&mut c), h1);
    c.result("goxel.redo", Value::Null);
    c.result("goxel.redo", Value::Null);
    assert_eq!(hash(&mut c), h3);
    assert_eq!(voxel(&mut c, [1, 1, 1]), json!([30, 0, 0, 255]));
    assert_eq!(c.error("goxel.redo", Value::Null)["code"], -32010);

    // A new edit after undo drops the redo history.
    c.result("goxel.undo", Value::Null);
    add(&mut c, [2, 2, 2], json!([1, 1, 1]));
    assert_eq!(c.error("goxel.redo", Value::Null)["code"], -32010);
}

#[test]
fn housekeeping_and_every_listed_method_answers() {
    let server = TestServer::start();
    let mut c = server.client();
    assert_eq!(
        c.request(r#"{"jsonrpc":"2.0","method":"echo","params":["pong"],"id":1}"#),
        json!({"jsonrpc":"2.0","result":["pong"],"id":1})
    );
    assert_eq!(
        c.request(
            r#"{"jsonrpc":"2.0","method":"echo","params":{"a":[1,{"b":null}],"s":"\u00e9"},"id":2}"#
        ),
        json!({"jsonrpc":"2.0","result":{"a":[1,{"b":null}],"s":"é"},"id":2})
    );
    assert_eq!(
        c.result("echo", json!([1, "two", 3.5])),
        json!([1, "two", 3.5])
    );
    assert_eq!(c.result("echo", Value::Null), json!({}));
    let v = c.result("version", Value::Null);
    assert_eq!(
        (
            v["version"].clone(),
            v["type"].clone(),
            v["protocol"].clone()
        ),
        (json!("0.19.0"), json!("daemon"), json!("JSON-RPC 2.0"))
    );
    assert_eq!(v["name"], "voxeld");
    assert_eq!(v["server_version"], env!("CARGO_PKG_VERSION"));
    let s = c.result("status", Value::Null);
    assert_eq!(s["status"], "running");
    assert_eq!(
        s["pid"],
        std::process::id(),
        "the server runs in this test process"
    );
    assert_eq!(s["goxel_initialized"], true);
    let p = c.result("ping", Value::Null);
    assert_eq!(p["pong"], true);
    assert!(p["timestamp"].as_u64().unwrap() > 1_700_000_000);

    let listed = c.result("list_methods", Value::Null);
    assert_eq!(listed["count"], listed["methods"].as_array().unwrap().len());
    assert_eq!(s["methods_available"], listed["count"]);
    let methods: Vec<String> = listed["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert!(!m["description"].as_str().unwrap().is_empty(), "{m}");
            m["method"].as_str().unwrap().to_string()
        })
        .collect();
    let mut sorted = methods.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), methods.len(), "unique");
    assert_eq!(
        methods[..6],
        [
            "echo",
            "version",
            "status",
            "ping",
            "list_methods",
            "add_voxels"
        ],
        "the daemon's unprefixed methods come first"
    );
    for required in [
        "goxel.add_voxel",
        "goxel.remove_voxel",
        "goxel.get_voxel",
        "goxel.paint_voxels",
        "goxel.flood_fill",
        "goxel.procedural_shape",
        "goxel.batch_operations",
        "goxel.get_voxels_region",
        "goxel.get_layer_voxels",
        "goxel.get_bounding_box",
        "goxel.get_color_histogram",
        "goxel.find_voxels_by_color",
        "goxel.get_unique_colors",
        "goxel.create_project",
        "goxel.load_project",
        "goxel.save_project",
        "goxel.export_model",
        "goxel.list_layers",
        "goxel.create_layer",
        "goxel.delete_layer",
        "goxel.merge_layers",
        "goxel.set_layer_visibility",
        "goxel.get_status",
        "goxel.undo",
        "goxel.redo",
    ] {
        assert!(
            methods.iter().any(|m| m == required),
            "{required} not listed"
        );
    }
    // Every listed method exists: with no params it answers a result or an error that is
    // not "method not found". (execute_script answers at once: scripts are not wired yet.)
    for method in &methods {
        let reply = c.call(method, Value::Null);
        assert_ne!(reply["error"]["code"], -32601, "{method}: {reply}");
    }
    assert_eq!(
        c.request(r#"{"jsonrpc":"2.0","method":"goxel.no_such","id":9}"#),
        json!({"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":9})
    );
}

/// Bad params for each method: `-32602`, the message names the field, the server goes on.
#[test]
fn bad_params_name_the_field_and_the_server_keeps_serving() {
    let server = TestServer::start();
    let mut c = server.client();
    add(&mut c, [0, 0, 0], json!([1, 1, 1]));
    let before = hash(&mut c);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "goxel.add_voxel",
            json!({"x": 0, "y": 0, "z": 0, "color": [1, 2]}),
            "color",
        ),
        (
            "goxel.add_voxel",
            json!({"x": 0, "y": 0, "z": 0, "color": "#12345"}),
            "color",
        ),
        (
            "goxel.add_voxel",
            json!({"x": 0, "y": 0, "z": 0, "color": "red"}),
            "color",
        ),
        (
            "goxel.add_voxel",
            json!({"x": 0, "y": 0, "z": 0, "color": {"r": 1}}),
            "color",
        ),
        (
            "goxel.add_voxel",
            json!({"x": "1", "y": 0, "z": 0, "color": [1, 2, 3]}),
            "x",
        ),
        (
            "goxel.add_voxel",
            json!({"x": 1.5, "y": 0, "z": 0, "color": [1, 2, 3]}),
            "x",
        ),
        (
            "goxel.add_voxel",
            json!({"x": 0, "y": 3_000_000_000_i64, "z": 0, "color": [1, 2, 3]}),
            "y",
        ),
        (
            "goxel.add_voxel",
            json!({"x": 2_000_000, "y": 0, "z": 0, "color": [1, 2, 3]}),
            "position",
        ),
        ("goxel.get_voxel", json!({"position": [1, 2]}), "position"),
        (
            "goxel.get_voxel",
            json!({"position": {"x": 1, "y": 2}}),
            "position.z",
        ),
        (
            "goxel.paint_voxels",
            json!({"positions": [[0, 0]], "color": [1, 2, 3]}),
            "positions[0]",
        ),
        (
            "goxel.paint_voxels",
            json!({"positions": 5, "color": [1, 2, 3]}),
            "positions",
        ),
        (
            "goxel.flood_fill",
            json!({"x": 0, "y": 0, "z": 0, "color": [1, 2, 3], "min": [0, 0, 0]}),
            "max",
        ),
        (
            "goxel.procedural_shape",
            json!({"shape": "cube", "size": 0, "color": [1, 2, 3]}),
            "size",
        ),
        (
            "goxel.procedural_shape",
            json!({"shape": "cube", "size": -3, "color": [1, 2, 3]}),
            "size",
        ),
        (
            "goxel.procedural_shape",
            json!({"shape": "cube", "size": "big", "color": [1, 2, 3]}),
            "size",
        ),
        (
            "goxel.procedural_shape",
            json!({"shape": "cube", "size": [1, 2], "color": [1, 2, 3]}),
            "size",
        ),
        (
            "goxel.procedural_shape",
            json!({"shape": "cube", "radius": 0, "color": [1, 2, 3]}),
            "radius",
        ),
        (
            "goxel.procedural_shape",
            json!({"shape": "cube", "size": 3, "center": [1, 2], "color": [1, 2, 3]}),
            "center",
        ),
        (
            "goxel.procedural_shape",
            json!({"shape": "cube", "size": 3, "center": [1_048_575, 0, 0], "color": [1, 2, 3]}),
            "size",
        ),
        ("goxel.batch_operations", json!({}), "operations"),
        (
            "goxel.batch_operations",
            json!({"operations": 3}),
            "operations",
        ),
        ("goxel.get_voxels_region", json!({}), "min"),
        (
            "goxel.get_voxels_region",
            json!({"min": [0, 0], "max": [1, 1, 1]}),
            "min",
        ),
        (
            "goxel.get_voxels_region",
            json!({"min": [0, 0, 0], "max": "x"}),
            "max",
        ),
        ("goxel.get_layer_voxels", json!({"offset": "a"}), "offset"),
        ("goxel.find_voxels_by_color", json!({}), "color"),
        (
            "goxel.find_voxels_by_color",
            json!({"color": "#zzzzzz"}),
            "color",
        ),
        (
            "goxel.get_unique_colors",
            json!({"layer_id": "one"}),
            "layer_id",
        ),
        ("goxel.create_project", json!({"name": 5}), "name"),
        ("goxel.create_layer", json!({"name": 5}), "name"),
        ("goxel.create_layer", json!({"visible": "yes"}), "visible"),
        ("goxel.delete_layer", json!({}), "layer_id"),
        (
            "goxel.set_layer_visibility",
            json!({"layer_id": 1, "visible": 1}),
            "visible",
        ),
        ("goxel.set_active_layer", json!({}), "layer_id"),
    ];
    let mut wrong = Vec::new();
    for (method, params, field) in cases {
        let reply = c.call(method, params.clone());
        let e = &reply["error"];
        let named = e["message"]
            .as_str()
            .is_some_and(|m| m.contains(&format!("field '{field}'")));
        if e["code"] != -32602 || !named {
            wrong.push(format!("{method} {params} (field {field}): {reply}"));
        }
        // Still serving, and nothing changed.
        assert_eq!(c.result("echo", json!(["pong"])), json!(["pong"]));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Where the daemon answers with its own code, voxeld does too.
    let daemon_codes: Vec<(&str, Value, i64)> = vec![
        ("goxel.remove_voxel", json!([0, 0, 0, 999]), -1005),
        (
            "goxel.paint_voxels",
            json!({"x": 5, "y": 5, "z": 5, "r": 9}),
            -1009,
        ),
        (
            "goxel.paint_voxels",
            json!({"x": 0, "y": 0, "z": 0, "layer_id": 999}),
            -1009,
        ),
        (
            "goxel.procedural_shape",
            json!({"shape_type": "torus"}),
            -1011,
        ),
        ("goxel.get_layer_voxels", json!({"layer_id": 999}), -32603),
        (
            "goxel.get_voxels_region",
            json!({"min": [0, 0, 0], "max": [1, 1, 1], "layer_id": -2}),
            -32603,
        ),
        ("goxel.get_bounding_box", json!({"layer_id": 999}), -32603),
        (
            "goxel.get_color_histogram",
            json!({"layer_id": 999}),
            -32603,
        ),
        ("goxel.delete_layer", json!({"layer_id": 999}), -1012),
        ("goxel.delete_layer", json!({"layer_name": "nope"}), -1012),
        ("goxel.merge_layers", json!({}), -32602),
        ("goxel.merge_layers", json!([999, 1]), -1013),
        (
            "goxel.merge_layers",
            json!({"source_layer_id": 1, "target_layer_id": 999}),
            -1013,
        ),
        (
            "goxel.merge_layers",
            json!({"source_layer_id": 1, "target_layer_id": 1}),
            -1013,
        ),
        ("goxel.set_layer_visibility", json!({"layer_id": 0}), -32602),
        ("goxel.set_layer_visibility", json!([999, true]), -1014),
        ("goxel.set_active_layer", json!({"layer_id": 999}), -32602),
        ("goxel.load_project", json!({}), -32602),
        ("goxel.load_project", json!(["no-such-file.gox"]), -1002),
        ("goxel.export_model", json!(["/etc/voxeld-test.obj"]), -1007),
        ("goxel.export_model", json!(["model.txt", "nope"]), -1007),
    ];
    for (method, params, code) in daemon_codes {
        let e = c.error(method, params.clone());
        assert_eq!(e["code"], code, "{method} {params}: {e}");
        assert!(!e["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(hash(&mut c), before);
    assert_eq!(c.result("goxel.list_layers", Value::Null)["count"], 1);
}

/// Regression: coordinates at the edge of the i32 range must give errors, never overflow.
#[test]
fn extreme_coordinates_are_refused_without_overflow() {
    let server = TestServer::start();
    let mut c = server.client();
    let (max, min) = (i32::MAX, i32::MIN);
    let e = c.error(
        "goxel.procedural_shape",
        json!({"shape": "cube", "size": 10, "center": [max, 0, 0], "color": [1, 2, 3]}),
    );
    assert_eq!(e["code"], -32602, "{e}");
    assert!(e["message"].as_str().unwrap().contains("'center'"), "{e}");
    for (x, y, z) in [(max, max, max), (min, min, min)] {
        let e = c.error(
            "goxel.flood_fill",
            json!({"x": x, "y": y, "z": z, "color": [1, 2, 3]}),
        );
        assert_eq!(e["code"], -32602, "{e}");
        let e = c.error(
            "goxel.add_voxel",
            json!({"x": x, "y": y, "z": z, "color": [1, 2, 3]}),
        );
        assert_eq!(e["code"], -32602, "{e}");
        assert_eq!(
            c.result("goxel.get_voxel", json!({"x": x, "y": y, "z": z}))["exists"],
            false
        );
    }
    let r = c.result(
        "goxel.get_voxels_region",
        json!({"min": [min, min, min], "max": [max, max, max]}),
    );
    assert_eq!(r["total"], 0);
    let r = c.call(
        "goxel.execute_script",
        json!({"script": "goxel.fillSphere(2147483647, 0, 0, 2147483647, [1,2,3])"}),
    );
    assert_eq!(r["result"]["success"], false, "{r}");
    assert_eq!(r["result"]["error"]["name"], "RangeError", "{r}");
    assert_eq!(c.result("goxel.get_status", Value::Null)["voxel_count"], 0);
}
