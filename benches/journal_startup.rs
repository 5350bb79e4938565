//! Start-up after 10 M journaled edits (#12 target ≤ 1 s): builds, once, a data directory of
//! ~10 M single-voxel edits journaled by the server's own `Persistence` under the default
//! configuration (a snapshot every 100 000 records, 64 MiB segments), left as `kill -9` leaves
//! it: no shutdown snapshot, the longest tail the defaults allow (99 999 records after the
//! newest snapshot). Then it times `voxeld serve` from spawn to the first answered request
//! (`goxel.get_status`), several times, killing the server with SIGKILL after each so the
//! directory stays in that worst case. Prints the median, min and max.
//!
//! `CARGO_TARGET_DIR=... cargo bench --bench journal_startup [-- --edits N --runs R]`
//! (the directory is kept in `CARGO_TARGET_TMPDIR` between runs).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use glam::IVec3;
use systems::{Color, CommandBuffer, Edit, Source, VoxelWorld};
use voxeld::config::Config;
use voxeld::methods::simulation::SimClock;
use voxeld::methods::{Ctx, ServerFacts};
use voxeld::persist::Persistence;
use voxeld::server::world_settings;

fn build(data: &Path, edits: u64) {
    let _ = std::fs::remove_dir_all(data);
    let config = Config {
        data_dir: data.to_path_buf(),
        ..Config::default()
    };
    let mut world = VoxelWorld::new(world_settings(&config));
    let mut p = Persistence::open(&config, &mut world).unwrap();
    let mut clock = SimClock::new(&config);
    let started = Instant::now();
    for i in 0..edits {
        // A 128 × 128 × 64 region (1 M voxels), each voxel rewritten about ten times.
        let j = (i % (1 << 20)) as i32;
        let pos = IVec3::new(j % 128, (j / 128) % 128, j / (128 * 128));
        let color = Color::rgba(i as u8, (i >> 8) as u8, (i >> 16) as u8, 255);
        let mut buffer = CommandBuffer::new(Source::Rpc);
        buffer.push(Edit::Set { pos, color });
        let mut ctx = Ctx {
            world: &mut world,
            journal: &mut p,
            started,
            facts: ServerFacts::default(),
            files: voxeld::files::FileAccess::defaults(),
            clock: &mut clock,
        };
        ctx.apply_recorded(buffer).unwrap();
        if i % 1000 == 999 {
            p.end_of_iteration(&mut world).unwrap();
        }
        if i % 1_000_000 == 999_999 {
            eprintln!(
                "built {} M edits in {:?}",
                (i + 1) / 1_000_000,
                started.elapsed()
            );
        }
    }
    p.end_of_iteration(&mut world).unwrap();
    p.wait_for_snapshot();
    eprintln!(
        "data directory: {} edits, snapshot at seq {}, segments {:?}, {} records after it",
        edits,
        p.snapshot_seq(),
        p.segments(),
        world.seq() - p.snapshot_seq()
    );
    // Dropped without `shutdown`: what `kill -9` leaves.
    drop(p);
    std::fs::write(data.join("bench-complete"), edits.to_string()).unwrap();
}

fn start_once(data: &Path, socket: &Path) -> Duration {
    let _ = std::fs::remove_file(socket);
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_voxeld"))
        .arg("serve")
        .arg("--data-dir")
        .arg(data)
        .arg("--socket")
        .arg(socket)
        .env("VOXELD_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let elapsed = loop {
        if let Ok(stream) = UnixStream::connect(socket) {
            let mut writer = stream.try_clone().unwrap();
            writer
                .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"goxel.get_status\",\"id\":1}\n")
                .unwrap();
            let mut line = String::new();
            BufReader::new(stream).read_line(&mut line).unwrap();
            assert!(line.contains("world_hash"), "{line}");
            break started.elapsed();
        }
        assert!(child.try_wait().unwrap().is_none(), "voxeld exited");
        assert!(started.elapsed() < Duration::from_secs(120), "no start-up");
        std::thread::sleep(Duration::from_micros(500));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    elapsed
}

fn main() {
    let mut edits: u64 = 10_000_000 - 1;
    let mut runs = 11;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--edits" => edits = args.next().and_then(|v| v.parse().ok()).expect("--edits N"),
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            _ => {}
        }
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("journal-startup-{edits}"));
    let data = dir.join("data");
    let complete = std::fs::read_to_string(data.join("bench-complete")).ok();
    if complete.as_deref() != Some(edits.to_string().as_str()) {
        build(&data, edits);
    }
    let socket = dir.join("s.sock");
    let mut times: Vec<Duration> = (0..runs).map(|_| start_once(&data, &socket)).collect();
    times.sort();
    println!(
        "start-up to the first answered request after {edits} journaled edits: median {:?}, min {:?}, max {:?} ({runs} runs)",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
}
