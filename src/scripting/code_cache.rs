//! The bytecode of recently run scripts, kept by each worker so a script sent again is loaded
//! instead of compiled (see [`super::bytecode`] for the costs).
//!
//! Keyed by script name and full source text, so a hit is exact: the name is part of the key
//! because it is compiled into error locations and stack traces. Bounded in entries and bytes,
//! least recently used first out.

use std::hash::{Hash, Hasher};

use rustc_hash::FxHasher;

/// Most scripts a worker keeps compiled.
pub const MAX_ENTRIES: usize = 64;

/// Most bytes (name, source and bytecode together) a worker keeps.
pub const MAX_BYTES: usize = 512 << 10;

/// A bounded least-recently-used map from (name, source) to bytecode.
pub struct CodeCache {
    /// Most recently used first.
    entries: Vec<Entry>,
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
}

struct Entry {
    hash: u64,
    name: Box<str>,
    source: Box<str>,
    bytecode: Box<[u8]>,
}

impl Entry {
    fn size(&self) -> usize {
        self.name.len() + self.source.len() + self.bytecode.len()
    }
}

fn key_hash(name: &str, source: &str) -> u64 {
    let mut h = FxHasher::default();
    name.hash(&mut h);
    source.hash(&mut h);
    h.finish()
}

impl Default for CodeCache {
    fn default() -> Self {
        Self::new(MAX_ENTRIES, MAX_BYTES)
    }
}

impl CodeCache {
    /// An empty cache holding at most `max_entries` scripts and `max_bytes` bytes.
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        Self {
            entries: Vec::new(),
            bytes: 0,
            max_entries,
            max_bytes,
        }
    }

    /// The bytecode of `source` compiled as `name`, marking it recently used.
    pub fn get(&mut self, name: &str, source: &str) -> Option<&[u8]> {
        let hash = key_hash(name, source);
        let i = self
            .entries
            .iter()
            .position(|e| e.hash == hash && *e.name == *name && *e.source == *source)?;
        let entry = self.entries.remove(i);
        self.entries.insert(0, entry);
        Some(&self.entries[0].bytecode)
    }

    /// Keeps `bytecode` for `source` compiled as `name`, dropping the least recently used
    /// entries to make room. An entry larger than the whole budget is not kept.
    pub fn insert(&mut self, name: &str, source: &str, bytecode: Vec<u8>) {
        let entry = Entry {
            hash: key_hash(name, source),
            name: name.into(),
            source: source.into(),
            bytecode: bytecode.into_boxed_slice(),
        };
        if entry.size() > self.max_bytes || self.max_entries == 0 {
            return;
        }
        if let Some(i) = self
            .entries
            .iter()
            .position(|e| e.hash == entry.hash && e.name == entry.name && e.source == entry.source)
        {
            let old = self.entries.remove(i);
            self.bytes -= old.size();
        }
        while self.entries.len() >= self.max_entries || self.bytes + entry.size() > self.max_bytes {
            match self.entries.pop() {
                Some(old) => self.bytes -= old.size(),
                None => break,
            }
        }
        self.bytes += entry.size();
        self.entries.insert(0, entry);
    }

    /// Scripts held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no script is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes held (names, sources and bytecode).
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_need_the_same_name_and_source() {
        let mut c = CodeCache::default();
        c.insert("a.js", "1+1", vec![1, 2, 3]);
        assert_eq!(c.get("a.js", "1+1"), Some(&[1u8, 2, 3][..]));
        assert_eq!(c.get("b.js", "1+1"), None);
        assert_eq!(c.get("a.js", "1+2"), None);
        c.insert("b.js", "1+1", vec![4]);
        assert_eq!(c.get("b.js", "1+1"), Some(&[4u8][..]));
        assert_eq!(c.get("a.js", "1+1"), Some(&[1u8, 2, 3][..]));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn least_recently_used_goes_first_when_full() {
        let mut c = CodeCache::new(2, 1 << 20);
        c.insert("a", "1", vec![0]);
        c.insert("b", "2", vec![0]);
        assert!(c.get("a", "1").is_some()); // b is now the oldest
        c.insert("c", "3", vec![0]);
        assert!(c.get("b", "2").is_none());
        assert!(c.get("a", "1").is_some());
        assert!(c.get("c", "3").is_some());
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn byte_budget_is_kept() {
        let mut c = CodeCache::new(100, 100);
        c.insert("a", "x", vec![0; 40]); // 42 bytes
        c.insert("b", "y", vec![0; 40]); // 84
        assert_eq!(c.bytes(), 84);
        c.insert("c", "z", vec![0; 40]); // would be 126: a goes
        assert_eq!(c.bytes(), 84);
        assert!(c.get("a", "x").is_none());
        c.insert("huge", "w", vec![0; 200]); // larger than the budget: not kept, nothing evicted
        assert!(c.get("huge", "w").is_none());
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn inserting_again_replaces() {
        let mut c = CodeCache::default();
        c.insert("a", "1", vec![1]);
        c.insert("a", "1", vec![2, 2]);
        assert_eq!(c.len(), 1);
        assert_eq!(c.bytes(), 4);
        assert_eq!(c.get("a", "1"), Some(&[2u8, 2][..]));
    }
}
