//! Recovery: round trips, torn tails at every byte, corruption in the middle named by offset.

use voxeld::journal::format::{Header, Record, RecordKind, Source, encode_record};
use voxeld::journal::reader::Corruption;
use voxeld::journal::{
    FaultyStorage, FileStorage, JournalStorage, JournalWriter, MemStorage, ScanError, SyncMode,
    scan,
};

fn payload(seq: u64) -> Vec<u8> {
    let len = (seq * 7 % 61) as usize;
    (0..len)
        .map(|i| (seq as u8).wrapping_mul(31).wrapping_add(i as u8))
        .collect()
}

fn kind(seq: u64) -> RecordKind {
    match seq % 5 {
        0 => RecordKind::Step,
        4 => RecordKind::Meta,
        _ => RecordKind::Buffer,
    }
}

fn append_seq<S: JournalStorage>(writer: &mut JournalWriter<S>, seq: u64) {
    let payload = payload(seq);
    writer
        .append(&Record {
            kind: kind(seq),
            seq,
            source: Source::Script,
            payload: &payload,
        })
        .unwrap();
}

/// A journal holding records `1..=count`, committed `per_commit` at a time; returns the bytes and
/// the offset of every record.
fn journal(count: u64, per_commit: u64) -> (Vec<u8>, Vec<u64>) {
    let (mut writer, _) = JournalWriter::open(MemStorage::new(), SyncMode::OsDecides).unwrap();
    for seq in 1..=count {
        append_seq(&mut writer, seq);
        if seq % per_commit == 0 {
            writer.commit().unwrap();
        }
    }
    writer.commit().unwrap();
    let bytes = writer.into_storage().into_bytes();
    let offsets = scan(&MemStorage::from_bytes(bytes.clone()))
        .unwrap()
        .records()
        .map(|(offset, _)| offset)
        .collect();
    (bytes, offsets)
}

fn assert_records(storage: &impl JournalStorage, count: u64) {
    let scan = scan(storage).unwrap();
    assert_eq!(scan.record_count(), count);
    let mut expected = 1;
    for (_, record) in scan.records() {
        assert_eq!(record.seq, expected);
        assert_eq!(record.kind, kind(expected));
        assert_eq!(record.source, Source::Script);
        assert_eq!(record.payload, payload(expected).as_slice());
        expected += 1;
    }
    assert_eq!(expected, count + 1);
}

#[test]
fn many_records_round_trip_through_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/journal.vxj");
    let (mut writer, scan) = JournalWriter::open_path(&path, SyncMode::PerCommit).unwrap();
    assert_eq!(scan.record_count(), 0);
    for seq in 1..=5000 {
        append_seq(&mut writer, seq);
        if seq % 97 == 0 {
            writer.commit().unwrap();
        }
    }
    writer.commit().unwrap();
    let len = writer.len();
    drop(writer);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len);

    let (mut writer, scan) = JournalWriter::open_path(&path, SyncMode::PerCommit).unwrap();
    assert_eq!(scan.seq_range(), Some(1..=5000));
    assert_eq!(
        scan.last_record().map(|r| r.seq),
        scan.records().last().map(|(_, r)| r.seq)
    );
    assert_eq!(scan.last_record().unwrap().seq, 5000);
    assert_eq!(scan.torn_tail(), None);
    assert!(scan.header().unwrap().created_by.starts_with("voxeld "));
    assert_eq!(writer.next_seq(), Some(5001));
    append_seq(&mut writer, 5001);
    writer.commit().unwrap();
    assert_records(&FileStorage::open_read_only(&path).unwrap(), 5001);
}

#[test]
fn torn_tail_at_every_cut_of_the_last_record_recovers_the_previous_record() {
    let (bytes, offsets) = journal(20, 3);
    let last = *offsets.last().unwrap() as usize;
    for cut in last..bytes.len() {
        let storage = MemStorage::from_bytes(bytes[..cut].to_vec());
        let (mut writer, scan) = JournalWriter::open(storage, SyncMode::PerCommit).unwrap();
        assert_eq!(scan.record_count(), 19, "cut at {cut}");
        let expected_tail = (cut > last).then_some((last as u64, (cut - last) as u64));
        assert_eq!(
            scan.torn_tail().map(|t| (t.offset, t.len)),
            expected_tail,
            "cut at {cut}"
        );
        assert_eq!(writer.storage().bytes().len(), last, "cut at {cut}");
        assert_eq!(writer.next_seq(), Some(20));
        append_seq(&mut writer, 20);
        writer.commit().unwrap();
        assert_eq!(writer.storage().bytes(), bytes.as_slice());
        assert_records(writer.storage(), 20);
    }
}

#[test]
fn torn_group_commit_at_every_byte_recovers_the_previous_commit() {
    let (base, _) = journal(10, 10);
    let (full, offsets) = journal(14, 10);
    let group_len = full.len() - base.len();
    for keep in 0..group_len {
        let (mut writer, _) = JournalWriter::open(
            FaultyStorage::new(MemStorage::from_bytes(base.clone())),
            SyncMode::PerCommit,
        )
        .unwrap();
        for seq in 11..=14 {
            append_seq(&mut writer, seq);
        }
        let next = writer.storage().append_count();
        writer.storage_mut().tear_append_at(next, keep);
        assert!(writer.commit().is_err());
        // The "crash": the disk holds what the torn write left, before any rollback ran.
        let mut disk = full[..base.len() + keep].to_vec();
        assert_eq!(&disk[..base.len()], base.as_slice());
        let (writer, scan) =
            JournalWriter::open(MemStorage::from_bytes(disk.clone()), SyncMode::PerCommit).unwrap();
        let complete = offsets[10..]
            .iter()
            .chain(std::iter::once(&(full.len() as u64)))
            .skip(1)
            .take_while(|&&end| end as usize <= base.len() + keep)
            .count() as u64;
        assert_eq!(scan.record_count(), 10 + complete, "keep {keep}");
        disk.truncate(scan.valid_len() as usize);
        assert_eq!(writer.storage().bytes(), disk.as_slice());
    }
}

#[test]
fn a_flipped_byte_in_a_middle_record_is_corruption_at_that_record() {
    let (bytes, offsets) = journal(30, 7);
    let target = 14;
    let start = offsets[target] as usize;
    let end = offsets[target + 1] as usize;
    for at in start..end {
        for bit in [0x01u8, 0x80] {
            let mut damaged = bytes.clone();
            damaged[at] ^= bit;
            let storage = MemStorage::from_bytes(damaged.clone());
            match scan(&storage) {
                Err(ScanError::Corrupt { offset, .. }) => {
                    assert_eq!(offset, start as u64, "flip at {at}")
                }
                other => panic!("flip at {at}: expected corruption, got {other:?}"),
            }
            let err = JournalWriter::open(storage, SyncMode::PerCommit).unwrap_err();
            assert!(
                format!("{:#}", anyhow::Error::from(err)).contains(&format!("byte offset {start}")),
                "flip at {at}"
            );
        }
    }
}

#[test]
fn a_flipped_byte_in_the_last_record_is_a_torn_tail() {
    let (bytes, offsets) = journal(5, 5);
    let last = offsets[4] as usize;
    let mut damaged = bytes.clone();
    damaged[bytes.len() - 1] ^= 0xff;
    let scan = scan(&MemStorage::from_bytes(damaged)).unwrap();
    assert_eq!(scan.record_count(), 4);
    assert_eq!(scan.torn_tail().unwrap().offset, last as u64);
}

fn raw_journal(seqs: &[u64]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::new();
    Header::new("test").encode(&mut out);
    let mut offsets = Vec::new();
    for &seq in seqs {
        offsets.push(out.len());
        encode_record(
            &Record {
                kind: RecordKind::Buffer,
                seq,
                source: Source::Rpc,
                payload: b"p",
            },
            &mut out,
        );
    }
    (out, offsets)
}

#[test]
fn a_seq_gap_or_regression_is_corruption_even_at_the_end() {
    for (seqs, bad, expected, found) in [
        (vec![5, 6, 8, 9], 2, 7, 8),
        (vec![5, 6, 6], 2, 7, 6),
        (vec![5, 6, 7, 3], 3, 8, 3),
    ] {
        let (bytes, offsets) = raw_journal(&seqs);
        match scan(&MemStorage::from_bytes(bytes)) {
            Err(ScanError::Corrupt { offset, corruption }) => {
                assert_eq!(offset, offsets[bad] as u64);
                assert_eq!(corruption, Corruption::Seq { expected, found });
            }
            other => panic!("{seqs:?}: {other:?}"),
        }
    }
    let (bytes, _) = raw_journal(&[100, 101, 102]);
    let scan = scan(&MemStorage::from_bytes(bytes)).unwrap();
    assert_eq!(scan.seq_range(), Some(100..=102));
}

#[test]
fn a_zero_filled_tail_is_torn_but_zeros_before_valid_records_are_corruption() {
    let (bytes, offsets) = journal(6, 2);
    let mut zeroed = bytes.clone();
    zeroed.extend_from_slice(&[0; 4096]);
    let (writer, scan) =
        JournalWriter::open(MemStorage::from_bytes(zeroed), SyncMode::OsDecides).unwrap();
    assert_eq!(scan.record_count(), 6);
    assert_eq!(writer.storage().bytes(), bytes.as_slice());

    let mut holed = bytes.clone();
    let (a, b) = (offsets[3] as usize, offsets[4] as usize);
    holed[a..b].fill(0);
    match scan_err(holed) {
        ScanError::Corrupt { offset, .. } => assert_eq!(offset, a as u64),
        other => panic!("{other:?}"),
    }
}

fn scan_err(bytes: Vec<u8>) -> ScanError {
    scan(&MemStorage::from_bytes(bytes)).unwrap_err()
}

#[test]
fn a_torn_header_is_replaced_by_a_fresh_one() {
    let mut header = Vec::new();
    Header::new("voxeld test").encode(&mut header);
    for cut in 1..header.len() {
        let (writer, scan) = JournalWriter::open(
            MemStorage::from_bytes(header[..cut].to_vec()),
            SyncMode::PerCommit,
        )
        .unwrap();
        assert_eq!(scan.torn_tail().map(|t| t.offset), Some(0), "cut {cut}");
        let fresh = scan_ok(writer.storage().bytes().to_vec());
        assert_eq!(fresh.record_count(), 0);
        assert!(fresh.header().is_some());
    }
}

fn scan_ok(bytes: Vec<u8>) -> voxeld::journal::Scan {
    scan(&MemStorage::from_bytes(bytes)).unwrap()
}

#[test]
fn a_file_that_is_not_a_journal_or_is_corrupt_is_refused_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.vxj");
    std::fs::write(&path, b"{\"jsonrpc\":\"2.0\"}\n").unwrap();
    let err = JournalWriter::open_path(&path, SyncMode::PerCommit).unwrap_err();
    assert!(format!("{:#}", anyhow::Error::from(err)).contains("bad magic"));
    assert_eq!(std::fs::read(&path).unwrap(), b"{\"jsonrpc\":\"2.0\"}\n");

    let (mut bytes, offsets) = journal(10, 3);
    bytes[offsets[2] as usize + 12] ^= 4;
    std::fs::write(&path, &bytes).unwrap();
    assert!(JournalWriter::open_path(&path, SyncMode::PerCommit).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn every_single_byte_flip_is_detected_where_it_happened() {
    let (bytes, offsets) = journal(25, 4);
    let header_len = offsets[0] as usize;
    let last = *offsets.last().unwrap();
    for at in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x5a;
        let result = scan(&MemStorage::from_bytes(damaged));
        if at < header_len {
            assert!(
                matches!(result, Err(ScanError::Header(_))),
                "flip at {at}: {result:?}"
            );
            continue;
        }
        let record = offsets.iter().rposition(|&o| o as usize <= at).unwrap();
        match result {
            Err(ScanError::Corrupt { offset, .. }) => {
                assert_eq!(offset, offsets[record], "flip at {at}")
            }
            Ok(scan) => {
                assert_eq!(
                    offsets[record], last,
                    "flip at {at}: only the last record may look torn"
                );
                assert_eq!(scan.record_count(), 24);
                assert_eq!(scan.torn_tail().unwrap().offset, last);
            }
            Err(e) => panic!("flip at {at}: {e:?}"),
        }
    }
}

/// Simulates a crash at every append the writer makes (a torn write, then the process dies:
/// no rollback runs), and checks that recovery keeps every acknowledged record, never an
/// unwritten one, and that the journal accepts appends afterwards.
#[test]
fn a_crash_at_any_write_keeps_every_acknowledged_record() {
    let commit_sizes = [1u64, 3, 1, 5, 2, 8, 1, 4];
    let total_appends = commit_sizes.len() as u64 + 1; // the header is the first append
    // Append 0 writes the header (a torn header is covered above); commits are appends 1...
    for crash_at in 1..total_appends {
        for keep_fraction in [0usize, 1, 2, 3] {
            let storage = FaultyStorage::new(MemStorage::new());
            let (mut writer, _) = JournalWriter::open(storage, SyncMode::PerCommit).unwrap();
            let mut acknowledged = 0;
            let mut appended = 0;
            // The process dies with the torn write: no rollback reaches the disk.
            writer.storage_mut().fail_truncate(true);
            let mut crashed = false;
            for &size in &commit_sizes {
                for _ in 0..size {
                    appended += 1;
                    append_seq(&mut writer, appended);
                }
                if writer.storage().append_count() == crash_at {
                    let pending_len: usize = (acknowledged + 1..=appended)
                        .map(|seq| 18 + payload(seq).len())
                        .sum();
                    let keep = pending_len * keep_fraction / 3;
                    writer.storage_mut().tear_append_at(crash_at, keep);
                }
                if writer.commit().is_err() {
                    crashed = true;
                    break;
                }
                acknowledged = appended;
            }
            assert!(crashed, "crash_at {crash_at}");
            let disk = writer.into_storage().into_inner();
            let (mut writer, scan) = JournalWriter::open(disk, SyncMode::PerCommit).unwrap();
            let recovered = scan.seq_range().map_or(0, |r| *r.end());
            assert!(
                recovered >= acknowledged && recovered <= appended,
                "crash_at {crash_at} keep {keep_fraction}/3: recovered {recovered}, acked {acknowledged}, appended {appended}"
            );
            if keep_fraction == 3 {
                assert_eq!(recovered, appended, "a complete write is recovered whole");
            }
            assert_records(writer.storage(), recovered);
            append_seq(&mut writer, recovered + 1);
            writer.commit().unwrap();
            assert_records(writer.storage(), recovered + 1);
        }
    }
}

#[test]
fn records_after_a_snapshot_seq_is_the_tail_to_replay() {
    let (bytes, _) = journal(10, 3);
    let scan = scan(&MemStorage::from_bytes(bytes)).unwrap();
    let seqs = |after| -> Option<Vec<u64>> {
        scan.records_after(after)
            .map(|records| records.map(|(_, r)| r.seq).collect())
    };
    assert_eq!(seqs(0), Some((1..=10).collect()));
    assert_eq!(seqs(7), Some(vec![8, 9, 10]));
    assert_eq!(seqs(10), Some(vec![]));
    assert_eq!(seqs(50), Some(vec![]));

    let (bytes, _) = raw_journal(&[5, 6, 7]);
    let scan = scan_ok(bytes);
    assert!(
        scan.records_after(2).is_none(),
        "records 3 and 4 are missing"
    );
    assert!(scan.records_after(3).is_none(), "record 4 is missing");
    assert_eq!(scan.records_after(4).unwrap().count(), 3);
    assert_eq!(scan.records_after(6).unwrap().count(), 1);
    assert_eq!(scan_ok(Vec::new()).records_after(9).unwrap().count(), 0);
}

#[test]
fn a_torn_write_to_a_real_file_is_cut_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.vxj");
    let storage = FaultyStorage::new(FileStorage::open(&path).unwrap());
    let (mut writer, _) = JournalWriter::open(storage, SyncMode::PerCommit).unwrap();
    for seq in 1..=10 {
        append_seq(&mut writer, seq);
    }
    writer.commit().unwrap();
    let good_len = writer.len();
    for seq in 11..=13 {
        append_seq(&mut writer, seq);
    }
    let next = writer.storage().append_count();
    writer.storage_mut().tear_append_at(next, 30);
    writer.storage_mut().fail_truncate(true);
    assert!(writer.commit().is_err());
    drop(writer);
    assert!(std::fs::metadata(&path).unwrap().len() > good_len);

    let (mut writer, scan) = JournalWriter::open_path(&path, SyncMode::PerCommit).unwrap();
    assert_eq!(scan.seq_range(), Some(1..=10));
    assert_eq!(scan.torn_tail().unwrap().offset, good_len);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), good_len);
    append_seq(&mut writer, 11);
    writer.commit().unwrap();
    assert_records(&FileStorage::open_read_only(&path).unwrap(), 11);
}
