//! The bounded journal (#12 item 1), in process on real files: segments rotate at snapshots,
//! the segments a durable snapshot covers are deleted or archived, start-up reads only the
//! newest snapshot and the segments after it, a single-file journal opens as the first segment,
//! every crash point of rotation recovers to the last acknowledged seq with the hash a replay
//! gives, and the command line (`replay`, `convert`, `journal check|repair|compact`) works on
//! segment and data directories.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{Value, json};
use systems::VoxelWorld;
use voxeld::config::{Config, FsyncPolicy};
use voxeld::journal::segments::{FaultHook, list_segments, segment_file_name};
use voxeld::journal::{FileDir, RotationPoint};
use voxeld::methods::{self, Ctx, Reply, ServerFacts};
use voxeld::persist::Persistence;
use voxeld::rpc::Params;
use voxeld::server::world_settings;
use voxeld::worldfile;

const BIN: &str = env!("CARGO_BIN_EXE_voxeld");

fn config(dir: &Path, every_records: u64, retain: usize) -> Config {
    let mut config = Config {
        data_dir: dir.join("data"),
        ..Config::default()
    };
    config.journal.fsync = FsyncPolicy::Always;
    config.journal.snapshot.every_records = every_records;
    config.journal.snapshot.on_shutdown = false;
    config.journal.retain = retain;
    config
}

/// A world and its persistence, as the server holds them.
struct Live {
    world: VoxelWorld,
    p: Persistence,
}

impl Live {
    fn open(config: &Config, hook: Option<FaultHook>) -> anyhow::Result<Live> {
        let mut world = VoxelWorld::new(world_settings(config));
        let mut dir = FileDir::open(config.journal_dir(), config.archive_dir())?;
        if let Some(hook) = hook {
            dir = dir.with_fault_hook(hook);
        }
        let p = Persistence::open_with_dir(config, &mut world, dir)?;
        Ok(Live { world, p })
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        let raw = serde_json::value::to_raw_value(&params).unwrap();
        let params = Params::parse(&raw).unwrap();
        let mut clock = methods::simulation::SimClock::new(&Config::default());
        let mut ctx = Ctx {
            world: &mut self.world,
            journal: &mut self.p,
            started: Instant::now(),
            facts: ServerFacts::default(),
            files: voxeld::files::FileAccess::defaults(),
            clock: &mut clock,
        };
        let reply = match methods::call(&mut ctx, method, &params).unwrap() {
            Reply::Value(v) => v,
            Reply::Raw(r) => serde_json::from_str(r.get()).unwrap(),
            Reply::Script(_) | Reply::Background(_) | Reply::Session(_) => {
                panic!("no scripts, jobs or sessions here")
            }
        };
        self.p.end_of_iteration(&mut self.world).unwrap();
        reply
    }

    /// The `i`-th edit, then the end of its loop iteration with the snapshot (if one was
    /// started) waited for, so the directory is settled.
    fn edit(&mut self, i: u64) {
        let i = i as i32;
        self.call(
            "goxel.add_voxel",
            json!({"x": i % 16, "y": i / 16, "z": i % 3, "color": [i % 256, 7, 9, 255]}),
        );
        self.p.wait_for_snapshot();
    }

    fn state(&self) -> (String, u64) {
        let s = self.world.snapshot();
        (s.hash_hex(), s.seq)
    }
}

/// What a restart recovers (with the production directory, no hook).
fn recovered(config: &Config) -> (String, u64) {
    Live::open(config, None).unwrap().state()
}

/// What `replay_dir` (the `voxeld replay`/`convert` path) reads from `dir`.
fn replayed(config: &Config, dir: &Path, until: Option<u64>) -> anyhow::Result<(String, u64)> {
    let mut world = VoxelWorld::new(world_settings(config));
    worldfile::replay_dir(&mut world, dir, config, None, until)?;
    let s = world.snapshot();
    Ok((s.hash_hex(), s.seq))
}

fn names(dir: &Path) -> Vec<u64> {
    list_segments(dir)
        .unwrap()
        .into_iter()
        .map(|s| s.0)
        .collect()
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn segments_rotate_at_snapshots_and_the_covered_ones_are_deleted() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(tmp.path(), 10, 0);
    let mut live = Live::open(&config, None).unwrap();
    for i in 0..95 {
        live.edit(i);
        // The bound holds after every edit: the snapshot plus the segments after it.
        let snapshot = live.p.snapshot_seq();
        let on_disk = names(&config.journal_dir());
        assert_eq!(on_disk, live.p.segments(), "after edit {i}");
        assert!(on_disk.len() <= 2, "after edit {i}: {on_disk:?}");
        assert!(
            on_disk[0] <= snapshot + 1,
            "after edit {i}: {on_disk:?} but the snapshot is at {snapshot}"
        );
    }
    assert_eq!(live.p.snapshot_seq(), 90);
    assert_eq!(live.p.segments(), [91]);
    assert_eq!(
        file_names(&config.journal_dir()),
        [segment_file_name(91)],
        "nothing else is left in the journal directory"
    );
    assert!(!config.archive_dir().exists(), "retain 0 archives nothing");
    let state = live.state();
    drop(live);
    assert_eq!(recovered(&config), state);
    assert_eq!(replayed(&config, &config.data_dir, None).unwrap(), state);
}

#[test]
fn segments_also_rotate_by_size_and_start_up_reads_only_those_after_the_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = config(tmp.path(), 100, 0);
    config.journal.segment_bytes = 1000;
    let mut live = Live::open(&config, None).unwrap();
    for i in 0..230 {
        live.edit(i);
    }
    let segments = live.p.segments().to_vec();
    assert_eq!(live.p.snapshot_seq(), 200);
    assert_eq!(segments[0], 201, "{segments:?}");
    assert!(segments.len() >= 2, "size rotation made {segments:?}");
    let state = live.state();
    drop(live);
    assert_eq!(names(&config.journal_dir()), segments);
    assert_eq!(recovered(&config), state);
    assert_eq!(replayed(&config, &config.data_dir, None).unwrap(), state);
}

#[test]
fn retain_keeps_n_snapshots_and_their_segments_for_point_in_time_replay() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(tmp.path(), 10, 2);
    let mut live = Live::open(&config, None).unwrap();
    let mut hashes = vec![live.state()];
    for i in 0..55 {
        live.edit(i);
        hashes.push(live.state());
    }
    let archive = config.archive_dir();
    assert_eq!(
        file_names(&archive),
        [
            "segment-00000000000000000041.vxj",
            "snapshot-00000000000000000040.vxs",
            "snapshot-00000000000000000050.vxs",
        ],
        "two snapshots and the segment between them"
    );
    assert_eq!(names(&config.journal_dir()), [51]);
    drop(live);
    for until in [40, 45, 50, 52, 55] {
        assert_eq!(
            replayed(&config, &config.data_dir, Some(until)).unwrap(),
            hashes[until as usize],
            "data directory until {until}"
        );
    }
    assert_eq!(
        replayed(&config, &archive, Some(47)).unwrap(),
        hashes[47],
        "the archive alone"
    );
    let e = replayed(&config, &config.data_dir, Some(35)).unwrap_err();
    assert!(format!("{e:#}").contains("missing"), "{e:#}");
    assert_eq!(recovered(&config), hashes[55]);
}

#[test]
fn a_single_file_journal_opens_as_the_first_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(tmp.path(), 0, 0);
    let mut live = Live::open(&config, None).unwrap();
    for i in 0..20 {
        live.edit(i);
    }
    let state = live.state();
    drop(live);
    // The layout of earlier versions: one journal.vxj, no segment directory.
    std::fs::rename(
        config.journal_dir().join(segment_file_name(1)),
        config.journal_path(),
    )
    .unwrap();
    std::fs::remove_dir(config.journal_dir()).unwrap();
    assert_eq!(
        replayed(&config, &config.data_dir, None).unwrap(),
        state,
        "convert reads it as it is"
    );
    let mut live = Live::open(&config, None).unwrap();
    assert_eq!(live.state(), state);
    assert!(!config.journal_path().exists(), "moved, not copied");
    assert_eq!(names(&config.journal_dir()), [1]);
    live.edit(20);
    let state = live.state();
    drop(live);
    assert_eq!(recovered(&config), state);

    // Both layouts at once is refused: neither is touched.
    std::fs::write(config.journal_path(), b"").unwrap();
    let e = Live::open(&config, None).err().unwrap();
    assert!(format!("{e:#}").contains("both"), "{e:#}");
}

/// Which rotation points a test stops at.
type PointMatch = fn(RotationPoint) -> bool;

/// The rotation points in the order one rotation passes them.
fn points() -> Vec<(&'static str, PointMatch)> {
    vec![
        ("segment written", |p| {
            matches!(p, RotationPoint::SegmentWritten(_))
        }),
        ("segment renamed", |p| {
            matches!(p, RotationPoint::SegmentRenamed(_))
        }),
        ("snapshot written", |p| {
            matches!(p, RotationPoint::SnapshotWritten(_))
        }),
        ("snapshot renamed", |p| {
            matches!(p, RotationPoint::SnapshotRenamed(_))
        }),
        ("snapshot durable", |p| {
            matches!(p, RotationPoint::SnapshotDurable(_))
        }),
        ("before retire", |p| {
            matches!(p, RotationPoint::BeforeRetire(_))
        }),
        ("after retire", |p| {
            matches!(p, RotationPoint::AfterRetire(_))
        }),
    ]
}

/// A hook that crashes at the `nth` point matching `at`: from then on every rotation point
/// fails too, so nothing more happens to the files (the process is "dead"; the test stops).
fn crash_hook(at: PointMatch, nth: usize) -> (FaultHook, Arc<Mutex<bool>>) {
    let crashed = Arc::new(Mutex::new(false));
    let seen = Mutex::new(0);
    let flag = crashed.clone();
    let hook: FaultHook = Arc::new(move |point| {
        let mut crashed = flag.lock().unwrap();
        if !*crashed && at(point) {
            let mut seen = seen.lock().unwrap();
            *seen += 1;
            *crashed = *seen == nth;
        }
        if *crashed {
            Err(std::io::Error::other(format!(
                "injected crash at {point:?}"
            )))
        } else {
            Ok(())
        }
    });
    (hook, crashed)
}

/// Every crash point of rotation, with covered segments deleted and archived: the restart
/// ends at the last acknowledged seq with the live hash, which a replay of the data directory
/// gives too; then the journal goes on and the next rotation cleans up.
#[test]
fn every_crash_point_of_rotation_recovers_the_last_acknowledged_seq() {
    for retain in [0, 1] {
        for (name, at) in points() {
            let tmp = tempfile::tempdir().unwrap();
            let config = config(tmp.path(), 10, retain);
            let (hook, crashed) = crash_hook(at, 3);
            let mut live = Live::open(&config, Some(hook)).unwrap();
            let mut i = 0;
            while !*crashed.lock().unwrap() {
                assert!(i < 200, "{name}: the crash point was never reached");
                live.edit(i);
                i += 1;
            }
            // Every edit so far was acknowledged (its group synced before the rotation).
            let acknowledged = live.state();
            drop(live);
            let what = format!("crash at {name}, retain {retain}");
            assert_eq!(recovered(&config), acknowledged, "{what}");
            assert_eq!(
                replayed(&config, &config.data_dir, None).unwrap(),
                acknowledged,
                "{what}: replay"
            );
            // Going on from there, the next rotation leaves the bounded layout.
            let mut live = Live::open(&config, None).unwrap();
            for j in i..i + 25 {
                live.edit(j);
            }
            let state = live.state();
            let snapshot = live.p.snapshot_seq();
            drop(live);
            let on_disk = names(&config.journal_dir());
            assert_eq!(on_disk.len(), 1, "{what}: {on_disk:?}");
            assert!(on_disk[0] <= snapshot + 1, "{what}: {on_disk:?}");
            assert_eq!(recovered(&config), state, "{what}: after going on");
            let leftovers: Vec<String> = file_names(&config.data_dir)
                .into_iter()
                .chain(file_names(&config.journal_dir()))
                .filter(|n| n.ends_with(".tmp"))
                .collect();
            assert!(leftovers.is_empty(), "{what}: {leftovers:?}");
        }
    }
}

/// A full disk when a rotation starts a segment or writes a snapshot (not a crash: the server
/// goes on): the journal keeps writing the current segment, nothing is retired, and the next
/// rotation that works retires everything its snapshot covers.
#[test]
fn a_failed_rotation_keeps_writing_the_current_segment_and_the_next_one_catches_up() {
    type Case = (&'static str, PointMatch, Vec<u64>, u64);
    let cases: Vec<Case> = vec![
        (
            "segment",
            |p| matches!(p, RotationPoint::SegmentWritten(_)),
            vec![11],
            20,
        ),
        (
            "snapshot",
            |p| matches!(p, RotationPoint::SnapshotWritten(_)),
            vec![11, 21],
            10,
        ),
    ];
    for (name, at, segments, snapshot) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let config = config(tmp.path(), 10, 0);
        // The second rotation's segment or snapshot (counting the first segment at start-up
        // for "segment") finds the disk full.
        let nth = if name == "segment" { 3 } else { 2 };
        let count = Mutex::new(0);
        let hook: FaultHook = Arc::new(move |point| {
            let mut count = count.lock().unwrap();
            if at(point) {
                *count += 1;
                if *count == nth {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::StorageFull,
                        "no space left on device (injected)",
                    ));
                }
            }
            Ok(())
        });
        let mut live = Live::open(&config, Some(hook)).unwrap();
        for i in 0..25 {
            live.edit(i);
        }
        assert_eq!(
            voxeld::methods::Recorder::refusal(&live.p),
            None,
            "{name}: the journal is fine"
        );
        assert_eq!(live.p.segments(), segments, "{name}");
        assert_eq!(live.p.snapshot_seq(), snapshot, "{name}");
        for i in 25..35 {
            live.edit(i);
        }
        assert_eq!(live.p.snapshot_seq(), 30);
        assert_eq!(live.p.segments(), [31], "{name}");
        let state = live.state();
        drop(live);
        assert_eq!(recovered(&config), state, "{name}");
    }
}

fn voxeld(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env("VOXELD_LOG", "warn")
        .output()
        .unwrap()
}

fn os<S: AsRef<std::ffi::OsStr> + ?Sized>(s: &S) -> &std::ffi::OsStr {
    s.as_ref()
}

#[test]
fn the_command_line_works_on_segment_and_data_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(tmp.path(), 10, 0);
    let mut live = Live::open(&config, None).unwrap();
    for i in 0..33 {
        live.edit(i);
    }
    let (hash, seq) = live.state();
    let journal_dir = config.journal_dir();

    // compact refuses a data directory a server holds (the lock).
    let compact = voxeld(&[os("journal"), os("compact"), config.data_dir.as_os_str()]);
    assert!(!compact.status.success(), "{compact:?}");
    assert!(
        String::from_utf8_lossy(&compact.stderr).contains("in use"),
        "{compact:?}"
    );
    drop(live);

    let check = voxeld(&[os("journal"), os("check"), journal_dir.as_os_str()]);
    assert!(check.status.success(), "{check:?}");
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(text.contains("sequence:   continuous"), "{text}");

    let replay = voxeld(&[os("replay"), config.data_dir.as_os_str()]);
    assert!(replay.status.success(), "{replay:?}");
    let line: Value = serde_json::from_slice(&replay.stdout).unwrap();
    assert_eq!(
        (
            line["world_hash"].as_str().unwrap(),
            line["seq"].as_u64().unwrap()
        ),
        (hash.as_str(), seq)
    );

    let out = tmp.path().join("out.vxs");
    let convert = voxeld(&[os("convert"), config.data_dir.as_os_str(), out.as_os_str()]);
    assert!(convert.status.success(), "{convert:?}");
    let line: Value = serde_json::from_slice(&convert.stdout).unwrap();
    assert_eq!(line["world_hash"], hash.as_str());

    // A torn tail on the last segment: check reports it, repair cuts it.
    let last = journal_dir.join(segment_file_name(31));
    let len = std::fs::metadata(&last).unwrap().len();
    let mut bytes = std::fs::read(&last).unwrap();
    bytes.extend_from_slice(&[0xde, 0xad, 0xbe]);
    std::fs::write(&last, &bytes).unwrap();
    let check = voxeld(&[os("journal"), os("check"), journal_dir.as_os_str()]);
    assert!(check.status.success(), "a torn tail is accepted: {check:?}");
    assert!(String::from_utf8_lossy(&check.stdout).contains("torn tail:  yes"));
    let repair = voxeld(&[os("journal"), os("repair"), journal_dir.as_os_str()]);
    assert!(repair.status.success(), "{repair:?}");
    assert_eq!(std::fs::metadata(&last).unwrap().len(), len);

    // compact: a snapshot at the end, one empty segment after it.
    let compact = voxeld(&[os("journal"), os("compact"), config.data_dir.as_os_str()]);
    assert!(compact.status.success(), "{compact:?}");
    let report: Value = serde_json::from_slice(&compact.stdout).unwrap();
    assert_eq!(report["snapshot_seq"], seq, "{report}");
    assert_eq!(report["segments_after"], 1, "{report}");
    assert_eq!(names(&journal_dir), [seq + 1]);
    assert_eq!(recovered(&config), (hash.clone(), seq));

    // A gap between segments is reported by check and stops start-up.
    let mut live = Live::open(&config, None).unwrap();
    for i in 33..38 {
        live.edit(i);
    }
    drop(live);
    std::fs::write(
        journal_dir.join(segment_file_name(60)),
        std::fs::read(journal_dir.join(segment_file_name(seq + 1))).unwrap(),
    )
    .unwrap();
    let check = voxeld(&[os("journal"), os("check"), journal_dir.as_os_str()]);
    assert!(!check.status.success(), "{check:?}");
    assert!(String::from_utf8_lossy(&check.stdout).contains("broken"));
    let e = Live::open(&config, None).err().unwrap();
    assert!(format!("{e:#}").contains("named for seq 60"), "{e:#}");
}
