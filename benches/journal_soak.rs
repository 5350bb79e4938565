//! The 10-minute edit soak of #12's disk target: a real `voxeld serve` takes edits from a few
//! connections with a snapshot every N records while a sampler checks that the data directory
//! holds at most 2 snapshots plus the segments after the newest (see
//! `tests/support/journal_soak.rs`). Prints what it saw; exits 1 if the bound broke.
//!
//! `CARGO_TARGET_DIR=... cargo bench --bench journal_soak -- --minutes 10 [--clients 4]
//! [--every-records 100000] [--segment-bytes 67108864]`

#[path = "../tests/support/journal_soak.rs"]
mod soak;

use std::time::Duration;

fn main() {
    let mut minutes = 10.0f64;
    let mut clients = 4;
    let mut every_records = 100_000;
    let mut segment_bytes = 64 << 20;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().and_then(|v| v.parse::<f64>().ok());
        match arg.as_str() {
            "--minutes" => minutes = value().expect("--minutes M"),
            "--clients" => clients = value().expect("--clients N") as usize,
            "--every-records" => every_records = value().expect("--every-records N") as u64,
            "--segment-bytes" => segment_bytes = value().expect("--segment-bytes N") as u64,
            // cargo bench passes --bench to every bench binary.
            _ => {}
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let soak = soak::Soak {
        duration: Duration::from_secs_f64(minutes * 60.0),
        clients,
        every_records,
        segment_bytes,
        binary: env!("CARGO_BIN_EXE_voxeld").into(),
    };
    eprintln!("soak: {soak:?}");
    let report = soak::run(&soak, dir.path());
    println!(
        "edits {} ({:.0}/s), snapshots {}, samples {}, max snapshot files {}, max segments {}, max covered {} (before a deletion), max bytes {}, first-tenth max {}, last-tenth max {}, after stop {}",
        report.edits,
        report.edits as f64 / soak.duration.as_secs_f64(),
        report.snapshots_seen,
        report.samples,
        report.max_snapshot_files,
        report.max_segments,
        report.max_covered,
        report.max_bytes,
        report.early_max_bytes,
        report.late_max_bytes,
        report.final_bytes
    );
    if !report.violations.is_empty() {
        println!("bound broken: {:?}", report.violations);
        std::process::exit(1);
    }
    println!("bound held");
}
