//! Data-driven wire tests: a request line in, the response lines out, compared as JSON values.
//! The first block is every example of section 7 of the JSON-RPC 2.0 specification.

use serde_json::{Value, json};
use voxeld::rpc::{Dispatch, Frame, LineFramer, Request, RpcError, handle_line, write_oversized};

/// The specification's example methods.
struct SpecMethods;

impl Dispatch for SpecMethods {
    type Output = Value;

    fn dispatch(&mut self, request: &Request<'_>) -> Result<Value, RpcError> {
        let p = &request.params;
        match &*request.method {
            "subtract" => {
                let minuend: i64 = p.required("minuend", 0)?;
                let subtrahend: i64 = p.required("subtrahend", 1)?;
                Ok(json!(minuend - subtrahend))
            }
            "sum" => {
                let values: Vec<i64> = (0..p.len())
                    .map(|i| p.required::<i64>("", i))
                    .collect::<Result<_, _>>()?;
                Ok(json!(values.iter().sum::<i64>()))
            }
            "notify_hello" => Ok(Value::Null),
            "get_data" => Ok(json!(["hello", 5])),
            "voxel" => {
                let (position, next) = p.position_and_next()?;
                let color = p.required_color("color", next)?;
                Ok(json!({"position": position, "color": color}))
            }
            other => Err(RpcError::method_not_found(other)),
        }
    }
}

/// Feeds `input` through a framer and the dispatcher; returns the reply lines.
fn run(input: &str, max_frame: usize) -> Vec<String> {
    let mut framer = LineFramer::new(max_frame);
    let mut out = Vec::new();
    framer.push(input.as_bytes());
    framer.finish();
    while let Some(frame) = framer.next_frame() {
        match frame {
            Frame::Line(line) => handle_line(line, &mut SpecMethods, &mut out),
            Frame::Oversized => write_oversized(&mut out),
        }
    }
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "unterminated: {text}"
    );
    text.lines().map(str::to_string).collect()
}

fn check(cases: &[(&str, &[&str])]) {
    for (input, expected) in cases {
        let got = run(input, 1 << 20);
        let got: Vec<Value> = got
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect();
        let expected: Vec<Value> = expected
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(got, expected, "input: {input}");
    }
}

#[test]
fn spec_section_7_examples() {
    check(&[
        // rpc call with positional parameters
        (
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#,
            &[r#"{"jsonrpc": "2.0", "result": 19, "id": 1}"#],
        ),
        (
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}"#,
            &[r#"{"jsonrpc": "2.0", "result": -19, "id": 2}"#],
        ),
        // rpc call with named parameters
        (
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}"#,
            &[r#"{"jsonrpc": "2.0", "result": 19, "id": 3}"#],
        ),
        (
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}"#,
            &[r#"{"jsonrpc": "2.0", "result": 19, "id": 4}"#],
        ),
        // a notification
        (
            r#"{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}"#,
            &[],
        ),
        (r#"{"jsonrpc": "2.0", "method": "foobar"}"#, &[]),
        // rpc call of non-existent method
        (
            r#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#,
            &[
                r#"{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "1"}"#,
            ],
        ),
        // rpc call with invalid JSON
        (
            r#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#,
            &[
                r#"{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}"#,
            ],
        ),
        // rpc call with invalid Request object
        (
            r#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#,
            &[
                r#"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}"#,
            ],
        ),
        // rpc call Batch, invalid JSON
        (
            r#"[ {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"}, {"jsonrpc": "2.0", "method" ]"#,
            &[
                r#"{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}"#,
            ],
        ),
        // rpc call with an empty Array
        (
            "[]",
            &[
                r#"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}"#,
            ],
        ),
        // rpc call with an invalid Batch (but not empty)
        (
            "[1]",
            &[
                r#"[{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}]"#,
            ],
        ),
        // rpc call with invalid Batch
        (
            "[1,2,3]",
            &[concat!(
                r#"[{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},"#,
                r#"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},"#,
                r#"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}]"#
            )],
        ),
        // rpc call Batch
        (
            concat!(
                r#"[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},"#,
                r#"{"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},"#,
                r#"{"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},"#,
                r#"{"foo": "boo"},"#,
                r#"{"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},"#,
                r#"{"jsonrpc": "2.0", "method": "get_data", "id": "9"}]"#
            ),
            &[concat!(
                r#"[{"jsonrpc": "2.0", "result": 7, "id": "1"},"#,
                r#"{"jsonrpc": "2.0", "result": 19, "id": "2"},"#,
                r#"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},"#,
                r#"{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "5"},"#,
                r#"{"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"}]"#
            )],
        ),
        // rpc call Batch (all notifications)
        (
            r#"[{"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]}, {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}]"#,
            &[],
        ),
    ]);
}

#[test]
fn envelope_edge_cases() {
    const INVALID_NULL: &str =
        r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}"#;
    check(&[
        // Wrong or missing version: the id is echoed because it is valid.
        (
            r#"{"jsonrpc":"1.0","method":"get_data","id":7}"#,
            &[r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":7}"#],
        ),
        (
            r#"{"method":"get_data","id":"a"}"#,
            &[r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":"a"}"#],
        ),
        // Params must be structured; `null` means none, as in the Goxel daemon.
        (
            r#"{"jsonrpc":"2.0","method":"get_data","params":null,"id":1}"#,
            &[r#"{"jsonrpc":"2.0","result":["hello",5],"id":1}"#],
        ),
        (
            r#"{"jsonrpc":"2.0","method":"get_data","params":3,"id":1}"#,
            &[r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":1}"#],
        ),
        // Invalid id types are not echoed.
        (
            r#"{"jsonrpc":"2.0","method":"get_data","id":{"a":1}}"#,
            &[INVALID_NULL],
        ),
        (
            r#"{"jsonrpc":"2.0","method":"get_data","id":true}"#,
            &[INVALID_NULL],
        ),
        // A null id is a request, not a notification.
        (
            r#"{"jsonrpc":"2.0","method":"get_data","id":null}"#,
            &[r#"{"jsonrpc":"2.0","result":["hello",5],"id":null}"#],
        ),
        // Top-level scalars and strings are invalid requests.
        ("1", &[INVALID_NULL]),
        (r#""text""#, &[INVALID_NULL]),
        // Duplicate envelope members are rejected rather than guessed.
        (
            r#"{"jsonrpc":"2.0","method":"get_data","method":"sum","id":1}"#,
            &[INVALID_NULL],
        ),
        // Escapes in the method name work.
        (
            r#"{"jsonrpc":"2.0","method":"get\u005fdata","id":1}"#,
            &[r#"{"jsonrpc":"2.0","result":["hello",5],"id":1}"#],
        ),
        // Errors from a method carry the id.
        (
            r#"{"jsonrpc":"2.0","method":"subtract","params":{"minuend":"x","subtrahend":1},"id":1}"#,
            &[
                r#"{"jsonrpc":"2.0","error":{"code":-32602,"message":"invalid params: field 'minuend': invalid type: string \"x\", expected i64"},"id":1}"#,
            ],
        ),
    ]);
}

#[test]
fn several_values_on_one_line_are_separate_messages() {
    check(&[
        (
            r#"{"jsonrpc":"2.0","method":"sum","params":[1],"id":1}{"jsonrpc":"2.0","method":"sum","params":[2],"id":2}"#,
            &[
                r#"{"jsonrpc":"2.0","result":1,"id":1}"#,
                r#"{"jsonrpc":"2.0","result":2,"id":2}"#,
            ],
        ),
        (
            r#"  {"jsonrpc":"2.0","method":"sum","params":[1],"id":1}   [{"jsonrpc":"2.0","method":"sum","params":[2],"id":2}] "#,
            &[
                r#"{"jsonrpc":"2.0","result":1,"id":1}"#,
                r#"[{"jsonrpc":"2.0","result":2,"id":2}]"#,
            ],
        ),
        // A malformed remainder gives one parse error after the good values.
        (
            r#"{"jsonrpc":"2.0","method":"sum","params":[1],"id":1} {"jsonrpc" {"x":1}"#,
            &[
                r#"{"jsonrpc":"2.0","result":1,"id":1}"#,
                r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}"#,
            ],
        ),
        // Lines: CRLF, blank lines, a final line without newline.
        (
            "{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[1],\"id\":1}\r\n\r\n\n{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[3],\"id\":3}",
            &[
                r#"{"jsonrpc":"2.0","result":1,"id":1}"#,
                r#"{"jsonrpc":"2.0","result":3,"id":3}"#,
            ],
        ),
        // Non-ASCII method names are just unknown methods.
        (
            "{\"jsonrpc\":\"2.0\",\"method\":\"\u{FFFD}\",\"id\":1}",
            &[r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":1}"#],
        ),
    ]);
}

#[test]
fn invalid_utf8_is_a_parse_error() {
    let mut out = Vec::new();
    handle_line(
        b"{\"jsonrpc\":\"2.0\",\"method\":\"\xff\",\"id\":1}",
        &mut SpecMethods,
        &mut out,
    );
    let got: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        got,
        json!({"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null})
    );
}

#[test]
fn ids_keep_their_exact_text() {
    let lines = run(
        concat!(
            "{\"jsonrpc\":\"2.0\",\"method\":\"get_data\",\"id\":12345678901234567890123}\n",
            "{\"jsonrpc\":\"2.0\",\"method\":\"get_data\",\"id\":1.50}\n",
            "{\"jsonrpc\":\"2.0\",\"method\":\"get_data\",\"id\":\"a\\\"b\"}\n",
        ),
        1 << 20,
    );
    assert_eq!(
        lines,
        [
            r#"{"jsonrpc":"2.0","result":["hello",5],"id":12345678901234567890123}"#,
            r#"{"jsonrpc":"2.0","result":["hello",5],"id":1.50}"#,
            r#"{"jsonrpc":"2.0","result":["hello",5],"id":"a\"b"}"#,
        ]
    );
}

#[test]
fn oversized_line_then_good_line() {
    let big = format!(
        "{{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[{}],\"id\":1}}\n",
        vec!["1"; 100].join(",")
    );
    let input =
        format!("{big}{{\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[2],\"id\":2}}\n");
    assert_eq!(
        run(&input, 100),
        [
            r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}"#,
            r#"{"jsonrpc":"2.0","result":2,"id":2}"#,
        ]
    );
}

#[test]
fn voxel_params_by_name_and_by_position() {
    let ok = r#"{"jsonrpc":"2.0","result":{"position":[1,-2,3],"color":[255,0,0,255]},"id":1}"#;
    let call =
        |params: &str| format!(r#"{{"jsonrpc":"2.0","method":"voxel","params":{params},"id":1}}"#);
    for params in [
        r#"{"x":1,"y":-2,"z":3,"color":[255,0,0,255]}"#,
        r#"{"x":1,"y":-2,"z":3.0,"color":[255,0,0]}"#,
        r##"{"position":[1,-2,3],"color":"#ff0000"}"##,
        r##"{"position":{"x":1,"y":-2,"z":3},"color":"#FF0000ff"}"##,
        r#"{"x":1,"y":-2,"z":3,"color":{"r":255,"g":0,"b":0}}"#,
        r#"{"x":1,"y":-2,"z":3,"rgba":[255,0,0,255]}"#,
        r#"{"x":1,"y":-2,"z":3,"r":255,"g":0,"b":0}"#,
        r#"[1,-2,3,[255,0,0,255]]"#,
        r#"[1,-2,3,255,0,0,255]"#,
        r#"[1,-2,3,255,0,0]"#,
        r##"[[1,-2,3],"#ff0000"]"##,
    ] {
        check(&[(&call(params), &[ok])]);
    }
}

/// The Goxel daemon's leniency: a missing coordinate is 0, integer channels clamp to 0..255, a
/// fraction is an intensity scaled by 255, and missing channels default to r,g,b 0, a 255.
#[test]
fn daemon_defaults_clamping_and_fractions() {
    let call =
        |params: &str| format!(r#"{{"jsonrpc":"2.0","method":"voxel","params":{params},"id":1}}"#);
    let reply = |p: [i32; 3], c: [u8; 4]| {
        json!({"jsonrpc":"2.0","result":{"position":p,"color":c},"id":1}).to_string()
    };
    for (params, p, c) in [
        (
            r#"{"x":4,"y":5,"color":[1,2,3]}"#,
            [4, 5, 0],
            [1, 2, 3, 255],
        ),
        (r#"{"color":[1,2,3]}"#, [0, 0, 0], [1, 2, 3, 255]),
        (r#"[1,-2,3,300,-5,0.5]"#, [1, -2, 3], [255, 0, 128, 255]),
        (
            r#"{"x":1,"y":2,"z":3,"r":255}"#,
            [1, 2, 3],
            [255, 0, 0, 255],
        ),
        (
            r#"{"x":1,"y":2,"z":3,"color":[1.0,0.25,0,0.5]}"#,
            [1, 2, 3],
            [255, 64, 0, 128],
        ),
        (
            r#"{"x":1,"y":2,"z":3,"color":[99999999999999999999,2,3]}"#,
            [1, 2, 3],
            [255, 2, 3, 255],
        ),
    ] {
        check(&[(&call(params), &[&reply(p, c)])]);
    }
}

#[test]
fn bad_voxel_params_name_the_field() {
    let cases = [
        (
            r#"{"x":1.5,"y":0,"z":0,"color":[1,2,3]}"#,
            "field 'x': expected an integer, got 1.5",
        ),
        (
            r#"{"x":0,"y":"1","z":0,"color":[1,2,3]}"#,
            "field 'y': expected an integer, got a string",
        ),
        (
            r#"{"x":0,"y":0,"z":2147483648,"color":[1,2,3]}"#,
            "field 'z': 2147483648 is out of range for i32",
        ),
        (
            r#"{"position":[0,0],"color":[1,2,3]}"#,
            "field 'position': expected [x,y,z] or {x,y,z}",
        ),
        (
            r#"{"position":{"x":0,"y":0,"z":true},"color":[1,2,3]}"#,
            "field 'position.z': expected an integer, got a boolean",
        ),
        (
            r#"[0,0,1e300,[1,2,3]]"#,
            "field 'z': 1e300 is out of range for i32",
        ),
        (r#"{"x":0,"y":0,"z":0}"#, "field 'color': missing"),
        (
            r#"{"x":0,"y":0,"z":0,"color":[1,"2",3]}"#,
            r##"field 'color': colour component "2" is not a number; expected [r,g,b], [r,g,b,a], "#RRGGBB", "#RRGGBBAA" or {r,g,b,a}"##,
        ),
        (
            r#"{"x":0,"y":0,"z":0,"color":[1,2]}"#,
            r##"field 'color': expected [r,g,b], [r,g,b,a], "#RRGGBB", "#RRGGBBAA" or {r,g,b,a}"##,
        ),
        (
            r##"{"x":0,"y":0,"z":0,"color":"#12345"}"##,
            r##"field 'color': expected [r,g,b], [r,g,b,a], "#RRGGBB", "#RRGGBBAA" or {r,g,b,a}"##,
        ),
        (
            r#"{"x":0,"y":0,"z":0,"color":{"r":1,"g":2}}"#,
            r##"field 'color': expected [r,g,b], [r,g,b,a], "#RRGGBB", "#RRGGBBAA" or {r,g,b,a}"##,
        ),
    ];
    for (params, why) in cases {
        let line = format!(r#"{{"jsonrpc":"2.0","method":"voxel","params":{params},"id":1}}"#);
        let expected = json!({
            "jsonrpc": "2.0",
            "error": {"code": -32602, "message": format!("invalid params: {why}")},
            "id": 1
        });
        check(&[(&line, &[&expected.to_string()])]);
    }
}

/// Regression guard for "bad input is an error reply, never a panic": every truncation and
/// many single-byte mutations of valid lines produce only well-formed reply lines.
#[test]
fn mutated_lines_never_panic_and_replies_stay_well_formed() {
    let seeds = [
        r##"{"jsonrpc":"2.0","method":"voxel","params":{"x":1,"y":2,"z":3,"color":"#ff0000"},"id":"a"}"##,
        r#"[{"jsonrpc":"2.0","method":"voxel","params":[1,2,3,255,0,0],"id":1},{"jsonrpc":"2.0","method":"sum","params":[1]}]"#,
        r#"{"jsonrpc":"2.0","method":"voxel","params":{"position":{"x":1,"y":2,"z":3},"color":{"r":1,"g":2,"b":3}},"id":1.5}"#,
    ];
    let replacements = b"{}[]\",:0-9.e\\ntx#\xff ";
    for seed in seeds {
        let bytes = seed.as_bytes();
        let mut variants: Vec<Vec<u8>> = (0..bytes.len()).map(|i| bytes[..i].to_vec()).collect();
        for i in 0..bytes.len() {
            for &r in replacements {
                let mut v = bytes.to_vec();
                v[i] = r;
                variants.push(v);
            }
        }
        for variant in variants {
            let mut out = Vec::new();
            handle_line(&variant, &mut SpecMethods, &mut out);
            for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let reply: Value = serde_json::from_slice(line).unwrap_or_else(|e| {
                    panic!("bad reply {:?}: {e}", String::from_utf8_lossy(line))
                });
                assert!(reply.is_object() || reply.is_array());
            }
        }
    }
}
