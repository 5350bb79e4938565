//! The server's script library: the registered scripts of the script directories
//! ([`crate::scripting::library`]), the cache of library runs whose result cannot differ, and
//! per-script statistics (`goxel.get_script_stats`).
//!
//! It is used on the world thread only (the `run_script` handler, and the completion of a
//! script), behind a mutex so it can sit in the shared [`FileAccess`](crate::files::FileAccess)
//! next to the managed renders.
//!
//! **When a cached result is used.** A run is answered from the cache only when its result
//! cannot differ from an earlier one: the same script bytes (SHA-256), the same `args` after
//! defaults, the same `seed`, and the same world: the snapshot's `seq` (every change to voxels,
//! layers, the active layer or the rules is a buffer or record with the next `seq`) and `tick`.
//! Only successful runs that changed nothing and read nothing from outside are kept: a run that
//! changes the world (voxels, or a layer created, selected, shown or hidden: any buffer) is never
//! cached (answering it from the cache would skip its changes, and its commit moves `seq`
//! anyway), and a run that read a clock (`Date`, `performance`) or the collector
//! (`WeakRef`, `FinalizationRegistry`) is not either. `Math.random` is seeded, so it counts as
//! input. Failures are not cached (a timeout or the memory limit depends on the machine).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rustc_hash::FxHashMap;
use serde_json::{Value, json};

use crate::config::ScriptsConfig;
use crate::scripting::library::{Library, LookupError};

/// Most script names the statistics keep; the least recently run name makes room.
const MAX_STAT_NAMES: usize = 1000;

/// How many recent durations a name's percentiles are computed over.
const DURATION_WINDOW: usize = 1024;

/// What makes two library runs give the same reply.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    digest: [u8; 32],
    /// `args` after defaults, as canonical JSON (keys sorted).
    args: String,
    seed: Option<u64>,
    seq: u64,
    tick: u64,
}

/// What `run_script` does with a request.
pub enum Plan {
    /// Answer this reply (a cache hit).
    Cached(Box<serde_json::value::RawValue>),
    /// Run `source` with `args` (JSON text); `key` goes with the job.
    Run {
        /// The script's source.
        source: Arc<str>,
        /// The `args` object the script sees, as JSON text.
        args: String,
        /// Where the result may be cached.
        key: CacheKey,
    },
}

/// Why `run_script` refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// No script of that name.
    NotFound,
    /// The script cannot be used; why.
    Unusable(String),
    /// `args` does not fit: the field and why.
    Args {
        /// `args` or `args.NAME`.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// The library, its result cache and statistics, shared.
#[derive(Debug, Clone)]
pub struct ScriptLibrary(Arc<Mutex<Inner>>);

#[derive(Debug)]
struct Inner {
    library: Library,
    cache: ResultCache,
    stats: BTreeMap<String, NameStats>,
    /// Counts runs, to find the least recently run name.
    clock: u64,
}

impl ScriptLibrary {
    /// The library of `config.script_dirs`, with the configured cache bounds.
    pub fn new(config: &ScriptsConfig) -> ScriptLibrary {
        ScriptLibrary(Arc::new(Mutex::new(Inner {
            library: Library::new(config.script_dirs.clone(), config.max_script_bytes),
            cache: ResultCache::new(config.result_cache_entries, config.result_cache_bytes),
            stats: BTreeMap::new(),
            clock: 0,
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `goxel.list_scripts`' reply.
    pub fn listing(&self) -> Value {
        let mut inner = self.lock();
        let mut v = inner.library.listing();
        v["cache"] = inner.cache.describe();
        v
    }

    /// Looks `name` up (re-reading it if it changed), checks `args` and answers from the cache
    /// when the same run on the same world was answered before.
    pub fn plan(
        &self,
        name: &str,
        args: Option<&Value>,
        seed: Option<u64>,
        seq: u64,
        tick: u64,
    ) -> Result<Plan, PlanError> {
        let mut inner = self.lock();
        let script = inner.library.get(name).map_err(|e| match e {
            LookupError::NotFound => PlanError::NotFound,
            LookupError::Unusable(why) => PlanError::Unusable(why),
        })?;
        let Ok(meta) = &script.meta else {
            return Err(PlanError::Unusable("header does not parse".into()));
        };
        let args = meta.check_args(args).map_err(|e| PlanError::Args {
            field: e.field,
            message: e.message,
        })?;
        let args = Value::Object(args).to_string();
        let key = CacheKey {
            digest: script.digest,
            args,
            seed,
            seq,
            tick,
        };
        let source = script.source.clone();
        if let Some(reply) = inner.cache.get(&key) {
            inner.record_hit(name);
            return Ok(Plan::Cached(reply));
        }
        let args = key.args.clone();
        Ok(Plan::Run { source, args, key })
    }

    /// Keeps the reply of a library run that may be answered again.
    pub fn remember(&self, key: CacheKey, reply: &Value) {
        let mut cached = reply.clone();
        cached["cached"] = json!(true);
        if let Ok(raw) = serde_json::value::to_raw_value(&cached) {
            self.lock().cache.insert(key, raw);
        }
    }

    /// Counts one finished run of `name`.
    pub fn record_run(&self, name: &str, duration: Duration, failed: bool, run: RunFigures) {
        let mut inner = self.lock();
        let stats = inner.entry(name);
        stats.count += 1;
        stats.failures += u64::from(failed);
        stats.cpu_ms += run.cpu_time.as_secs_f64() * 1e3;
        stats.edits += run.edit_count;
        stats.api_calls += run.api_calls;
        if stats.durations.len() == DURATION_WINDOW {
            stats.durations.pop_front();
        }
        stats.durations.push_back(duration.as_secs_f64() * 1e3);
    }

    /// `goxel.get_script_stats`' reply: every name, or only `name`.
    pub fn stats(&self, name: Option<&str>) -> Value {
        let inner = self.lock();
        let scripts: Vec<Value> = inner
            .stats
            .iter()
            .filter(|(n, _)| name.is_none_or(|want| want == n.as_str()))
            .map(|(n, s)| s.describe(n))
            .collect();
        json!({ "scripts": scripts, "cache": inner.cache.describe() })
    }
}

/// What a finished run adds to its name's statistics besides duration and failure.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunFigures {
    /// CPU time of the run.
    pub cpu_time: Duration,
    /// Voxel edits it made.
    pub edit_count: u64,
    /// `goxel.*` calls it made.
    pub api_calls: u64,
}

impl Inner {
    fn entry(&mut self, name: &str) -> &mut NameStats {
        self.clock += 1;
        let clock = self.clock;
        if !self.stats.contains_key(name) && self.stats.len() >= MAX_STAT_NAMES {
            let oldest = self
                .stats
                .iter()
                .min_by_key(|(_, s)| s.last)
                .map(|(n, _)| n.clone());
            if let Some(oldest) = oldest {
                self.stats.remove(&oldest);
            }
        }
        let stats = self.stats.entry(name.to_string()).or_default();
        stats.last = clock;
        stats
    }

    fn record_hit(&mut self, name: &str) {
        let stats = self.entry(name);
        stats.count += 1;
        stats.cached += 1;
    }
}

/// One name's figures.
#[derive(Debug, Default)]
struct NameStats {
    count: u64,
    failures: u64,
    cached: u64,
    cpu_ms: f64,
    edits: u64,
    api_calls: u64,
    /// Recent durations of runs that executed, in ms.
    durations: VecDeque<f64>,
    last: u64,
}

impl NameStats {
    fn describe(&self, name: &str) -> Value {
        let mut window: Vec<f64> = self.durations.iter().copied().collect();
        window.sort_unstable_by(f64::total_cmp);
        let pct = |p: f64| {
            if window.is_empty() {
                0.0
            } else {
                window[((window.len() - 1) as f64 * p).round() as usize]
            }
        };
        let executed = self.count - self.cached;
        json!({
            "name": name,
            "count": self.count,
            "executed": executed,
            "cached": self.cached,
            "failures": self.failures,
            "duration_p50_ms": pct(0.5),
            "duration_p99_ms": pct(0.99),
            "duration_max_ms": window.last().copied().unwrap_or(0.0),
            "cpu_time_ms_total": self.cpu_ms,
            "edit_count_total": self.edits,
            "api_calls_total": self.api_calls,
        })
    }
}

/// Replies of library runs, least recently used out first, bounded in count and bytes.
#[derive(Debug)]
struct ResultCache {
    max_entries: usize,
    max_bytes: usize,
    bytes: usize,
    clock: u64,
    entries: FxHashMap<CacheKey, (Arc<serde_json::value::RawValue>, u64)>,
    /// Keys by last use.
    order: BTreeMap<u64, CacheKey>,
    hits: u64,
    misses: u64,
}

impl ResultCache {
    fn new(max_entries: usize, max_bytes: usize) -> ResultCache {
        ResultCache {
            max_entries,
            max_bytes,
            bytes: 0,
            clock: 0,
            entries: FxHashMap::default(),
            order: BTreeMap::new(),
            hits: 0,
            misses: 0,
        }
    }

    fn size(key: &CacheKey, reply: &serde_json::value::RawValue) -> usize {
        // The reply, the key's args and a fixed share for the key and the two maps.
        reply.get().len() + key.args.len() + 128
    }

    fn get(&mut self, key: &CacheKey) -> Option<Box<serde_json::value::RawValue>> {
        self.clock += 1;
        let clock = self.clock;
        match self.entries.get_mut(key) {
            Some((reply, used)) => {
                self.order.remove(used);
                *used = clock;
                self.order.insert(clock, key.clone());
                self.hits += 1;
                Some(reply.as_ref().to_owned())
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    fn insert(&mut self, key: CacheKey, reply: Box<serde_json::value::RawValue>) {
        let size = Self::size(&key, &reply);
        if self.max_entries == 0 || size > self.max_bytes {
            return;
        }
        if let Some((old, used)) = self.entries.remove(&key) {
            self.order.remove(&used);
            self.bytes -= Self::size(&key, &old);
        }
        while self.entries.len() >= self.max_entries || self.bytes + size > self.max_bytes {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some((old, _)) = self.entries.remove(&oldest) {
                self.bytes -= Self::size(&oldest, &old);
            }
        }
        self.clock += 1;
        self.order.insert(self.clock, key.clone());
        self.entries.insert(key, (Arc::from(reply), self.clock));
        self.bytes += size;
    }

    fn describe(&self) -> Value {
        json!({
            "entries": self.entries.len(),
            "bytes": self.bytes,
            "max_entries": self.max_entries,
            "max_bytes": self.max_bytes,
            "hits": self.hits,
            "misses": self.misses,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u64) -> CacheKey {
        CacheKey {
            digest: [0; 32],
            args: "{}".into(),
            seed: None,
            seq: n,
            tick: 0,
        }
    }

    fn raw(s: &str) -> Box<serde_json::value::RawValue> {
        serde_json::value::to_raw_value(s).unwrap()
    }

    #[test]
    fn the_cache_is_bounded_by_count_and_bytes_and_drops_the_least_recently_used() {
        let mut c = ResultCache::new(2, 10_000);
        c.insert(key(1), raw("a"));
        c.insert(key(2), raw("b"));
        assert!(c.get(&key(1)).is_some());
        c.insert(key(3), raw("c"));
        assert!(c.get(&key(2)).is_none(), "2 was the least recently used");
        assert!(c.get(&key(1)).is_some() && c.get(&key(3)).is_some());

        let mut c = ResultCache::new(100, 400);
        let big = "x".repeat(150);
        for i in 0..5 {
            c.insert(key(i), raw(&big));
        }
        assert!(c.bytes <= 400, "{}", c.bytes);
        assert_eq!(c.entries.len(), 1);
        c.insert(key(9), raw(&"y".repeat(1000)));
        assert!(
            c.get(&key(9)).is_none(),
            "larger than the whole cache: not kept"
        );
    }
}
