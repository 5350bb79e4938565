//! `voxeld journal check` / `repair`: reports on clean, torn and corrupt journals.

use voxeld::journal::check::{check_path, repair_path};
use voxeld::journal::format::{Record, RecordKind, Source};
use voxeld::journal::{
    JournalWriter, MemStorage, RepairError, RepairMode, SyncMode, check, repair, scan,
};

/// A journal of records `1..=count` and the offset of each.
fn journal(count: u64) -> (Vec<u8>, Vec<u64>) {
    let (mut writer, _) = JournalWriter::open(MemStorage::new(), SyncMode::OsDecides).unwrap();
    for seq in 1..=count {
        let payload = seq.to_le_bytes().repeat(3);
        writer
            .append(&Record {
                kind: RecordKind::Buffer,
                seq,
                source: Source::Batch,
                payload: &payload,
            })
            .unwrap();
    }
    writer.commit().unwrap();
    let bytes = writer.into_storage().into_bytes();
    let offsets = scan(&MemStorage::from_bytes(bytes.clone()))
        .unwrap()
        .records()
        .map(|r| r.0)
        .collect();
    (bytes, offsets)
}

#[test]
fn check_reports_a_clean_journal() {
    let (bytes, _) = journal(12);
    let report = check(&MemStorage::from_bytes(bytes.clone())).unwrap();
    assert_eq!(report.record_count, 12);
    assert_eq!(report.seq_range, Some((1, 12)));
    assert_eq!(report.file_len, bytes.len() as u64);
    assert_eq!(report.valid_len, bytes.len() as u64);
    assert_eq!(report.format_version, Some(1));
    assert_eq!(report.torn_tail, None);
    assert_eq!(report.exit_code(), 0);
    let text = report.to_string();
    assert!(text.contains("records:    12"), "{text}");
    assert!(text.contains("seq range:  1..=12"), "{text}");
    assert!(text.contains("torn tail:  no"), "{text}");
    assert!(text.contains("corruption: none"), "{text}");
}

#[test]
fn check_and_repair_a_torn_tail() {
    let (bytes, offsets) = journal(12);
    let cut = bytes.len() - 3;
    let mut storage = MemStorage::from_bytes(bytes[..cut].to_vec());
    let report = check(&storage).unwrap();
    assert_eq!(report.record_count, 11);
    assert_eq!(report.torn_tail.unwrap().offset, offsets[11]);
    assert_eq!(report.exit_code(), 0);
    assert!(report.to_string().contains(&format!(
        "torn tail:  yes, {} bytes at offset {}",
        cut as u64 - offsets[11],
        offsets[11]
    )));
    let repaired = repair(&mut storage, RepairMode::TornTailOnly).unwrap();
    assert_eq!(repaired.truncated_to, Some(offsets[11]));
    assert_eq!(repaired.bytes_removed, cut as u64 - offsets[11]);
    assert_eq!(repaired.records_dropped, 0);
    assert_eq!(storage.bytes(), &bytes[..offsets[11] as usize]);
    assert_eq!(storage.sync_count(), 1);
    let again = repair(&mut storage, RepairMode::TornTailOnly).unwrap();
    assert_eq!(again.truncated_to, None);
    assert!(again.to_string().contains("nothing to do"));
}

#[test]
fn repair_cuts_mid_file_corruption_only_with_the_flag() {
    let (mut bytes, offsets) = journal(12);
    bytes[offsets[4] as usize + 9] ^= 0x10;
    let mut storage = MemStorage::from_bytes(bytes.clone());
    let report = check(&storage).unwrap();
    let corruption = report.corruption.unwrap();
    assert_eq!(corruption.offset, offsets[4]);
    assert_eq!(corruption.records_after, 7);
    assert_eq!(corruption.bytes_after, bytes.len() as u64 - offsets[4]);
    assert_eq!(report.record_count, 4);
    assert_eq!(report.exit_code(), 1);
    assert!(report.to_string().contains(&format!(
        "corruption: at byte offset {}: checksum mismatch",
        offsets[4]
    )));

    match repair(&mut storage, RepairMode::TornTailOnly) {
        Err(RepairError::CorruptionNeedsFlag {
            offset,
            records_after,
        }) => {
            assert_eq!((offset, records_after), (offsets[4], 7));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        storage.bytes(),
        bytes.as_slice(),
        "refused repair changes nothing"
    );

    let repaired = repair(&mut storage, RepairMode::TruncateCorruption).unwrap();
    assert_eq!(repaired.truncated_to, Some(offsets[4]));
    assert_eq!(repaired.records_dropped, 7);
    assert!(repaired.to_string().contains("removed"), "{repaired}");
    let (_, scan) = JournalWriter::open(storage, SyncMode::OsDecides).unwrap();
    assert_eq!(scan.seq_range(), Some(1..=4));
}

#[test]
fn check_and_repair_work_on_paths() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.vxj");
    let (bytes, offsets) = journal(3);
    std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    let report = check_path(&path).unwrap();
    assert_eq!(report.record_count, 2);
    let repaired = repair_path(&path, RepairMode::TornTailOnly).unwrap();
    assert_eq!(repaired.truncated_to, Some(offsets[2]));
    assert_eq!(std::fs::read(&path).unwrap(), &bytes[..offsets[2] as usize]);
    assert!(check_path(dir.path().join("missing")).is_err());
    assert!(repair_path(dir.path().join("missing"), RepairMode::TornTailOnly).is_err());
    assert!(
        !dir.path().join("missing").exists(),
        "repair does not create files"
    );
}
