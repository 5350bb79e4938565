//! The edit soak in miniature (#12 target "disk use bounded"): a few seconds of edits from two
//! connections against a real `voxeld serve` with a snapshot every 200 records. The full
//! 10-minute run is `cargo bench --bench journal_soak -- --minutes 10` (README).

#[path = "support/journal_soak.rs"]
mod soak;

use std::time::Duration;

#[test]
fn disk_use_stays_bounded_by_the_newest_snapshot_while_edits_stream() {
    let dir = tempfile::tempdir().unwrap();
    let report = soak::run(
        &soak::Soak {
            duration: Duration::from_secs(8),
            clients: 2,
            every_records: 200,
            segment_bytes: 1 << 20,
            binary: env!("CARGO_BIN_EXE_voxeld").into(),
        },
        dir.path(),
    );
    eprintln!("{report:?}");
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    assert!(
        report.snapshots_seen >= 5,
        "too few snapshots to show anything: {report:?}"
    );
    assert!(report.max_snapshot_files <= 2, "{report:?}");
    // A flat bound: the end of the run holds no more than its start allows (twice the bytes
    // of the early samples leaves room for a snapshot being written at the wrong moment).
    assert!(
        report.late_max_bytes <= 2 * report.early_max_bytes.max(1),
        "disk use grew: {report:?}"
    );
}
