//! Journal replication over NATS JetStream with real processes: `nats-server` clusters started
//! here on free loopback ports (JetStream on, store in a temporary directory) and `voxeld serve`
//! children. `kill -9` of the leader under a stream of acknowledged edits, a partitioned (stopped)
//! old leader, and a fresh node that starts from the object-store snapshot.
//!
//! `nats-server` must be installed (Debian: `apt-get install nats-server`; `.ci/run` installs
//! it): without it these tests fail, saying so.

#[path = "support/replication.rs"]
mod harness;

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use harness::*;
use serde_json::{Value, json};

fn three_replicas() -> NodeOptions {
    NodeOptions {
        lease_ttl_ms: LEASE_TTL_MS,
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
    let refused = follower.try_call("goxel.step", json!({})).unwrap();
    assert_eq!(refused["error"]["code"], -32003, "{refused}");
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

    // The killed leader, restarted on its data directory, follows the new one (whatever it
    // had journaled and not replicated when it died is set aside) and holds the same world.
    a.restart();
    let status = a.status();
    assert_eq!(status["replication"]["role"], "follower", "{status}");
    eprintln!(
        "restarted old leader: moved_aside {}",
        status["replication"]["moved_aside"]
    );
    let (_, hash_after) = converge(&[new, other, &a], seq);
    assert_eq!(hash_after, hash);
    assert_edits_present(&a, 0..acknowledged);
    assert_edits_present(&a, next..next + 1);
}

#[test]
fn a_partitioned_old_leader_is_fenced_and_rejoins() {
    let (_nats, urls) = nats_cluster(3);
    let options = three_replicas();
    let mut a = Node::start("a", &urls, &options);
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
    // The survivors agree.
    converge(&[new, other], 22);

    // The old leader rejoins by itself. If it had applied the refused edit (the reply was
    // withdrawn: its record there differs from the stream's), its server starts again, moves
    // the diverged data aside and follows; if not, it simply follows.
    let diverged = reply["error"]["data"]["withdrawn"] == true;
    eprintln!("old leader diverged: {diverged}; {reply}");
    let status = wait_for_rejoin(&a, diverged);
    if diverged {
        let aside = status["replication"]["moved_aside"].as_str().unwrap();
        assert!(
            std::path::Path::new(aside).join("journal").is_dir(),
            "{aside}"
        );
    } else {
        assert!(status["replication"]["moved_aside"].is_null(), "{status}");
    }
    let refused = add(&mut a.client(), 22).unwrap();
    assert_eq!(refused["error"]["code"], -32003, "{refused}");
    assert!(add(&mut client, 23).unwrap().get("error").is_none());
    let (seq, hash) = converge(&[new, other, &a], 23);
    let v = a
        .client()
        .result("goxel.get_voxel", json!({"x": x, "y": y, "z": z}));
    assert_eq!(
        v["exists"], false,
        "the refused edit survived the rejoin: {v}"
    );
    assert_edits_present(&a, 0..21);
    wait_until_known(&a, &new.name);

    // Restarted by hand as well, it stays a follower of the same world.
    a.kill9();
    a.restart();
    let status = a.status();
    assert_eq!(status["replication"]["role"], "follower", "{status}");
    assert!(status["replication"]["moved_aside"].is_null(), "{status}");
    assert_eq!(converge(&[new, other, &a], seq), (seq, hash));
}

/// Waits until `node` follows again (tolerating the moments its server is down while it
/// starts again); `moved_aside`: it must have set diverged data aside. Returns its status.
fn wait_for_rejoin(node: &Node, moved_aside: bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut c) = Client::try_connect(&node.socket)
            && let Some(r) = c.try_call("goxel.get_status", json!({}))
        {
            let status = &r["result"];
            let replication = &status["replication"];
            if replication["role"] == "follower"
                && replication["moved_aside"].is_string() == moved_aside
            {
                return status.clone();
            }
            assert!(
                Instant::now() < deadline,
                "{} did not rejoin: {status}\n{}",
                node.name,
                node.log()
            );
        } else {
            assert!(
                Instant::now() < deadline,
                "{} is gone: {}",
                node.name,
                node.log()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_fresh_follower_starts_from_the_object_store_snapshot() {
    let (_nats, urls) = nats_cluster(1);
    let options = NodeOptions {
        lease_ttl_ms: LEASE_TTL_MS,
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
    // A replica's subscribers hear of what it applies from the stream.
    let mut watcher = fresh.client();
    watcher.result("goxel.subscribe", json!({"events": ["world_changed"]}));
    for i in 200..220 {
        assert!(add(&mut client, i).unwrap().get("error").is_none());
    }
    let (seq, _) = converge(&[&a, &fresh], 221);
    assert_edits_present(&fresh, 0..220);
    let mut chunks = 0;
    loop {
        let note = watcher
            .line_within(IO_TIMEOUT)
            .expect("the replica notified nothing");
        assert_eq!(note["method"], "goxel.world_changed", "{note}");
        chunks += note["params"]["chunk_count"].as_u64().unwrap();
        let at = note["params"]["seq"].as_u64().unwrap();
        assert!(at <= seq, "{note}");
        if at == seq {
            break;
        }
    }
    assert!(chunks >= 1);
    // A replica's results say which seq they describe: reads and read-only scripts alike.
    let mut reader = fresh.client();
    let ([x, y, z], _) = edit(0);
    let v = reader.result("goxel.get_voxel", json!({"x": x, "y": y, "z": z}));
    assert_eq!(v["as_of_seq"], seq, "{v}");
    let r = reader.result(
        "goxel.execute_script",
        json!({"script": "goxel.getVoxel(0, 0, 0)[3]"}),
    );
    assert_eq!(r["as_of_seq"], seq, "{r}");
    assert_eq!(r["result"], 255, "{r}");
    // And so do the file and render jobs, run off the world thread on a snapshot.
    let e = reader.result("goxel.export_model", json!(["replica.vox"]));
    assert_eq!(e["as_of_seq"], seq, "{e}");
    assert_eq!(e["format"], "vox", "{e}");
}

/// `kill -<signal>` to every nats-server of a cluster.
fn signal_all(nats: &[Nats], signal: &str) {
    for n in nats {
        let ok = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(n.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{signal} nats-server");
    }
}

#[test]
fn replies_wait_for_the_stream_ack_without_blocking_the_loop() {
    let (nats, urls) = nats_cluster(3);
    let a = Node::start("a", &urls, &three_replicas());
    assert_eq!(wait_for_leader(&[&a], START_TIMEOUT), 0);
    let mut editor = a.client();
    for i in 0..10 {
        assert!(add(&mut editor, i).unwrap().get("error").is_none());
    }
    let mut watcher = a.client();
    watcher.result("goxel.subscribe", json!({"events": ["world_changed"]}));
    let seq_before = a.status()["seq"].as_u64().unwrap();

    // The stream cannot acknowledge while its servers are stopped: the edit is applied and
    // journaled, but its reply waits.
    signal_all(&nats, "STOP");
    let ([x, y, z], color) = edit(10);
    let line = json!({"jsonrpc": "2.0", "method": "goxel.add_voxel", "id": 77,
        "params": {"x": x, "y": y, "z": z, "color": color}});
    editor
        .writer
        .write_all(format!("{line}\n").as_bytes())
        .unwrap();
    if let Some(early) = editor.line_within(Duration::from_millis(400)) {
        panic!("answered before the stream acknowledged: {early}");
    }
    // Nor does a subscriber hear of it before the stream has it.
    if let Some(note) = watcher.line_within(Duration::from_millis(100)) {
        panic!("notified before the stream acknowledged: {note}");
    }

    // Meanwhile the loop serves other clients: a line that changes nothing is answered at once.
    let mut other = a.client();
    let asked = Instant::now();
    other.writer.write_all(b"{not json\n").unwrap();
    let mut parse_error = String::new();
    other.reader.read_line(&mut parse_error).unwrap();
    let answered = asked.elapsed();
    let parse_error: Value = serde_json::from_str(&parse_error).unwrap();
    assert_eq!(parse_error["error"]["code"], -32700, "{parse_error}");
    assert!(
        answered < Duration::from_millis(300),
        "the loop waited for the stream: {answered:?}"
    );

    // The servers run again: the ack arrives and so does the reply.
    signal_all(&nats, "CONT");
    let reply = editor
        .line_within(IO_TIMEOUT)
        .expect("no reply after the ack");
    assert_eq!(reply["id"], 77, "{reply}");
    assert!(reply.get("error").is_none(), "{reply}");
    let note = watcher
        .line_within(IO_TIMEOUT)
        .expect("no notification after the ack");
    assert_eq!(note["method"], "goxel.world_changed", "{note}");
    assert_eq!(note["params"]["seq"], seq_before + 1, "{note}");
    let status = a.status();
    assert_eq!(status["replication"]["role"], "leader", "{status}");
    assert_edits_present(&a, 0..11);
}

#[test]
fn a_leader_shut_down_hands_its_lease_over() {
    let (_nats, urls) = nats_cluster(3);
    // A lease far longer than the hand-over may take: only an early release explains a quick
    // take-over.
    let options = NodeOptions {
        lease_ttl_ms: 30_000,
        ..three_replicas()
    };
    let mut a = Node::start("a", &urls, &options);
    assert_eq!(wait_for_leader(&[&a], START_TIMEOUT), 0);
    let b = Node::start("b", &urls[1..], &options);
    wait_until_known(&b, "a");
    let mut client = a.client();
    for i in 0..50 {
        assert!(add(&mut client, i).unwrap().get("error").is_none());
    }
    a.signal("TERM");
    let stopped = Instant::now();
    let status = a.child.take().unwrap().wait().unwrap();
    assert!(status.success(), "{status}: {}", a.log());
    wait_for_leader(&[&b], Duration::from_secs(10));
    let took = stopped.elapsed();
    eprintln!("hand-over (SIGTERM to the follower leading): {took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    let mut client = b.client();
    assert!(add(&mut client, 50).unwrap().get("error").is_none());
    assert_edits_present(&b, 0..51);
}
