//! An in-process server whose journal can be made to fail: a [`SharedStorage`] (a file
//! wrapped in `FaultyStorage`, shared with the test so it can plan faults while the server
//! runs), the configuration those tests start it with, and the journal error they expect.

use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use voxeld::config::{Config, FsyncPolicy};
use voxeld::journal::{FaultyStorage, FileStorage, JournalStorage};
use voxeld::rpc::codes;

/// The journal storage of an in-process server, shared with the test.
#[derive(Clone)]
pub struct SharedStorage(pub Arc<Mutex<FaultyStorage<FileStorage>>>);

impl SharedStorage {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, FaultyStorage<FileStorage>> {
        self.0.lock().unwrap()
    }
}

impl JournalStorage for SharedStorage {
    fn len(&self) -> std::io::Result<u64> {
        self.lock().len()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.lock().read_at(offset, buf)
    }
    fn read_all(&self) -> std::io::Result<Vec<u8>> {
        self.lock().read_all()
    }
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.lock().append(bytes)
    }
    fn sync(&mut self) -> std::io::Result<()> {
        self.lock().sync()
    }
    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        self.lock().truncate(len)
    }
}

/// A server in `dir` with the journal under `fsync`, no periodic or shutdown snapshots (the
/// journal holds everything) and one script worker.
pub fn in_process_config(fsync: FsyncPolicy, dir: &Path) -> Config {
    let mut config = Config::default();
    config.socket.path = dir.join("voxeld.sock");
    config.data_dir = dir.join("data");
    config.journal.fsync = fsync;
    config.journal.snapshot.every_records = 0;
    config.journal.snapshot.on_shutdown = false;
    config.scripts.workers = 1;
    config
}

/// The journal error of `reply` (asserting it is one).
pub fn journal_error(reply: &Value) -> &Value {
    let error = &reply["error"];
    assert_eq!(error["code"], codes::JOURNAL, "{reply}");
    error
}
