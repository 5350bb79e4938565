//! JSON-RPC 2.0 over a real socket: the specification's section 7 examples compared as JSON
//! values, framing (several requests per write, several values per line, oversized frames),
//! pipelining, misbehaving clients, the connection limit and the socket file's life cycle.

mod support;

use std::io::Write;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use serde_json::{Value, json};
use support::{Client, TestServer, eventually};
use voxeld::config::Config;

const SENTINEL: &str = r#"{"jsonrpc":"2.0","method":"echo","params":["pong"],"id":"sentinel"}"#;

/// Sends `input` as one line, then a `ping` sentinel; returns every reply line before the
/// sentinel's. An input that deserves no reply thus yields an empty list, proven by the
/// sentinel's reply being the very next line.
fn replies_to(c: &mut Client, input: &str) -> Vec<Value> {
    c.send_line(input);
    c.send_line(SENTINEL);
    let mut replies = Vec::new();
    loop {
        let reply = c.read_json();
        if reply == json!({"jsonrpc":"2.0","result":["pong"],"id":"sentinel"}) {
            return replies;
        }
        replies.push(reply);
    }
}

fn parse(lines: &[&str]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn spec_section_7_over_the_socket() {
    let server = TestServer::start();
    let mut c = server.client();
    let cases: &[(&str, &[&str])] = &[
        // rpc call with positional and named parameters
        (
            r#"{"jsonrpc": "2.0", "method": "echo", "params": [42, 23], "id": 1}"#,
            &[r#"{"jsonrpc": "2.0", "result": [42, 23], "id": 1}"#],
        ),
        (
            r#"{"jsonrpc": "2.0", "method": "echo", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}"#,
            &[r#"{"jsonrpc": "2.0", "result": {"subtrahend": 23, "minuend": 42}, "id": 3}"#],
        ),
        // notifications, of a known and of an unknown method
        (
            r#"{"jsonrpc": "2.0", "method": "echo", "params": [1,2,3,4,5]}"#,
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
            &[r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}"#],
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
            r#"[ {"jsonrpc": "2.0", "method": "echo", "params": [1,2,4], "id": "1"}, {"jsonrpc": "2.0", "method" ]"#,
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
        // rpc call Batch, with a notification, an invalid entry and a missing method
        (
            concat!(
                r#"[{"jsonrpc": "2.0", "method": "echo", "params": [1,2,4], "id": "1"},"#,
                r#"{"jsonrpc": "2.0", "method": "ping", "params": [7]},"#,
                r#"{"jsonrpc": "2.0", "method": "echo", "params": {"a": 19}, "id": "2"},"#,
                r#"{"foo": "boo"},"#,
                r#"{"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},"#,
                r#"{"jsonrpc": "2.0", "method": "echo", "params": ["pong"], "id": "9"}]"#
            ),
            &[concat!(
                r#"[{"jsonrpc": "2.0", "result": [1,2,4], "id": "1"},"#,
                r#"{"jsonrpc": "2.0", "result": {"a": 19}, "id": "2"},"#,
                r#"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},"#,
                r#"{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "5"},"#,
                r#"{"jsonrpc": "2.0", "result": ["pong"], "id": "9"}]"#
            )],
        ),
        // rpc call Batch (all notifications): no reply at all
        (
            r#"[{"jsonrpc": "2.0", "method": "ping", "params": [1,2,4]}, {"jsonrpc": "2.0", "method": "echo", "params": [7]}, {"jsonrpc": "2.0", "method": "nope"}]"#,
            &[],
        ),
        // ids: string, number, null are echoed as given
        (
            r#"{"jsonrpc":"2.0","method":"echo","params":["pong"],"id":null}"#,
            &[r#"{"jsonrpc":"2.0","result":["pong"],"id":null}"#],
        ),
        (
            r#"{"jsonrpc":"2.0","method":"echo","params":["pong"],"id":-1.5e3}"#,
            &[r#"{"jsonrpc":"2.0","result":["pong"],"id":-1.5e3}"#],
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(replies_to(&mut c, input), parse(expected), "input: {input}");
    }
}

#[test]
fn notifications_take_effect_without_a_reply() {
    let server = TestServer::start();
    let mut c = server.client();
    let replies = replies_to(
        &mut c,
        r#"{"jsonrpc":"2.0","method":"goxel.add_voxel","params":{"x":1,"y":1,"z":1,"color":[5,6,7]}}"#,
    );
    assert_eq!(replies, Vec::<Value>::new());
    let r = c.result("goxel.get_voxel", json!([1, 1, 1]));
    assert_eq!(r["color"], json!([5, 6, 7, 255]));
}

#[test]
fn several_requests_per_write_and_several_values_per_line() {
    let server = TestServer::start();
    let mut c = server.client();
    // Three lines in one write; an edit and then a read: the read sees the edit.
    c.send_raw(
        concat!(
            r#"{"jsonrpc":"2.0","method":"goxel.add_voxel","params":[0,0,0,[1,2,3]],"id":1}"#,
            "\n",
            r#"{"jsonrpc":"2.0","method":"goxel.get_voxel","params":[0,0,0],"id":2}"#,
            "\r\n\n",
            r#"{"jsonrpc":"2.0","method":"echo","params":["x"],"id":3}"#,
            "\n"
        )
        .as_bytes(),
    );
    assert_eq!(c.read_json()["id"], 1);
    let r = c.read_json();
    assert_eq!(r["id"], 2);
    assert_eq!(r["result"]["color"], json!([1, 2, 3, 255]));
    assert_eq!(
        c.read_json(),
        json!({"jsonrpc":"2.0","result":["x"],"id":3})
    );

    // Back-to-back values on one line (as the Goxel daemon accepts), with and without spaces.
    c.send_line(concat!(
        r#"{"jsonrpc":"2.0","method":"echo","params":["pong"],"id":"a"}"#,
        r#"{"jsonrpc":"2.0","method":"echo","params":[1],"id":"b"} "#,
        r#"[{"jsonrpc":"2.0","method":"echo","params":["pong"],"id":"c"}]"#
    ));
    assert_eq!(
        c.read_json(),
        json!({"jsonrpc":"2.0","result":["pong"],"id":"a"})
    );
    assert_eq!(
        c.read_json(),
        json!({"jsonrpc":"2.0","result":[1],"id":"b"})
    );
    assert_eq!(
        c.read_json(),
        json!([{"jsonrpc":"2.0","result":["pong"],"id":"c"}])
    );

    // One request split over many writes.
    let line = r#"{"jsonrpc":"2.0","method":"echo","params":["pong"],"id":"split"}"#;
    for chunk in line.as_bytes().chunks(5) {
        c.send_raw(chunk);
    }
    c.send_raw(b"\n");
    assert_eq!(c.read_json()["id"], "split");
}

#[test]
fn ten_thousand_pipelined_requests_are_answered_in_order() {
    const N: usize = 10_000;
    let server = TestServer::start();
    let mut c = server.client();
    c.result("goxel.add_voxel", json!([3, 4, 5, "#102030"]));
    let mut requests = String::new();
    for i in 0..N {
        let (x, id) = (i % 7, i);
        requests.push_str(&format!(
            r#"{{"jsonrpc":"2.0","method":"goxel.get_voxel","params":{{"x":{x},"y":4,"z":5}},"id":{id}}}"#
        ));
        requests.push('\n');
    }
    // Everything is written before any reply is read (on another thread, so a full socket
    // buffer cannot deadlock the test).
    let mut writer = UnixStream::connect(&server.socket).unwrap();
    let reader_stream = writer.try_clone().unwrap();
    let write = std::thread::spawn(move || writer.write_all(requests.as_bytes()).map(|_| writer));
    let mut reader = std::io::BufReader::new(reader_stream);
    reader
        .get_ref()
        .set_read_timeout(Some(support::READ_TIMEOUT))
        .unwrap();
    let mut line = String::new();
    for i in 0..N {
        line.clear();
        std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
        let reply: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(reply["id"], i, "{line}");
        let exists = i % 7 == 3;
        assert_eq!(reply["result"]["exists"], exists, "{line}");
        assert_eq!(reply["result"]["x"], i % 7);
    }
    let _writer = write.join().unwrap().unwrap();
}

#[test]
fn oversized_frame_is_a_parse_error_and_the_connection_survives() {
    let server = TestServer::start_with(|c| c.socket.max_frame_bytes = 256);
    let mut c = server.client();
    let big = format!(
        r#"{{"jsonrpc":"2.0","method":"echo","params":["{}"],"id":1}}"#,
        "x".repeat(1000)
    );
    c.send_line(&big);
    assert_eq!(
        c.read_json(),
        json!({"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null})
    );
    assert_eq!(c.result("echo", json!(["pong"])), json!(["pong"]));
    // An oversized line arriving in pieces, followed by a good line in the same write.
    c.send_raw(&[b'y'; 200]);
    c.send_raw(&[b'y'; 200]);
    c.send_raw(format!("{}\n{}\n", "y".repeat(200), SENTINEL).as_bytes());
    assert_eq!(
        c.read_json(),
        json!({"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null})
    );
    assert_eq!(c.read_json()["id"], "sentinel");
    // Exactly at the limit is fine.
    let pad = 256 - r#"{"jsonrpc":"2.0","method":"echo","params":[""],"id":2}"#.len();
    let fits = format!(
        r#"{{"jsonrpc":"2.0","method":"echo","params":["{}"],"id":2}}"#,
        "z".repeat(pad)
    );
    assert_eq!(fits.len(), 256);
    assert_eq!(c.request(&fits)["result"][0].as_str().unwrap().len(), pad);
}

#[test]
fn bad_clients_do_not_disturb_others() {
    let server = TestServer::start();
    let mut good = server.client();
    good.result("goxel.add_voxel", json!([0, 0, 0, [9, 9, 9]]));

    // Half a request, then gone.
    {
        let mut half = server.client();
        half.send_raw(br#"{"jsonrpc":"2.0","method":"goxel.add_voxel","params":[1,1,1,[1,1,"#);
    }
    assert_eq!(good.result("echo", json!(["pong"])), json!(["pong"]));
    // Garbage, including invalid UTF-8: a parse error, and that client keeps its connection.
    let mut garbage = server.client();
    garbage.send_raw(b"\xff\xfe\x00garbage{{{\n");
    assert_eq!(
        garbage.read_json(),
        json!({"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null})
    );
    garbage.send_raw(b"\x00\x01\x02 not json at all");
    garbage.shutdown_write();
    // The unterminated last line is answered too, then the server closes.
    let rest = garbage.read_to_eof();
    assert!(rest.len() <= 1, "{rest:?}");
    // A client that writes half a line and waits neither blocks nor corrupts another.
    let mut waiting = server.client();
    waiting.send_raw(br#"{"jsonrpc":"2.0","method":"ec"#);
    for i in 0..50 {
        let r = good.result("goxel.get_voxel", json!([0, 0, 0]));
        assert_eq!(r["color"], json!([9, 9, 9, 255]), "round {i}");
    }
    waiting.send_raw(b"ho\",\"params\":[\"pong\"],\"id\":7}\n");
    assert_eq!(
        waiting.read_json(),
        json!({"jsonrpc":"2.0","result":["pong"],"id":7})
    );
    // The half-sent edit was never applied.
    assert_eq!(
        good.result("goxel.get_voxel", json!([1, 1, 1]))["exists"],
        false
    );
    assert_eq!(
        good.result("goxel.get_layer_voxels", Value::Null)["total"],
        1
    );
}

#[test]
fn connection_limit_answers_the_extra_client_with_an_error() {
    let server = TestServer::start_with(|c| c.socket.max_connections = 2);
    let mut a = server.client();
    let mut b = server.client();
    assert_eq!(a.result("echo", json!(["pong"])), json!(["pong"]));
    assert_eq!(b.result("echo", json!(["pong"])), json!(["pong"]));

    let mut third = server.client();
    let lines = third.read_to_eof();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let reply: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(reply["id"], Value::Null);
    assert_eq!(reply["error"]["code"], -32000, "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too many connections"),
        "{reply}"
    );
    // The two admitted clients are unaffected.
    assert_eq!(a.result("echo", json!(["pong"])), json!(["pong"]));

    // Once one leaves, a new client is admitted (the server notices the close promptly).
    drop(b);
    let admitted = eventually(Duration::from_secs(5), || {
        let mut c = server.client();
        c.send_line(SENTINEL);
        let reply = c.read_json();
        reply["id"] == "sentinel"
    });
    assert!(admitted, "no slot freed after a client left");
    assert_eq!(a.result("echo", json!(["pong"])), json!(["pong"]));
}

#[test]
fn socket_file_mode_stale_file_live_server_and_removal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/dir/voxeld.sock");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    // A stale socket file: bound once, its listener gone, nobody answers.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let mut config = Config::default();
    config.socket.path = path.clone();
    config.data_dir = dir.path().join("data");
    let server = voxeld::server::spawn(config.clone()).unwrap();
    assert_eq!(server.socket, path);
    let meta = std::fs::metadata(&path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let mut c = Client::connect(&path);
    assert_eq!(c.result("echo", json!(["pong"])), json!(["pong"]));

    // A second server on a live socket is refused with a clear error; the first keeps going.
    let err = voxeld::server::spawn(config.clone())
        .err()
        .expect("second spawn must fail");
    let message = format!("{err:#}");
    assert!(message.contains("already listening"), "{message}");
    assert!(message.contains("voxeld.sock"), "{message}");
    assert_eq!(c.result("echo", json!(["pong"])), json!(["pong"]));

    server.stop().unwrap();
    assert!(!path.exists(), "socket file left behind after stop");
    // A path that is not a socket is never replaced.
    std::fs::write(&path, b"precious").unwrap();
    let err = voxeld::server::spawn(config).err().expect("must refuse");
    assert!(format!("{err:#}").contains("not a socket"), "{err:#}");
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
}

#[test]
fn configured_socket_mode_is_applied_and_drop_stops_the_server() {
    let server = TestServer::start_with(|c| c.socket.mode = 0o660);
    let mode = std::fs::metadata(&server.socket)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o660);
    let socket = server.socket.clone();
    drop(server);
    assert!(!socket.exists());
}

#[test]
fn a_second_server_on_the_same_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.socket.path = dir.path().join("a.sock");
    config.data_dir = dir.path().join("data");
    let first = voxeld::server::spawn(config.clone()).unwrap();
    config.socket.path = dir.path().join("b.sock");
    let err = voxeld::server::spawn(config.clone())
        .err()
        .expect("two servers on one journal");
    let message = format!("{err:#}");
    assert!(message.contains("in use by another voxeld"), "{message}");
    assert!(
        !config.socket.path.exists(),
        "the refused server leaves no socket behind"
    );
    first.stop().unwrap();
    // Once the first is gone, the directory is free again.
    voxeld::server::spawn(config).unwrap().stop().unwrap();
}
