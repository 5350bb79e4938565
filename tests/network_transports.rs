//! The TCP and WebSocket transports end to end: the same methods and notifications as the Unix
//! socket, tokens and their permissions, the `Origin` check, the static page, and file paths
//! kept inside `files.roots` for remote clients.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;

use serde_json::{Value, json};
use support::{READ_TIMEOUT, TestServer};
use tungstenite::client::IntoClientRequest;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};
use voxeld::config::{Config, Permission, TokenConfig};

const READER: &str = "reader-token-0123456789";
const ADMIN: &str = "admin-token-0123456789";

fn networked(tweak: impl FnOnce(&mut Config)) -> TestServer {
    TestServer::start_with(|c| {
        c.tcp.enabled = true;
        c.tcp.address = "127.0.0.1:0".into();
        c.websocket.enabled = true;
        c.websocket.address = "127.0.0.1:0".into();
        tweak(c);
    })
}

fn with_tokens(c: &mut Config) {
    c.auth.tokens = vec![
        TokenConfig {
            token: READER.into(),
            permissions: vec![Permission::Read],
        },
        TokenConfig {
            token: ADMIN.into(),
            permissions: vec![Permission::Admin],
        },
    ];
}

fn tcp_addr(s: &TestServer) -> SocketAddr {
    s.server.as_ref().unwrap().tcp.unwrap()
}

fn ws_addr(s: &TestServer) -> SocketAddr {
    s.server.as_ref().unwrap().websocket.unwrap()
}

/// One message in, one out, whatever the transport.
trait Wire {
    fn send(&mut self, text: &str);
    fn recv(&mut self) -> Value;

    /// Calls `method` and returns the reply, keeping notifications met on the way.
    fn call(&mut self, notes: &mut Vec<Value>, id: u64, method: &str, params: Value) -> Value {
        self.send(
            &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string(),
        );
        loop {
            let v = self.recv();
            if v.get("id").is_some() {
                assert_eq!(v["id"], id, "{v}");
                return v;
            }
            notes.push(v);
        }
    }
}

struct Tcp(BufReader<TcpStream>, TcpStream);

impl Tcp {
    fn connect(addr: SocketAddr) -> Tcp {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        Tcp(BufReader::new(s.try_clone().unwrap()), s)
    }
}

impl Wire for Tcp {
    fn send(&mut self, text: &str) {
        self.1.write_all(format!("{text}\n").as_bytes()).unwrap();
    }
    fn recv(&mut self) -> Value {
        let mut line = String::new();
        assert!(self.0.read_line(&mut line).unwrap() > 0, "closed");
        serde_json::from_str(&line).unwrap()
    }
}

struct Ws(WebSocket<MaybeTlsStream<TcpStream>>);

impl Ws {
    fn connect(url: &str, headers: &[(&str, &str)]) -> Result<Ws, tungstenite::Error> {
        let mut request = url.into_client_request().unwrap();
        for (k, v) in headers {
            let name = tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap();
            request.headers_mut().insert(name, v.parse().unwrap());
        }
        let (ws, _) = tungstenite::connect(request)?;
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        }
        Ok(Ws(ws))
    }

    fn refused_with(url: &str, headers: &[(&str, &str)]) -> u16 {
        match Ws::connect(url, headers) {
            Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
            Err(e) => panic!("expected an HTTP refusal, got {e}"),
            Ok(_) => panic!("the upgrade should have been refused"),
        }
    }
}

impl Wire for Ws {
    fn send(&mut self, text: &str) {
        self.0.send(Message::text(text.to_string())).unwrap();
    }
    fn recv(&mut self) -> Value {
        loop {
            match self.0.read().unwrap() {
                Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("unexpected message {other:?}"),
            }
        }
    }
}

fn ok(reply: Value) -> Value {
    assert!(reply.get("error").is_none(), "{reply}");
    reply["result"].clone()
}

/// Subscribe on `watcher`, edit on `editor`, see the notification, unsubscribe, see silence.
fn subscribe_notify_unsubscribe(watcher: &mut dyn Wire, editor: &mut dyn Wire, x: i32) {
    let mut notes = Vec::new();
    let id = ok(watcher.call(
        &mut notes,
        1,
        "goxel.subscribe",
        json!({"events": ["world_changed"]}),
    ))["subscription"]
        .clone();
    ok(editor.call(
        &mut notes,
        2,
        "goxel.add_voxel",
        json!({"x": x, "y": 0, "z": 0, "color": [1, 2, 3, 255]}),
    ));
    let note = watcher.recv();
    assert_eq!(note["method"], "goxel.world_changed", "{note}");
    assert_eq!(note["params"]["subscription"], id);
    assert_eq!(note["params"]["chunks"], json!([[1, x / 16, 0, 0]]));
    ok(watcher.call(
        &mut notes,
        3,
        "goxel.unsubscribe",
        json!({"subscription": id}),
    ));
    ok(editor.call(
        &mut notes,
        4,
        "goxel.add_voxel",
        json!({"x": x, "y": 1, "z": 0, "color": [1, 2, 3, 255]}),
    ));
    assert!(watcher.call(&mut notes, 5, "ping", json!({}))["result"]["pong"] == true);
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn subscribe_notify_unsubscribe_over_tcp_and_websocket() {
    let server = networked(|_| {});
    let url = format!("ws://{}/", ws_addr(&server));
    let mut tcp_watcher = Tcp::connect(tcp_addr(&server));
    let mut ws_editor = Ws::connect(&url, &[]).unwrap();
    subscribe_notify_unsubscribe(&mut tcp_watcher, &mut ws_editor, 40);
    let mut ws_watcher = Ws::connect(&url, &[]).unwrap();
    let mut tcp_editor = Tcp::connect(tcp_addr(&server));
    subscribe_notify_unsubscribe(&mut ws_watcher, &mut tcp_editor, 80);
    // A batch in one text frame is answered in one text frame.
    ws_watcher.send(
        r#"[{"jsonrpc":"2.0","id":7,"method":"ping"},{"jsonrpc":"2.0","id":8,"method":"version"}]"#,
    );
    let batch = ws_watcher.recv();
    assert_eq!(batch.as_array().unwrap().len(), 2, "{batch}");
}

#[test]
fn with_tokens_configured_nothing_works_before_a_valid_token_and_a_read_token_cannot_edit() {
    let server = networked(with_tokens);
    let mut notes = Vec::new();
    // TCP: no token, nothing works, not even ping; a wrong token is refused.
    let mut tcp = Tcp::connect(tcp_addr(&server));
    for (i, method) in [
        "ping",
        "goxel.get_status",
        "goxel.add_voxel",
        "goxel.nosuch",
    ]
    .iter()
    .enumerate()
    {
        let e = tcp.call(&mut notes, i as u64, method, json!({}));
        assert_eq!(e["error"]["code"], -32030, "{method}: {e}");
    }
    let e = tcp.call(
        &mut notes,
        10,
        "goxel.authenticate",
        json!({"token": "reader-token-012345678"}),
    );
    assert_eq!(e["error"]["code"], -32030, "{e}");
    assert_eq!(e["error"]["message"], "invalid token");
    let r = ok(tcp.call(
        &mut notes,
        11,
        "goxel.authenticate",
        json!({"token": READER}),
    ));
    assert_eq!(r["permissions"], json!(["read"]));
    ok(tcp.call(
        &mut notes,
        12,
        "goxel.get_voxel",
        json!({"x": 0, "y": 0, "z": 0}),
    ));
    ok(tcp.call(&mut notes, 13, "goxel.subscribe", json!({})));
    for (i, (method, params)) in [
        (
            "goxel.add_voxel",
            json!({"x": 0, "y": 0, "z": 0, "color": [1, 2, 3, 255]}),
        ),
        ("goxel.execute_script", json!({"script": "1"})),
        ("goxel.save_project", json!({"path": "x.gox"})),
    ]
    .into_iter()
    .enumerate()
    {
        let e = tcp.call(&mut notes, 20 + i as u64, method, params);
        assert_eq!(e["error"]["code"], -32031, "{method}: {e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(method),
            "{e}"
        );
    }
    // The read token's edits changed nothing.
    assert_eq!(
        ok(tcp.call(&mut notes, 30, "goxel.get_status", json!({})))["voxel_count"],
        0
    );

    // WebSocket: a token in the header or query; a wrong one refuses the upgrade.
    let url = format!("ws://{}/", ws_addr(&server));
    assert_eq!(
        Ws::refused_with(&format!("{url}?token=wrong-token-0123456789"), &[]),
        401
    );
    assert_eq!(
        Ws::refused_with(&url, &[("Authorization", "Bearer wrong-token-0123456789")]),
        401
    );
    let mut reader = Ws::connect(&url, &[("Authorization", &format!("Bearer {READER}"))]).unwrap();
    ok(reader.call(&mut notes, 1, "goxel.get_status", json!({})));
    let e = reader.call(
        &mut notes,
        2,
        "goxel.add_voxel",
        json!({"x": 0, "y": 0, "z": 0, "color": [1, 2, 3, 255]}),
    );
    assert_eq!(e["error"]["code"], -32031, "{e}");
    let mut admin = Ws::connect(&format!("{url}?token={ADMIN}"), &[]).unwrap();
    ok(admin.call(
        &mut notes,
        1,
        "goxel.add_voxel",
        json!({"x": 0, "y": 0, "z": 0, "color": [1, 2, 3, 255]}),
    ));
    // No token at the upgrade: connected, but nothing works until goxel.authenticate.
    let mut late = Ws::connect(&url, &[]).unwrap();
    assert_eq!(
        late.call(&mut notes, 1, "goxel.get_status", json!({}))["error"]["code"],
        -32030
    );
    ok(late.call(&mut notes, 2, "goxel.authenticate", json!({"token": ADMIN})));
    assert_eq!(
        ok(late.call(&mut notes, 3, "goxel.get_status", json!({})))["voxel_count"],
        1
    );
    // The Unix socket is guarded by its file mode and needs no token.
    let mut unix = server.client();
    unix.result(
        "goxel.add_voxel",
        json!({"x": 1, "y": 0, "z": 0, "color": [1, 2, 3, 255]}),
    );
}

#[test]
fn a_foreign_origin_cannot_open_a_websocket_and_loopback_pages_and_listed_origins_can() {
    let server = networked(|c| c.websocket.allowed_origins = vec!["https://viewer.example".into()]);
    let addr = ws_addr(&server);
    let url = format!("ws://{addr}/");
    for origin in [
        "http://evil.example",
        "http://127.0.0.1:1",
        "https://viewer.example.evil",
        "null",
    ] {
        assert_eq!(
            Ws::refused_with(&url, &[("Origin", origin)]),
            403,
            "{origin}"
        );
    }
    let mut notes = Vec::new();
    for origin in [
        format!("http://127.0.0.1:{}", addr.port()),
        format!("http://localhost:{}", addr.port()),
        "https://viewer.example".into(),
    ] {
        let mut ws = Ws::connect(&url, &[("Origin", &origin)]).unwrap();
        ok(ws.call(&mut notes, 1, "ping", json!({})));
    }
}

#[test]
fn the_websocket_port_serves_the_viewer_over_plain_http() {
    let server = networked(|_| {});
    let mut s = TcpStream::connect(ws_addr(&server)).unwrap();
    s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut page = String::new();
    s.read_to_string(&mut page).unwrap();
    assert!(
        page.starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        &page[..60.min(page.len())]
    );
    assert!(page.contains("Content-Type: text/html"));
    assert!(page.contains("viewer.js"), "the page loads the viewer");
    let mut s = TcpStream::connect(ws_addr(&server)).unwrap();
    s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    s.write_all(b"GET /viewer.js HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut script = String::new();
    s.read_to_string(&mut script).unwrap();
    assert!(
        script.contains("Content-Type: text/javascript"),
        "{}",
        &script[..80.min(script.len())]
    );
    assert!(script.contains("goxel.subscribe"), "the viewer subscribes");
    let mut s = TcpStream::connect(ws_addr(&server)).unwrap();
    s.write_all(b"GET /../etc/passwd HTTP/1.1\r\n\r\n").unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 404"), "{reply}");
}

#[test]
fn remote_clients_cannot_reach_files_outside_the_roots() {
    let server = networked(|_| {});
    let mut tcp = Tcp::connect(tcp_addr(&server));
    let mut notes = Vec::new();
    let e = tcp.call(
        &mut notes,
        1,
        "goxel.load_project",
        json!({"path": "/etc/passwd"}),
    );
    assert_eq!(e["error"]["code"], -1002, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("files.roots"),
        "{e}"
    );
    let e = tcp.call(
        &mut notes,
        2,
        "goxel.save_project",
        json!({"path": "../../outside.gox"}),
    );
    assert!(e.get("error").is_some(), "{e}");
    assert!(!server.dir.path().join("outside.gox").exists());
    let e = tcp.call(
        &mut notes,
        3,
        "goxel.export_model",
        json!({"path": "/etc/voxeld-test.vox", "format": "vox"}),
    );
    assert!(e.get("error").is_some(), "{e}");
}

#[test]
fn a_tokens_file_others_can_read_is_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens.txt");
    std::fs::write(&file, format!("{READER} Read\n")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut config = Config::default();
    config.socket.path = dir.path().join("s.sock");
    config.data_dir = dir.path().join("data");
    config.tcp.enabled = true;
    config.tcp.address = "127.0.0.1:0".into();
    config.auth.tokens_file = Some(file.clone());
    let err = voxeld::server::spawn(config.clone())
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("chmod 600"), "{err}");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let server = voxeld::server::spawn(config).unwrap();
    let mut tcp = Tcp::connect(server.tcp.unwrap());
    let mut notes = Vec::new();
    ok(tcp.call(
        &mut notes,
        1,
        "goxel.authenticate",
        json!({"token": READER}),
    ));
    ok(tcp.call(&mut notes, 2, "goxel.get_status", json!({})));
    server.stop().unwrap();
}

/// Regression: a reply larger than tungstenite's old 1 MiB write-buffer limit (here a
/// ~2.8 MB `get_chunks` of 64 many-coloured chunks) was refused by tungstenite for ever, so
/// the connection stalled until the slow-reader timeout dropped it.
#[test]
fn a_websocket_reply_of_megabytes_arrives_whole() {
    let server = networked(|_| {});
    let mut unix = server.client();
    let script = "for (let z = 0; z < 16; z++) for (let y = 0; y < 128; y++) for (let x = 0; x < 128; x++) goxel.addVoxel(x, y, z, [x * 2, y * 2, z * 16, 255]);";
    let filled = unix.result("goxel.execute_script", json!({ "script": script }));
    assert_eq!(filled["success"], true, "{filled}");
    let mut ws = Ws::connect(&format!("ws://{}/", ws_addr(&server)), &[]).unwrap();
    let mut notes = Vec::new();
    for id in 1..=3 {
        let reply = ws.call(&mut notes, id, "goxel.get_chunks", json!({}));
        let chunks = reply["result"]["chunks"].as_array().expect("chunks");
        assert_eq!(chunks.len(), 64, "{}", &reply.to_string()[..200]);
        let bytes: usize = chunks
            .iter()
            .map(|c| c["data"].as_str().unwrap().len())
            .sum();
        assert!(
            bytes > 2 << 20,
            "the reply is over 2 MiB ({bytes} bytes of chunk data)"
        );
    }
}
