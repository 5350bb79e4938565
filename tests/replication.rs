//! Journal replication over NATS JetStream with real processes: `nats-server` clusters started
//! here on free loopback ports (JetStream on, store in a temporary directory) and `voxeld serve`
//! children. `kill -9` of the leader under a stream of acknowledged edits, a partitioned (stopped)
//! old leader, and a fresh node that starts from the object-store snapshot.
//!
//! `nats-server` must be installed (Debian: `apt-get install nats-server`; `.ci/run` installs
//! it): without it these tests fail, saying so.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_voxeld");
const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// The lease TTL of these tests: fail-over takes about this long.
const LEASE_TTL_MS: u64 = 2000;
/// How long a node may take to start (JetStream elects its cluster leaders meanwhile).
const START_TIMEOUT: Duration = Duration::from_secs(60);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `nats-server` child with JetStream on.
struct Nats {
    child: Child,
    port: u16,
    _dir: TempDir,
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `count` nats-servers, clustered when more than one; returns them and their client URLs.
fn nats_cluster(count: usize) -> (Vec<Nats>, Vec<String>) {
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
struct Node {
    child: Option<Child>,
    name: String,
    socket: PathBuf,
    dir: TempDir,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

struct NodeOptions {
    replicas: usize,
    snapshot_every: u64,
    keep: u64,
}

impl Node {
    fn start(name: &str, urls: &[String], o: &NodeOptions) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("voxeld.sock");
        let config = dir.path().join("server.ron");
        let servers: Vec<String> = urls.iter().map(|u| format!("{u:?}")).collect();
        std::fs::write(
            &config,
            format!(
                "(\n  scripts: (workers: 1),\n  journal: (fsync: Never),\n  replication: (\n    enabled: true,\n    servers: [{}],\n    node: {name:?},\n    world: \"test\",\n    stream_replicas: {},\n    lease_ttl_ms: {LEASE_TTL_MS},\n    ack_timeout_ms: 3000,\n    snapshot_every_records: {},\n    stream_keep_records: {},\n    connect_timeout_ms: 50000,\n  ),\n)\n",
                servers.join(", "),
                o.replicas,
                o.snapshot_every,
                o.keep
            ),
        )
        .unwrap();
        let child = Command::new(BIN)
            .arg("serve")
            .arg("--socket")
            .arg(&socket)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--config")
            .arg(&config)
            .env("VOXELD_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("log")).unwrap())
            .spawn()
            .unwrap();
        let mut node = Node {
            child: Some(child),
            name: name.to_string(),
            socket,
            dir,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = node.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("{name} exited during start-up ({status}): {}", node.log());
            }
            if let Ok(mut c) = Client::try_connect(&node.socket)
                && c.try_call("goxel.get_status", json!({})).is_some()
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not start: {}",
                node.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        node
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    fn client(&self) -> Client {
        Client::try_connect(&self.socket).unwrap()
    }

    fn status(&self) -> Value {
        self.client().result("goxel.get_status", json!({}))
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    fn signal(&self, signal: &str) {
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

struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next_id: u64,
}

impl Client {
    fn try_connect(path: &Path) -> std::io::Result<Client> {
        let stream = UnixStream::connect(path)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        Ok(Client {
            writer: stream.try_clone()?,
            reader: BufReader::new(stream),
            next_id: 1,
        })
    }

    /// One request and its reply; `None` when the connection broke.
    fn try_call(&mut self, method: &str, params: Value) -> Option<Value> {
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

    fn result(&mut self, method: &str, params: Value) -> Value {
        let reply = self
            .try_call(method, params.clone())
            .unwrap_or_else(|| panic!("{method} {params}: connection lost"));
        assert!(reply.get("error").is_none(), "{method} {params}: {reply}");
        reply["result"].clone()
    }
}

/// Edit `i`: one voxel with a colour derived from `i`.
fn edit(i: usize) -> ([i64; 3], [i64; 4]) {
    let i = i as i64;
    (
        [i % 64, (i / 64) % 64, i / 4096],
        [i % 256, (i * 7) % 256, 200, 255],
    )
}

fn add(client: &mut Client, i: usize) -> Option<Value> {
    let ([x, y, z], color) = edit(i);
    client.try_call(
        "goxel.add_voxel",
        json!({"x": x, "y": y, "z": z, "color": color}),
    )
}

fn assert_edits_present(node: &Node, range: std::ops::Range<usize>) {
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
fn wait_for_leader(nodes: &[&Node], timeout: Duration) -> usize {
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
fn wait_until_known(node: &Node, leader: &str) {
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
fn converge(nodes: &[&Node], min_seq: u64) -> (u64, String) {
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

fn three_replicas() -> NodeOptions {
    NodeOptions {
        replicas: 3,
        snapshot_every: 0,
        keep: 0,
    }
}

#[test]
fn kill9_of_the_leader_fails_over_with_no_acknowledged_edit_lost() {
    const KILL_AFTER: usize = 300;
    let (_nats, urls) = nats_cluster(3);
    let options = three_replicas();
    let mut a = Node::start("a", &urls, &options);
    assert_eq!(wait_for_leader(&[&a], START_TIMEOUT), 0);
    let b = Node::start("b", &urls[1..], &options);
    let c = Node::start("c", &urls[2..], &options);

    // Followers serve reads and refuse edits, naming the leader.
    wait_until_known(&b, "a");
    let mut follower = b.client();
    let refused = add(&mut follower, 999_999).unwrap();
    assert_eq!(refused["error"]["code"], -32003, "{refused}");
    assert_eq!(refused["error"]["data"]["leader"], "a", "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("leader a"),
        "{refused}"
    );
    let status = b.status();
    assert_eq!(status["replication"]["role"], "follower", "{status}");
    assert_eq!(status["read_only"], true, "{status}");

    // A stream of acknowledged edits on the leader, then kill -9 in the middle of it.
    let acked = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let streamer = {
        let socket = a.socket.clone();
        let (acked, stop) = (acked.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut client = Client::try_connect(&socket).unwrap();
            let mut i = 0;
            while i < 1_000_000 && !stop.load(Ordering::SeqCst) {
                match add(&mut client, i) {
                    Some(reply) => {
                        assert!(reply.get("error").is_none(), "{reply}");
                        i += 1;
                        acked.store(i, Ordering::SeqCst);
                    }
                    None => break,
                }
            }
            i
        })
    };
    let deadline = Instant::now() + IO_TIMEOUT;
    while acked.load(Ordering::SeqCst) < KILL_AFTER {
        assert!(Instant::now() < deadline, "stream too slow");
        std::thread::sleep(Duration::from_millis(1));
    }
    a.kill9();
    let killed = Instant::now();
    stop.store(true, Ordering::SeqCst);
    let acknowledged = streamer.join().unwrap();
    assert!(acknowledged >= KILL_AFTER);

    // A follower takes over and takes edits; measure kill -9 → first accepted edit.
    let leader = wait_for_leader(&[&b, &c], Duration::from_secs(30));
    let (new, other) = if leader == 0 { (&b, &c) } else { (&c, &b) };
    let mut client = new.client();
    let next = acknowledged + 1;
    let reply = add(&mut client, next).unwrap();
    assert!(reply.get("error").is_none(), "{reply}");
    let failover = killed.elapsed();
    eprintln!("fail-over (kill -9 to first accepted edit): {failover:?}");
    assert!(failover < Duration::from_secs(15), "{failover:?}");

    // Nothing acknowledged was lost, and both survivors hold the same world.
    assert_edits_present(new, 0..acknowledged);
    let (seq, hash) = converge(&[new, other], acknowledged as u64 + 2);
    assert_edits_present(other, 0..acknowledged);
    assert_edits_present(other, next..next + 1);
    let status = new.status();
    assert_eq!(status["replication"]["role"], "leader", "{status}");
    assert_eq!(status["as_of_seq"], seq, "{status}");
    assert_eq!(status["world_hash"], hash.as_str());
    // The other follower now names the new leader.
    wait_until_known(other, &new.name);
    let refused = add(&mut other.client(), 999_998).unwrap();
    assert_eq!(refused["error"]["code"], -32003, "{refused}");
    assert_eq!(
        refused["error"]["data"]["leader"],
        new.name.as_str(),
        "{refused}"
    );
}

#[test]
fn a_partitioned_old_leader_is_fenced() {
    let (_nats, urls) = nats_cluster(3);
    let options = three_replicas();
    let a = Node::start("a", &urls, &options);
    assert_eq!(wait_for_leader(&[&a], START_TIMEOUT), 0);
    let b = Node::start("b", &urls[1..], &options);
    let c = Node::start("c", &urls[2..], &options);
    let mut old = a.client();
    for i in 0..20 {
        assert!(add(&mut old, i).unwrap().get("error").is_none());
    }
    converge(&[&a, &b, &c], 20);

    // Cut the old leader off (stopped: it renews nothing and hears nothing), let another take
    // over and edit, then let it run again with an edit already waiting in its socket.
    a.signal("STOP");
    let leader = wait_for_leader(&[&b, &c], Duration::from_secs(30));
    let (new, other) = if leader == 0 { (&b, &c) } else { (&c, &b) };
    let mut client = new.client();
    assert!(add(&mut client, 20).unwrap().get("error").is_none());
    let ([x, y, z], color) = edit(21);
    let line = json!({"jsonrpc": "2.0", "method": "goxel.add_voxel", "id": 99,
        "params": {"x": x, "y": y, "z": z, "color": color}});
    old.writer
        .write_all(format!("{line}\n").as_bytes())
        .unwrap();
    a.signal("CONT");
    let mut reply = String::new();
    old.reader.read_line(&mut reply).unwrap();
    let reply: Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(
        reply["error"]["code"], -32003,
        "the old leader took an edit: {reply}"
    );

    // Never applied by the others; the old leader does not lead.
    let mut check = new.client();
    let v = check.result("goxel.get_voxel", json!({"x": x, "y": y, "z": z}));
    assert_eq!(
        v["exists"], false,
        "the old leader's edit reached the new leader: {v}"
    );
    let status = a.status();
    assert_ne!(status["replication"]["role"], "leader", "{status}");
    assert!(add(&mut a.client(), 22).unwrap().get("error").is_some());
    // The survivors agree.
    converge(&[new, other], 22);
}

#[test]
fn a_fresh_follower_starts_from_the_object_store_snapshot() {
    let (_nats, urls) = nats_cluster(1);
    let options = NodeOptions {
        replicas: 1,
        snapshot_every: 50,
        keep: 10,
    };
    let a = Node::start("a", &urls, &options);
    assert_eq!(wait_for_leader(&[&a], START_TIMEOUT), 0);
    let mut client = a.client();
    for i in 0..200 {
        assert!(add(&mut client, i).unwrap().get("error").is_none());
    }
    // The leader's snapshots reach the object store and the stream is purged before them.
    let deadline = Instant::now() + IO_TIMEOUT;
    let snapshot_seq = loop {
        let s = a.status();
        if let Some(seq) = s["replication"]["snapshot_seq"].as_u64()
            && seq >= 150
        {
            break seq;
        }
        assert!(Instant::now() < deadline, "no snapshot: {s}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let fresh = Node::start("fresh", &urls, &options);
    let status = fresh.status();
    let from = status["replication"]["started_from_snapshot"]
        .as_u64()
        .unwrap_or_else(|| panic!("did not start from a snapshot: {status}"));
    assert!(from >= snapshot_seq - 50, "{status}");
    for i in 200..220 {
        assert!(add(&mut client, i).unwrap().get("error").is_none());
    }
    converge(&[&a, &fresh], 221);
    assert_edits_present(&fresh, 0..220);
}
