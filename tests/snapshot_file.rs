//! The snapshot container: round trip, every corruption case, newest and pruning.

use voxeld::journal::SnapshotError;
use voxeld::journal::snapshot_file::{
    decode_snapshot, encode_snapshot, list_snapshots, newest_snapshot, prune_snapshots,
    read_snapshot, snapshot_file_name, write_snapshot,
};

#[test]
fn a_snapshot_round_trips_through_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let payload: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
    let path = write_snapshot(&dir.path().join("snaps"), 42, &payload).unwrap();
    assert_eq!(
        path.file_name().unwrap(),
        "snapshot-00000000000000000042.vxs"
    );
    assert_eq!(read_snapshot(&path).unwrap(), (42, payload));
    let empty = write_snapshot(dir.path(), 0, b"").unwrap();
    assert_eq!(read_snapshot(&empty).unwrap(), (0, Vec::new()));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("snaps"))
        .unwrap()
        .collect();
    assert_eq!(leftovers.len(), 1, "no tmp file left behind");
}

#[test]
fn each_kind_of_damage_is_a_clear_error() {
    let good = encode_snapshot(7, b"world bytes");
    assert_eq!(decode_snapshot(&good).unwrap(), (7, &b"world bytes"[..]));

    let mut bad_magic = good.clone();
    bad_magic[0] = b'X';
    assert!(matches!(
        decode_snapshot(&bad_magic),
        Err(SnapshotError::BadMagic)
    ));

    let mut v2 = good.clone();
    v2[8] = 2;
    let crc = crc32fast::hash(&v2[..36]);
    v2[36..40].copy_from_slice(&crc.to_le_bytes());
    assert!(matches!(
        decode_snapshot(&v2),
        Err(SnapshotError::Version(2))
    ));

    let mut header = good.clone();
    header[16] ^= 1;
    assert!(matches!(
        decode_snapshot(&header),
        Err(SnapshotError::HeaderChecksum)
    ));

    let mut payload = good.clone();
    *payload.last_mut().unwrap() ^= 1;
    assert!(matches!(
        decode_snapshot(&payload),
        Err(SnapshotError::PayloadChecksum)
    ));

    for cut in 0..good.len() {
        let err = decode_snapshot(&good[..cut]).unwrap_err();
        assert!(
            matches!(err, SnapshotError::Truncated { .. }),
            "cut {cut}: {err:?}"
        );
    }
    match decode_snapshot(&good[..20]) {
        Err(e) => assert_eq!(e.to_string(), "snapshot truncated: 20 bytes, expected 40"),
        Ok(_) => unreachable!(),
    }

    let mut long = good.clone();
    long.push(0);
    assert!(matches!(
        decode_snapshot(&long),
        Err(SnapshotError::TrailingBytes { extra: 1 })
    ));

    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        read_snapshot(&dir.path().join("none.vxs")),
        Err(SnapshotError::Io(_))
    ));
}

#[test]
fn newest_is_the_highest_seq_and_prune_keeps_two() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(newest_snapshot(&dir.path().join("missing")).unwrap(), None);
    for seq in [5, 100, 9, 1_000_000, 20] {
        write_snapshot(dir.path(), seq, &seq.to_le_bytes()).unwrap();
    }
    std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
    std::fs::write(dir.path().join("snapshot-abc.vxs"), "x").unwrap();
    std::fs::write(
        dir.path()
            .join(format!("{}.tmp", snapshot_file_name(2_000_000))),
        "x",
    )
    .unwrap();
    let seqs: Vec<u64> = list_snapshots(dir.path())
        .unwrap()
        .into_iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(seqs, [1_000_000, 100, 20, 9, 5]);
    let (seq, path) = newest_snapshot(dir.path()).unwrap().unwrap();
    assert_eq!(
        read_snapshot(&path).unwrap(),
        (seq, 1_000_000u64.to_le_bytes().to_vec())
    );

    let removed = prune_snapshots(dir.path(), 2).unwrap();
    assert_eq!(removed.len(), 4, "three old snapshots and one tmp file");
    let seqs: Vec<u64> = list_snapshots(dir.path())
        .unwrap()
        .into_iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(seqs, [1_000_000, 100]);
    assert!(dir.path().join("notes.txt").exists());
}
