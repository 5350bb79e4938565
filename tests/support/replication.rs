//! The replication harness shared by `tests/replication.rs` and `benches/replication.rs`:
//! `nats-server` clusters on free loopback ports (JetStream on, store in a temporary
//! directory) and `voxeld serve` children with replication on, plus a raw-socket client.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_voxeld");
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// The lease TTL of these tests: fail-over takes about this long.
pub const LEASE_TTL_MS: u64 = 2000;
/// How long a node may take to start (JetStream elects its cluster leaders meanwhile).
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `nats-server` child with JetStream on.
pub struct Nats {
    pub child: Child,
    pub port: u16,
    pub _dir: TempDir,
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `count` nats-servers, clustered when more than one; returns them and their client URLs.
pub fn nats_cluster(count: usize) -> (Vec<Nats>, Vec<String>) {
    match Command::new("nats-server").arg("--version").output() {
        Ok(o) if o.status.success() => {}
        _ => panic!(
            "nats-server is not installed (or not on PATH): the replication tests need it. Install it with `apt-get install nats-server` (Debian), as .ci/run does"
        ),
    }
    let ports: Vec<(u16, u16)> = (0..count).map(|_| (free_port(), free_port())).collect();
    let routes: Vec<String> = ports
        .iter()
        .map(|(_, c)| format!("nats://127.0.0.1:{c}"))
        .collect();
    let mut servers = Vec::new();
    for (i, (port, cluster)) in ports.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new("nats-server");
        command
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir.path())
            .args(["--server_name", &format!("n{i}")]);
        if count > 1 {
            command
                .args(["--cluster_name", "voxeld-test"])
                .args(["--cluster", &format!("nats://127.0.0.1:{cluster}")])
                .args(["--routes", &routes.join(",")]);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        servers.push(Nats {
            child,
            port: *port,
            _dir: dir,
        });
    }
    for s in &servers {
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", s.port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let urls = servers
        .iter()
        .map(|s| format!("nats://127.0.0.1:{}", s.port))
        .collect();
    (servers, urls)
}

/// A `voxeld serve` child in its own directory.
pub struct Node {
    pub child: Option<Child>,
    pub name: String,
    pub socket: PathBuf,
    pub dir: TempDir,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub struct NodeOptions {
    /// `replication.lease_ttl_ms` (fail-over takes about this long).
    pub lease_ttl_ms: u64,
    pub replicas: usize,
    pub snapshot_every: u64,
    pub keep: u64,
}

impl Node {
    pub fn start(name: &str, urls: &[String], o: &NodeOptions) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("voxeld.sock");
        let config = dir.path().join("server.ron");
        let servers: Vec<String> = urls.iter().map(|u| format!("{u:?}")).collect();
        std::fs::write(
            &config,
            format!(
                "(\n  scripts: (workers: 1),\n  journal: (fsync: Never),\n  replication: (\n    enabled: true,\n    servers: [{}],\n    node: {name:?},\n    world: \"test\",\n    stream_replicas: {},\n    lease_ttl_ms: {},\n    ack_timeout_ms: 3000,\n    snapshot_every_records: {},\n    stream_keep_records: {},\n    connect_timeout_ms: 50000,\n  ),\n)\n",
                servers.join(", "),
                o.replicas,
                o.lease_ttl_ms,
                o.snapshot_every,
                o.keep
            ),
        )
        .unwrap();
        let mut node = Node {
            child: None,
            name: name.to_string(),
            socket,
            dir,
        };
        node.spawn();
        node
    }

    /// Starts the node again on its data directory (after `kill9` or an exit).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "{} is still running", self.name);
        let _ = std::fs::remove_file(&self.socket);
        self.spawn();
    }

    fn spawn(&mut self) {
        let child = Command::new(BIN)
            .arg("serve")
            .arg("--socket")
            .arg(&self.socket)
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .arg("--config")
            .arg(self.dir.path().join("server.ron"))
            .env("VOXELD_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.dir.path().join("log"))
                    .unwrap(),
            )
            .spawn()
            .unwrap();
        self.child = Some(child);
        let name = self.name.clone();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("{name} exited during start-up ({status}): {}", self.log());
            }
            if let Ok(mut c) = Client::try_connect(&self.socket)
                && c.try_call("goxel.get_status", json!({})).is_some()
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    pub fn client(&self) -> Client {
        Client::try_connect(&self.socket).unwrap()
    }

    pub fn status(&self) -> Value {
        self.client().result("goxel.get_status", json!({}))
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().unwrap().id();
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{signal} {pid}");
    }
}

pub struct Client {
    pub reader: BufReader<UnixStream>,
    pub writer: UnixStream,
    pub next_id: u64,
}

impl Client {
    pub fn try_connect(path: &Path) -> std::io::Result<Client> {
        let stream = UnixStream::connect(path)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        Ok(Client {
            writer: stream.try_clone()?,
            reader: BufReader::new(stream),
            next_id: 1,
        })
    }

    /// One request and its reply; `None` when the connection broke.
    pub fn try_call(&mut self, method: &str, params: Value) -> Option<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let line = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id});
        let mut bytes = line.to_string().into_bytes();
        bytes.push(b'\n');
        self.writer.write_all(&bytes).ok()?;
        let mut reply = String::new();
        match self.reader.read_line(&mut reply) {
            Ok(n) if n > 0 && reply.ends_with('\n') => {}
            _ => return None,
        }
        let reply: Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(reply["id"], id, "{reply}");
        Some(reply)
    }

    /// The next line the server sends within `timeout` (`None`: nothing came), parsed.
    pub fn line_within(&mut self, timeout: Duration) -> Option<Value> {
        self.reader
            .get_ref()
            .set_read_timeout(Some(timeout))
            .unwrap();
        let mut line = String::new();
        let read = self.reader.read_line(&mut line);
        self.reader
            .get_ref()
            .set_read_timeout(Some(IO_TIMEOUT))
            .unwrap();
        match read {
            Ok(n) if n > 0 => Some(serde_json::from_str(&line).unwrap()),
            Ok(_) => panic!("the connection closed"),
            Err(_) => {
                assert!(line.is_empty(), "half a line within {timeout:?}: {line}");
                None
            }
        }
    }

    pub fn result(&mut self, method: &str, params: Value) -> Value {
        let reply = self
            .try_call(method, params.clone())
            .unwrap_or_else(|| panic!("{method} {params}: connection lost"));
        assert!(reply.get("error").is_none(), "{method} {params}: {reply}");
        reply["result"].clone()
    }
}

/// Edit `i`: one voxel with a colour derived from `i`.
pub fn edit(i: usize) -> ([i64; 3], [i64; 4]) {
    let i = i as i64;
    (
        [i % 64, (i / 64) % 64, i / 4096],
        [i % 256, (i * 7) % 256, 200, 255],
    )
}

pub fn add(client: &mut Client, i: usize) -> Option<Value> {
    let ([x, y, z], color) = edit(i);
    client.try_call(
        "goxel.add_voxel",
        json!({"x": x, "y": y, "z": z, "color": color}),
    )
}

pub fn assert_edits_present(node: &Node, range: std::ops::Range<usize>) {
    let mut client = node.client();
    for i in range {
        let ([x, y, z], color) = edit(i);
        let v = client.result("goxel.get_voxel", json!({"x": x, "y": y, "z": z}));
        assert_eq!(v["exists"], true, "{}: edit {i} lost ({v})", node.name);
        assert_eq!(
            v["color"],
            json!(color),
            "{}: edit {i} lost ({v})",
            node.name
        );
    }
}

/// Waits until one of `nodes` leads; returns its index.
pub fn wait_for_leader(nodes: &[&Node], timeout: Duration) -> usize {
    let deadline = Instant::now() + timeout;
    loop {
        for (i, n) in nodes.iter().enumerate() {
            if let Ok(mut c) = Client::try_connect(&n.socket)
                && let Some(r) = c.try_call("goxel.get_status", json!({}))
                && r["result"]["replication"]["role"] == "leader"
            {
                return i;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no leader within {timeout:?}: {}",
            nodes.iter().map(|n| n.log()).collect::<Vec<_>>().join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until `node` knows that `leader` leads.
pub fn wait_until_known(node: &Node, leader: &str) {
    let deadline = Instant::now() + IO_TIMEOUT;
    while node.status()["replication"]["leader"] != leader {
        assert!(
            Instant::now() < deadline,
            "{} does not know leader {leader}",
            node.name
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until every node reports the same seq (at least `min_seq`); returns (seq, hash).
pub fn converge(nodes: &[&Node], min_seq: u64) -> (u64, String) {
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        let states: Vec<(u64, String)> = nodes
            .iter()
            .map(|n| {
                let s = n.status();
                (
                    s["seq"].as_u64().unwrap(),
                    s["world_hash"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        if states[0].0 >= min_seq && states.iter().all(|s| s == &states[0]) {
            return states[0].clone();
        }
        assert!(
            Instant::now() < deadline,
            "nodes did not converge: {states:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
