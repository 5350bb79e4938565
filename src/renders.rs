//! Managed renders: the PNGs `goxel.render_scene` writes in file-path mode, kept in one
//! directory under the data directory, bounded by count, total bytes and age, and described by
//! `goxel.get_render_info`, `goxel.list_renders` and `goxel.cleanup_render`, as the Goxel daemon
//! does.
//!
//! The store is shared (behind a mutex) between the world thread, which answers the management
//! methods, and the render jobs, which register what they wrote. The clock is read here, in
//! `src/`, never in the world.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::RendersConfig;

/// One registered render.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderEntry {
    /// Absolute path of the PNG.
    pub path: PathBuf,
    /// Bytes of the file.
    pub size: u64,
    /// Image width and height.
    pub dimensions: (u32, u32),
    /// `sha256:<hex>` of the file's bytes.
    pub checksum: String,
    /// Unix seconds when it was written.
    pub created_at: u64,
    /// Unix seconds when it expires.
    pub expires_at: u64,
    /// The render's session, `auto<unix seconds>` as the daemon names it.
    pub session_id: String,
}

impl RenderEntry {
    /// The daemon's description of a render (`get_render_info`'s `render`, `list_renders`'
    /// entries).
    pub fn to_json(&self) -> Value {
        json!({
            "path": self.path.display().to_string(), "size": self.size, "format": "png",
            "dimensions": { "width": self.dimensions.0, "height": self.dimensions.1 },
            "checksum": self.checksum, "created_at": self.created_at, "expires_at": self.expires_at,
            "session_id": self.session_id,
        })
    }
}

/// The managed renders, shared between the world thread and render jobs.
#[derive(Debug, Clone)]
pub struct RenderStore(Arc<Mutex<Store>>);

#[derive(Debug)]
struct Store {
    dir: PathBuf,
    config: RendersConfig,
    /// By path; a `BTreeMap` so listings come in a stable order.
    entries: BTreeMap<PathBuf, RenderEntry>,
    /// Distinguishes renders written in the same second.
    counter: u64,
    /// Renders registered since start.
    total_renders: u64,
    /// Renders deleted by the bounds or the TTL (not by `cleanup_render`).
    files_cleaned: u64,
}

/// What `goxel.get_render_stats` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderStats {
    /// Live renders.
    pub active_renders: usize,
    /// Their bytes.
    pub current_cache_size: u64,
    /// The byte bound.
    pub max_cache_size: u64,
    /// Renders registered since start.
    pub total_renders: u64,
    /// Renders the bounds or the TTL removed.
    pub files_cleaned: u64,
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl RenderStore {
    /// A store in `data_dir`/`config.dir` (created on first use).
    pub fn new(data_dir: &Path, config: &RendersConfig) -> RenderStore {
        RenderStore(Arc::new(Mutex::new(Store {
            dir: data_dir.join(&config.dir),
            config: config.clone(),
            entries: BTreeMap::new(),
            counter: 0,
            total_renders: 0,
            files_cleaned: 0,
        })))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave the map half-changed in a way that
        // matters (every operation is one insert or remove), so a poisoned lock is used as is.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The directory renders go to.
    pub fn dir(&self) -> PathBuf {
        self.lock().dir.clone()
    }

    /// A fresh path for a render written now: `render_<unix>_auto<unix>_<8 hex>.png`.
    pub fn next_path(&self) -> PathBuf {
        let mut s = self.lock();
        s.counter += 1;
        let now = unix_now();
        let tag = crc32fast::hash(format!("{now}-{}-{}", s.counter, std::process::id()).as_bytes());
        s.dir.join(format!("render_{now}_auto{now}_{tag:08x}.png"))
    }

    /// Registers the PNG `bytes` just written at `path`; old renders beyond the count and size
    /// bounds are deleted first, oldest first.
    pub fn register(&self, path: &Path, bytes: &[u8], dimensions: (u32, u32)) -> RenderEntry {
        let now = unix_now();
        let mut s = self.lock();
        s.sweep(now);
        let entry = RenderEntry {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            dimensions,
            checksum: format!("sha256:{:x}", Sha256::digest(bytes)),
            created_at: now,
            expires_at: now + s.config.ttl_seconds,
            session_id: format!("auto{now}"),
        };
        s.entries.insert(path.to_path_buf(), entry.clone());
        s.total_renders += 1;
        s.bound(path);
        entry
    }

    /// Counts for `goxel.get_render_stats`.
    pub fn stats(&self) -> RenderStats {
        let mut s = self.lock();
        s.sweep(unix_now());
        RenderStats {
            active_renders: s.entries.len(),
            current_cache_size: s.entries.values().map(|e| e.size).sum(),
            max_cache_size: s.config.max_total_bytes,
            total_renders: s.total_renders,
            files_cleaned: s.files_cleaned,
        }
    }

    /// The render at `path`, if registered and not expired.
    pub fn info(&self, path: &Path) -> Option<RenderEntry> {
        let mut s = self.lock();
        s.sweep(unix_now());
        s.entries.get(path).cloned()
    }

    /// Every live render, by path.
    pub fn list(&self) -> Vec<RenderEntry> {
        let mut s = self.lock();
        s.sweep(unix_now());
        s.entries.values().cloned().collect()
    }

    /// Deletes the render at `path` and forgets it; false when it was not registered.
    pub fn cleanup(&self, path: &Path) -> bool {
        let mut s = self.lock();
        match s.entries.remove(path) {
            Some(_) => {
                let _ = std::fs::remove_file(path);
                true
            }
            None => false,
        }
    }

    /// Removes expired renders (called on every use; also from the world loop's idle tick).
    pub fn sweep(&self) {
        self.lock().sweep(unix_now());
    }
}

impl Store {
    fn sweep(&mut self, now: u64) {
        let expired: Vec<PathBuf> = self
            .entries
            .values()
            .filter(|e| e.expires_at <= now)
            .map(|e| e.path.clone())
            .collect();
        for path in expired {
            self.entries.remove(&path);
            self.files_cleaned += 1;
            let _ = std::fs::remove_file(&path);
        }
    }

    /// Deletes the oldest renders (never `keep`) until count and total size are in bounds.
    fn bound(&mut self, keep: &Path) {
        loop {
            let total: u64 = self.entries.values().map(|e| e.size).sum();
            if self.entries.len() <= self.config.max_count && total <= self.config.max_total_bytes {
                return;
            }
            let Some(oldest) = self
                .entries
                .values()
                .filter(|e| e.path != keep)
                .min_by_key(|e| (e.created_at, e.path.clone()))
                .map(|e| e.path.clone())
            else {
                return;
            };
            self.entries.remove(&oldest);
            self.files_cleaned += 1;
            let _ = std::fs::remove_file(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path, max_count: usize, max_total_bytes: u64, ttl_seconds: u64) -> RenderStore {
        RenderStore::new(
            dir,
            &RendersConfig {
                dir: "renders".into(),
                max_count,
                max_total_bytes,
                ttl_seconds,
            },
        )
    }

    fn write(store: &RenderStore, bytes: &[u8]) -> PathBuf {
        let path = store.next_path();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        store.register(&path, bytes, (4, 2));
        path
    }

    #[test]
    fn renders_are_registered_described_and_cleaned_up() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path(), 10, 1 << 20, 3600);
        let a = write(&s, b"png bytes");
        let name = a.file_name().unwrap().to_str().unwrap().to_string();
        assert!(
            name.starts_with("render_") && name.ends_with(".png"),
            "{name}"
        );
        let info = s.info(&a).unwrap();
        assert_eq!(info.size, 9);
        assert_eq!(info.expires_at, info.created_at + 3600);
        assert!(info.checksum.starts_with("sha256:") && info.checksum.len() == 7 + 64);
        assert_eq!(
            info.to_json()["dimensions"],
            json!({"width": 4, "height": 2})
        );
        let b = write(&s, b"other");
        assert_ne!(a, b);
        assert_eq!(s.list().len(), 2);
        assert!(s.cleanup(&a));
        assert!(!a.exists());
        assert!(!s.cleanup(&a), "a second cleanup finds nothing");
        assert_eq!(s.list().len(), 1);
    }

    #[test]
    fn count_and_size_bounds_delete_the_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path(), 2, 1 << 20, 3600);
        let paths: Vec<PathBuf> = (0..3).map(|i| write(&s, &[i; 10])).collect();
        let live: Vec<PathBuf> = s.list().into_iter().map(|e| e.path).collect();
        assert_eq!(live.len(), 2);
        assert!(live.contains(&paths[2]), "the newest stays");
        assert_eq!(paths.iter().filter(|p| p.exists()).count(), 2);
        let stats = s.stats();
        assert_eq!(
            (
                stats.active_renders,
                stats.total_renders,
                stats.files_cleaned
            ),
            (2, 3, 1)
        );
        assert_eq!(stats.current_cache_size, 20);
        let s = store(dir.path(), 100, 25, 3600);
        let big: Vec<PathBuf> = (0..3).map(|i| write(&s, &[i; 10])).collect();
        assert_eq!(s.list().len(), 2, "30 bytes do not fit in 25");
        assert!(big[2].exists());
    }

    #[test]
    fn expired_renders_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path(), 10, 1 << 20, 0);
        let a = write(&s, b"x");
        assert!(s.info(&a).is_none(), "a TTL of 0 expires at once");
        assert!(!a.exists());
    }
}
