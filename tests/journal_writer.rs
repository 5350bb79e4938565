//! The writer: group commit, sync modes on an injected clock, failed writes rolled back so
//! memory and disk agree and the writer stays usable, and failed syncs that fail the journal.

use std::time::{Duration, Instant};

use voxeld::journal::format::{MAX_PAYLOAD_LEN, Record, RecordKind, Source};
use voxeld::journal::{
    AppendError, CommitError, FaultyStorage, JournalWriter, MemStorage, SyncMode, scan,
};

fn record(seq: u64) -> Record<'static> {
    Record {
        kind: RecordKind::Buffer,
        seq,
        source: Source::Rpc,
        payload: b"add_voxel 1 2 3 #ff0000ff",
    }
}

fn faulty(policy: SyncMode) -> JournalWriter<FaultyStorage<MemStorage>> {
    JournalWriter::open(FaultyStorage::new(MemStorage::new()), policy)
        .unwrap()
        .0
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn a_commit_writes_all_pending_records_in_one_append_and_one_sync() {
    let mut writer = faulty(SyncMode::PerCommit);
    let (appends, syncs) = (
        writer.storage().append_count(),
        writer.storage().sync_count(),
    );
    for seq in 1..=50 {
        writer.append(&record(seq)).unwrap();
    }
    assert_eq!(writer.pending_count(), 50);
    writer.commit().unwrap();
    assert_eq!(writer.pending_count(), 0);
    assert_eq!(writer.storage().append_count(), appends + 1);
    assert_eq!(writer.storage().sync_count(), syncs + 1);
    writer.commit().unwrap();
    assert_eq!(
        writer.storage().append_count(),
        appends + 1,
        "empty commit writes nothing"
    );
    assert_eq!(scan(writer.storage()).unwrap().record_count(), 50);
}

#[test]
fn os_decides_does_not_sync_and_per_commit_syncs_every_commit() {
    for (mode, expected) in [(SyncMode::OsDecides, 0), (SyncMode::PerCommit, 5)] {
        let mut writer = faulty(mode);
        let before = writer.storage().sync_count();
        let t0 = Instant::now();
        for seq in 1..=5 {
            writer.append(&record(seq)).unwrap();
            writer.commit_at(t0 + ms(seq)).unwrap();
            assert!(!writer.tick_at(t0 + ms(10_000 * seq)).unwrap());
        }
        assert_eq!(writer.storage().sync_count() - before, expected, "{mode:?}");
        assert_eq!(writer.is_dirty(), mode == SyncMode::OsDecides);
    }
}

#[test]
fn periodic_syncs_at_most_once_a_second_and_tick_syncs_an_idle_dirty_journal() {
    let mut writer = faulty(SyncMode::Periodic);
    let syncs = |w: &JournalWriter<FaultyStorage<MemStorage>>| w.storage().sync_count() - 1;
    let t0 = Instant::now();
    writer.append(&record(1)).unwrap();
    writer.commit_at(t0).unwrap();
    assert_eq!(
        syncs(&writer),
        1,
        "first commit: no sync yet, so one is due"
    );
    writer.append(&record(2)).unwrap();
    writer.commit_at(t0 + ms(300)).unwrap();
    assert_eq!(syncs(&writer), 1);
    assert!(writer.is_dirty());
    assert!(!writer.tick_at(t0 + ms(999)).unwrap());
    assert_eq!(syncs(&writer), 1);
    assert!(
        writer.tick_at(t0 + ms(1000)).unwrap(),
        "idle journal synced after 1 s"
    );
    assert_eq!(syncs(&writer), 2);
    assert!(!writer.is_dirty());
    assert!(
        !writer.tick_at(t0 + ms(5000)).unwrap(),
        "clean journal: nothing to sync"
    );
    writer.append(&record(3)).unwrap();
    writer.commit_at(t0 + ms(1500)).unwrap();
    assert_eq!(syncs(&writer), 2, "last sync 0.5 s ago");
    writer.append(&record(4)).unwrap();
    writer.commit_at(t0 + ms(2000)).unwrap();
    assert_eq!(syncs(&writer), 3, "last sync 1 s ago: commit syncs");
    for i in 0..100 {
        writer.append(&record(5 + i)).unwrap();
        writer.commit_at(t0 + ms(2001 + i * 9)).unwrap();
        writer.tick_at(t0 + ms(2001 + i * 9)).unwrap();
    }
    assert_eq!(
        syncs(&writer),
        3,
        "100 commits within the second share no sync"
    );
    writer.sync_at(t0 + ms(2950)).unwrap();
    assert_eq!(syncs(&writer), 4, "explicit sync for shutdown");
}

#[test]
fn a_failed_append_returns_the_error_leaves_the_storage_unchanged_and_the_writer_usable() {
    let mut writer = faulty(SyncMode::PerCommit);
    writer.append(&record(1)).unwrap();
    writer.commit().unwrap();
    let len = writer.storage().inner().bytes().len();
    writer.append(&record(2)).unwrap();
    writer.append(&record(3)).unwrap();
    let next = writer.storage().append_count();
    writer.storage_mut().fail_append_at(next);
    assert!(matches!(writer.commit(), Err(CommitError::Write(_))));
    assert_eq!(writer.storage().inner().bytes().len(), len);
    assert_eq!(writer.len(), len as u64);
    assert_eq!(writer.pending_count(), 0);
    assert_eq!(
        writer.next_seq(),
        Some(2),
        "the failed records' seqs are free again"
    );
    writer.append(&record(2)).unwrap();
    writer.commit().unwrap();
    let scan = scan(writer.storage()).unwrap();
    assert_eq!(scan.seq_range(), Some(1..=2));
}

#[test]
fn a_torn_append_is_cut_back_to_the_last_good_length() {
    let mut writer = faulty(SyncMode::PerCommit);
    writer.append(&record(1)).unwrap();
    writer.commit().unwrap();
    let len = writer.len();
    writer.append(&record(2)).unwrap();
    let next = writer.storage().append_count();
    writer.storage_mut().tear_append_at(next, 11);
    assert!(writer.commit().is_err());
    assert_eq!(writer.storage().inner().bytes().len() as u64, len);
    writer.append(&record(2)).unwrap();
    writer.commit().unwrap();
    assert_eq!(scan(writer.storage()).unwrap().record_count(), 2);
}

#[test]
fn a_failed_sync_per_commit_drops_the_commit_and_fails_the_journal() {
    let mut writer = faulty(SyncMode::PerCommit);
    writer.append(&record(1)).unwrap();
    writer.commit().unwrap();
    let len = writer.len();
    writer.append(&record(2)).unwrap();
    let next = writer.storage().sync_count();
    writer.storage_mut().fail_sync_at(next);
    assert!(matches!(writer.commit(), Err(CommitError::Sync(_))));
    assert_eq!(writer.storage().inner().bytes().len() as u64, len);
    assert_eq!(writer.next_seq(), Some(2));
    assert_journal_failed(&mut writer, 2);
    assert_eq!(scan(writer.storage()).unwrap().seq_range(), Some(1..=1));
}

/// A failed journal refuses every write, without calling the storage, and never retries the
/// sync (after a failed fsync a retry can "succeed" without the data).
fn assert_journal_failed(writer: &mut JournalWriter<FaultyStorage<MemStorage>>, next: u64) {
    assert!(writer.failure().unwrap().contains("injected sync failure"));
    let (appends, syncs) = (
        writer.storage().append_count(),
        writer.storage().sync_count(),
    );
    writer.append(&record(next)).unwrap();
    assert!(matches!(writer.commit(), Err(CommitError::Failed(_))));
    assert_eq!(
        writer.pending_count(),
        0,
        "a refused commit drops its records"
    );
    assert_eq!(writer.next_seq(), Some(next));
    assert!(matches!(writer.sync(), Err(CommitError::Failed(_))));
    assert!(!writer.tick_at(Instant::now() + ms(60_000)).unwrap_or(false));
    assert_eq!(
        (
            writer.storage().append_count(),
            writer.storage().sync_count()
        ),
        (appends, syncs)
    );
}

#[test]
fn group_commits_only_write_and_one_sync_makes_the_group_durable() {
    let mut writer = faulty(SyncMode::Group);
    let syncs = writer.storage().sync_count();
    for seq in 1..=5 {
        writer.append(&record(seq)).unwrap();
        writer.commit().unwrap();
    }
    assert_eq!(writer.storage().sync_count(), syncs, "commits do not sync");
    assert!(writer.is_dirty());
    assert!(
        !writer.tick().unwrap(),
        "tick leaves the group to its owner"
    );
    writer.sync().unwrap();
    assert_eq!(writer.storage().sync_count(), syncs + 1);
    assert_eq!(writer.synced_len(), writer.len());
    writer.sync().unwrap();
    assert_eq!(writer.storage().sync_count(), syncs + 1, "clean: no sync");
}

/// Regression (#12): a failed group sync was only logged, and the group acknowledged.
#[test]
fn a_failed_group_sync_cuts_the_whole_group_and_fails_the_journal() {
    let mut writer = faulty(SyncMode::Group);
    writer.append(&record(1)).unwrap();
    writer.commit().unwrap();
    writer.sync().unwrap();
    let synced = writer.len();
    for seq in 2..=4 {
        writer.append(&record(seq)).unwrap();
        writer.commit().unwrap();
    }
    assert!(writer.len() > synced);
    let next = writer.storage().sync_count();
    writer.storage_mut().fail_sync_at(next);
    assert!(matches!(writer.sync(), Err(CommitError::Sync(_))));
    assert_eq!(writer.len(), synced);
    assert_eq!(writer.storage().inner().bytes().len() as u64, synced);
    assert_eq!(writer.next_seq(), Some(2));
    assert_journal_failed(&mut writer, 2);
    // What a restart finds: the synced record only.
    let disk = writer.into_storage().into_inner();
    let (reopened, scan) = JournalWriter::open(disk, SyncMode::Group).unwrap();
    assert_eq!(scan.seq_range(), Some(1..=1));
    assert!(reopened.failure().is_none(), "reopening clears the failure");
}

#[test]
fn a_failed_tick_sync_keeps_acknowledged_records_and_fails_the_journal() {
    let mut writer = faulty(SyncMode::Periodic);
    let t0 = Instant::now();
    writer.append(&record(1)).unwrap();
    writer.commit_at(t0).unwrap();
    writer.append(&record(2)).unwrap();
    writer.commit_at(t0 + ms(100)).unwrap();
    let next = writer.storage().sync_count();
    writer.storage_mut().fail_sync_at(next);
    assert!(matches!(
        writer.tick_at(t0 + ms(1100)),
        Err(CommitError::Sync(_))
    ));
    assert_eq!(scan(writer.storage()).unwrap().record_count(), 2);
    assert_journal_failed(&mut writer, 3);
    assert_eq!(scan(writer.storage()).unwrap().record_count(), 2);
}

#[test]
fn a_failed_rollback_truncate_blocks_writes_until_it_succeeds() {
    let mut writer = faulty(SyncMode::PerCommit);
    writer.append(&record(1)).unwrap();
    writer.commit().unwrap();
    let len = writer.len();
    writer.append(&record(2)).unwrap();
    let next = writer.storage().append_count();
    writer.storage_mut().tear_append_at(next, 5);
    writer.storage_mut().fail_truncate(true);
    assert!(writer.commit().is_err());
    assert_eq!(writer.storage().inner().bytes().len() as u64, len + 5);
    writer.append(&record(2)).unwrap();
    assert!(matches!(writer.commit(), Err(CommitError::Write(_))));
    assert_eq!(
        writer.storage().inner().bytes().len() as u64,
        len + 5,
        "nothing written after garbage"
    );
    writer.storage_mut().fail_truncate(false);
    writer.append(&record(2)).unwrap();
    writer.commit().unwrap();
    assert_eq!(scan(writer.storage()).unwrap().seq_range(), Some(1..=2));
}

#[test]
fn append_rejects_out_of_order_seqs_and_oversized_payloads() {
    let mut writer = faulty(SyncMode::OsDecides);
    writer.append(&record(10)).unwrap();
    assert_eq!(
        writer.append(&record(12)),
        Err(AppendError::Seq {
            expected: 11,
            found: 12
        })
    );
    assert_eq!(
        writer.append(&record(10)),
        Err(AppendError::Seq {
            expected: 11,
            found: 10
        })
    );
    let big = vec![0; MAX_PAYLOAD_LEN + 1];
    let oversized = Record {
        payload: &big,
        ..record(11)
    };
    assert_eq!(
        writer.append(&oversized),
        Err(AppendError::TooLarge {
            len: MAX_PAYLOAD_LEN + 1,
            limit: MAX_PAYLOAD_LEN
        })
    );
    assert_eq!(writer.pending_count(), 1);
    writer.append(&record(11)).unwrap();
    writer.commit().unwrap();
    assert_eq!(scan(writer.storage()).unwrap().seq_range(), Some(10..=11));
}
