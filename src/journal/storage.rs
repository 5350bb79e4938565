//! The few file operations the journal needs, behind a trait, so that the writer and the
//! recovery code run unchanged against a real file, an in-memory buffer, or a buffer that
//! fails and tears writes on demand (the way redb's crash tests simulate a power cut).
//!
//! Every implementation is append-only apart from [`JournalStorage::truncate`], which recovery
//! and the writer's rollback use to cut a torn or failed tail.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Minimal byte storage for a journal: read anywhere, append at the end, sync, truncate.
pub trait JournalStorage: Send {
    /// Current length in bytes, as seen by reads.
    fn len(&self) -> io::Result<u64>;

    /// Whether the storage holds no bytes.
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Fills `buf` with the bytes at `offset..offset + buf.len()`; fails if they are not all there.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;

    /// Reads the whole storage into memory (recovery scans it in one pass).
    fn read_all(&self) -> io::Result<Vec<u8>> {
        let len = usize::try_from(self.len()?).map_err(|_| {
            io::Error::new(io::ErrorKind::OutOfMemory, "journal larger than memory")
        })?;
        let mut buf = vec![0; len];
        self.read_at(0, &mut buf)?;
        Ok(buf)
    }

    /// Appends `bytes` at the end. On error, any prefix of `bytes` may have reached storage.
    fn append(&mut self, bytes: &[u8]) -> io::Result<()>;

    /// Makes every appended byte durable (fdatasync for a file).
    fn sync(&mut self) -> io::Result<()>;

    /// Cuts the storage to `len` bytes; later appends continue from there.
    fn truncate(&mut self, len: u64) -> io::Result<()>;
}

/// A journal file on disk, opened for reading and appending.
#[derive(Debug)]
pub struct FileStorage {
    /// The open file; in append mode every write lands at the current end, even after a truncate.
    file: File,
    /// Kept for error messages and so callers can tell which file this is.
    path: PathBuf,
}

impl FileStorage {
    /// Opens `path` for reading and appending, creating it and its parent directories if needed.
    /// A newly created file's directory entry is synced, so the file itself survives a power loss.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let existed = path.exists();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)?;
        if !existed {
            sync_parent_dir(&path)?;
        }
        Ok(Self { file, path })
    }

    /// Opens an existing file for reading only (`voxeld journal check`); appends then fail.
    pub fn open_read_only(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path)?;
        Ok(Self { file, path })
    }

    /// The path this storage was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl JournalStorage for FileStorage {
    fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        #[cfg(unix)]
        {
            std::os::unix::fs::FileExt::read_exact_at(&self.file, buf, offset)
        }
        #[cfg(not(unix))]
        {
            let mut file = &self.file;
            file.seek(SeekFrom::Start(offset))?;
            file.read_exact(buf)
        }
    }

    fn read_all(&self) -> io::Result<Vec<u8>> {
        let mut file = &self.file;
        file.seek(SeekFrom::Start(0))?;
        let mut buf = Vec::with_capacity(usize::try_from(self.len()?).unwrap_or(0));
        file.read_to_end(&mut buf)?;
        Ok(buf)
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        io::Write::write_all(&mut self.file, bytes)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }
}

/// Syncs the directory holding `path`, so a created or renamed entry is durable.
pub(crate) fn sync_parent_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(parent)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// A journal held in memory: the in-memory twin of [`FileStorage`] for tests and benchmarks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemStorage {
    /// Everything appended so far (what "disk" holds).
    bytes: Vec<u8>,
    /// How many times `sync` was called, so tests can check the fsync policy.
    sync_count: u64,
}

impl MemStorage {
    /// An empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    /// A storage already holding `bytes` (e.g. a journal cut at some byte to simulate a crash).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self {
            bytes,
            sync_count: 0,
        }
    }

    /// The stored bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Mutable access to the stored bytes, to flip or cut bytes in tests.
    pub fn bytes_mut(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    /// Takes the stored bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// How many times `sync` was called.
    pub fn sync_count(&self) -> u64 {
        self.sync_count
    }
}

impl JournalStorage for MemStorage {
    fn len(&self) -> io::Result<u64> {
        Ok(self.bytes.len() as u64)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| eof())?;
        let end = start.checked_add(buf.len()).ok_or_else(eof)?;
        let src = self.bytes.get(start..end).ok_or_else(eof)?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn read_all(&self) -> io::Result<Vec<u8>> {
        Ok(self.bytes.clone())
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.bytes.extend_from_slice(bytes);
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.sync_count += 1;
        Ok(())
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        let len = usize::try_from(len).map_err(|_| eof())?;
        self.bytes.truncate(len);
        Ok(())
    }
}

fn eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "read past end of journal storage",
    )
}

/// Wraps a storage and makes chosen calls fail, for crash and error-path tests.
///
/// Calls are counted from 0 over the wrapper's life: `fail_append_at(n)` makes the call whose
/// index is `n` fail (use [`FaultyStorage::append_count`] to target the next one). A failed append
/// writes nothing; a torn append writes only the first `keep` bytes and then fails, as a crash
/// in the middle of `write(2)` would leave the file. To simulate the process dying right there,
/// also make truncates fail (so the writer's rollback cannot clean up) and reopen the journal
/// from [`FaultyStorage::into_inner`].
#[derive(Debug, Default)]
pub struct FaultyStorage<S> {
    /// The storage that plays the disk.
    inner: S,
    /// Appends attempted so far (successful or not).
    append_count: u64,
    /// Syncs attempted so far (successful or not).
    sync_count: u64,
    /// Index of the append call that fails without writing anything.
    fail_append_at: Option<u64>,
    /// Index of the append call that writes a prefix and fails, and how many bytes it keeps.
    tear_append_at: Option<(u64, usize)>,
    /// Index of the sync call that fails.
    fail_sync_at: Option<u64>,
    /// Whether every truncate fails (to test the writer's retry of a failed rollback).
    fail_truncate: bool,
    /// Bytes the "disk" still takes (`None`: unlimited). An append that does not fit writes
    /// what fits and fails with `StorageFull` (ENOSPC), as `write(2)` on a full disk does.
    space: Option<u64>,
}

impl<S: JournalStorage> FaultyStorage<S> {
    /// Wraps `inner` with no faults planned.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            append_count: 0,
            sync_count: 0,
            fail_append_at: None,
            tear_append_at: None,
            fail_sync_at: None,
            fail_truncate: false,
            space: None,
        }
    }

    /// Leaves `bytes` of free space on the "disk" (`None`: unlimited): appends beyond it write
    /// what fits and fail with ENOSPC. `Some(0)` is a full disk; `None` frees space again.
    pub fn set_space(&mut self, bytes: Option<u64>) {
        self.space = bytes;
    }

    /// Makes the append call with index `n` fail with an I/O error, writing nothing.
    pub fn fail_append_at(&mut self, n: u64) {
        self.fail_append_at = Some(n);
    }

    /// Makes the append call with index `n` write only its first `keep` bytes, then fail.
    pub fn tear_append_at(&mut self, n: u64, keep: usize) {
        self.tear_append_at = Some((n, keep));
    }

    /// Makes the sync call with index `n` fail with an I/O error.
    pub fn fail_sync_at(&mut self, n: u64) {
        self.fail_sync_at = Some(n);
    }

    /// Makes every truncate fail (or succeed again with `false`).
    pub fn fail_truncate(&mut self, fail: bool) {
        self.fail_truncate = fail;
    }

    /// Append calls attempted so far; the index the next append call gets.
    pub fn append_count(&self) -> u64 {
        self.append_count
    }

    /// Sync calls attempted so far; the index the next sync call gets.
    pub fn sync_count(&self) -> u64 {
        self.sync_count
    }

    /// The wrapped storage.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The wrapped storage, mutably.
    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the storage ("the disk after the crash").
    pub fn into_inner(self) -> S {
        self.inner
    }
}

fn injected(what: &str) -> io::Error {
    io::Error::other(format!("injected {what} failure"))
}

impl<S: JournalStorage> JournalStorage for FaultyStorage<S> {
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.inner.read_at(offset, buf)
    }

    fn read_all(&self) -> io::Result<Vec<u8>> {
        self.inner.read_all()
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        let n = self.append_count;
        self.append_count += 1;
        if self.fail_append_at == Some(n) {
            return Err(injected("append"));
        }
        if let Some((at, keep)) = self.tear_append_at
            && at == n
        {
            self.inner.append(&bytes[..keep.min(bytes.len())])?;
            return Err(injected("torn append"));
        }
        if let Some(space) = self.space {
            let fits = usize::try_from(space)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            self.inner.append(&bytes[..fits])?;
            self.space = Some(space - fits as u64);
            if fits < bytes.len() {
                return Err(io::Error::new(
                    io::ErrorKind::StorageFull,
                    "no space left on device (injected)",
                ));
            }
            return Ok(());
        }
        self.inner.append(bytes)
    }

    fn sync(&mut self) -> io::Result<()> {
        let n = self.sync_count;
        self.sync_count += 1;
        if self.fail_sync_at == Some(n) {
            return Err(injected("sync"));
        }
        self.inner.sync()
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        if self.fail_truncate {
            return Err(injected("truncate"));
        }
        if let Some(space) = self.space {
            // Cutting bytes frees them.
            let freed = self.inner.len()?.saturating_sub(len);
            self.space = Some(space + freed);
        }
        self.inner.truncate(len)
    }
}
