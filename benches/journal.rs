//! Journal throughput: group-committed appends into a temp file and into memory, and the
//! verifying scan that replay starts with.
//!
//! `CARGO_TARGET_DIR=... cargo bench --bench journal`

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use voxeld::journal::format::{Record, RecordKind, Source};
use voxeld::journal::reader::scan_bytes;
use voxeld::journal::{FileStorage, JournalStorage, JournalWriter, MemStorage, SyncMode, scan};

const RECORDS: u64 = 1_000_000;
const PER_COMMIT: u64 = 1000;
const PAYLOAD: [u8; 30] = *b"add_voxel 12 -7 300 #ff8800ff.";

fn write_all<S: JournalStorage>(storage: S) -> u64 {
    let (mut writer, _) = JournalWriter::open(storage, SyncMode::OsDecides).unwrap();
    for seq in 1..=RECORDS {
        writer
            .append(&Record {
                kind: RecordKind::Buffer,
                seq,
                source: Source::Rpc,
                payload: &PAYLOAD,
            })
            .unwrap();
        if seq % PER_COMMIT == 0 {
            writer.commit().unwrap();
        }
    }
    writer.commit().unwrap();
    writer.len()
}

fn journal_bytes() -> Vec<u8> {
    let (mut writer, _) = JournalWriter::open(MemStorage::new(), SyncMode::OsDecides).unwrap();
    for seq in 1..=RECORDS {
        writer
            .append(&Record {
                kind: RecordKind::Buffer,
                seq,
                source: Source::Rpc,
                payload: &PAYLOAD,
            })
            .unwrap();
    }
    writer.commit().unwrap();
    writer.into_storage().into_bytes()
}

fn bench(c: &mut Criterion) {
    let bytes = journal_bytes();
    let mut group = c.benchmark_group("journal");
    group.sample_size(10);

    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("append_1m_commit_every_1000_tempfile_never", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| black_box(write_all(FileStorage::open(dir.path().join("j")).unwrap())),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("append_1m_commit_every_1000_memory", |b| {
        b.iter(|| black_box(write_all(MemStorage::new())))
    });

    group.throughput(Throughput::Elements(RECORDS));
    group.bench_function("scan_1m_in_memory", |b| {
        b.iter_batched(
            || bytes.clone(),
            |bytes| {
                let scan = scan_bytes(bytes).unwrap();
                let payload_bytes: usize = scan.records().map(|(_, r)| r.payload.len()).sum();
                black_box((scan.record_count(), payload_bytes))
            },
            BatchSize::LargeInput,
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    std::fs::write(&path, &bytes).unwrap();
    group.bench_function("scan_1m_from_file", |b| {
        b.iter(|| {
            let scan = scan(&FileStorage::open_read_only(&path).unwrap()).unwrap();
            let payload_bytes: usize = scan.records().map(|(_, r)| r.payload.len()).sum();
            black_box((scan.record_count(), payload_bytes))
        })
    });
    group.finish();

    // What group commit saves: one record per commit, each commit paying a real fsync.
    let mut group = c.benchmark_group("journal_fsync");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1));
    let dir = tempfile::tempdir().unwrap();
    let (mut writer, _) =
        JournalWriter::open_path(dir.path().join("j"), SyncMode::PerCommit).unwrap();
    let mut seq = 0;
    group.bench_function("commit_one_record_always", |b| {
        b.iter(|| {
            seq += 1;
            writer
                .append(&Record {
                    kind: RecordKind::Buffer,
                    seq,
                    source: Source::Rpc,
                    payload: &PAYLOAD,
                })
                .unwrap();
            writer.commit().unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
