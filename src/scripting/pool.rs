//! The script worker pool: a bounded priority queue in front of N threads.
//!
//! Submitting never blocks: a full queue answers at once with [`SubmitError::Exhausted`]
//! ("worker pool exhausted"). Higher priorities run first, equal priorities in submission order.
//! Every finished job goes out on the completion channel given at construction, followed by a
//! call to the wake hook (the server passes a `mio::Waker` so its event loop drains the channel).
//!
//! ```no_run
//! # use voxeld::scripting::*;
//! # fn demo<H: ScriptHost>(job: ScriptJob<H>) {
//! let (tx, rx) = flume::bounded(256);
//! let pool = ScriptPool::new(PoolConfig::default(), tx, std::sync::Arc::new(|| {}));
//! pool.submit(job).unwrap();
//! let done: ScriptDone<H> = rx.recv().unwrap();
//! # }
//! ```

use std::cmp::Ordering as CmpOrdering;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;
use thiserror::Error;

use super::host::ScriptHost;
use super::job::{ScriptDone, ScriptError, ScriptFailure, ScriptJob};
use super::worker::{ScriptRunner, WORKER_THREAD_STACK};

/// Called after every completion is sent, to wake the consumer.
pub type WakeHook = Arc<dyn Fn() + Send + Sync>;

/// How long an idle worker looks for the next job before it sleeps. Measured with
/// `tools/bench_scripts.py` (5 alternating runs): the seed's cube script sequentially went from
/// 3.3 k/s at 50 µs to 3.9 k/s at 250 µs and 4.8 k/s at 1 ms, with less CPU per script, because
/// a worker that never slept runs the next script with warm caches. An idle server still
/// sleeps: the spin ends 1 ms after the last script.
const JOB_SPIN: Duration = Duration::from_millis(1);

/// Finished contexts a busy worker keeps before it frees them anyway.
const MAX_RETIRED: usize = 4;

/// How many recent latencies the percentiles are computed over.
const LATENCY_WINDOW: usize = 1024;

/// Size of the pool and its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Number of worker threads, each with its own QuickJS runtime.
    pub workers: usize,
    /// Jobs that may wait in the queue (running jobs do not count).
    pub queue_capacity: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            workers: 4,
            queue_capacity: 100,
        }
    }
}

/// Why a job was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SubmitError {
    /// The queue is full.
    #[error("worker pool exhausted ({capacity} scripts queued)")]
    Exhausted {
        /// The queue capacity.
        capacity: usize,
    },
    /// The pool is shutting down.
    #[error("script worker pool shut down")]
    ShutDown,
}

/// A snapshot of the pool's counters, reported by `goxel.get_status`-style methods.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolStats {
    /// Worker threads.
    pub workers: usize,
    /// Workers running a script right now.
    pub busy: usize,
    /// Jobs waiting in the queue.
    pub queued: usize,
    /// Queue capacity.
    pub queue_capacity: usize,
    /// Jobs that finished successfully.
    pub completed: u64,
    /// Jobs that failed for any reason (including timeouts).
    pub failed: u64,
    /// Jobs stopped by their deadline.
    pub timed_out: u64,
    /// Median submit-to-completion latency over the recent window, in milliseconds.
    pub latency_p50_ms: f64,
    /// 90th percentile latency, in milliseconds.
    pub latency_p90_ms: f64,
    /// 99th percentile latency, in milliseconds.
    pub latency_p99_ms: f64,
}

/// A pool of script workers fed by a bounded priority queue.
pub struct ScriptPool<H: ScriptHost> {
    shared: Arc<Shared<H>>,
    threads: Vec<JoinHandle<()>>,
}

struct Shared<H> {
    queue: Mutex<Queue<H>>,
    ready: Condvar,
    /// Interrupts running scripts at shutdown.
    cancel: Arc<AtomicBool>,
    capacity: usize,
    workers: usize,
    /// Cores of the machine; an idle worker spins for work only while one is spare.
    cores: usize,
    /// Whether a worker is spinning for the next job.
    spinning: AtomicBool,
    busy: AtomicUsize,
    completed: AtomicU64,
    failed: AtomicU64,
    timed_out: AtomicU64,
    latencies: Mutex<VecDeque<Duration>>,
    done: flume::Sender<ScriptDone<H>>,
    wake: WakeHook,
}

struct Queue<H> {
    heap: BinaryHeap<Queued<H>>,
    next_seq: u64,
    shutting_down: bool,
    /// Workers that will look at the queue without being woken: those finishing a job or
    /// spinning for the next. A job wakes a sleeping worker only when these are too few.
    available: usize,
}

struct Queued<H> {
    priority: i32,
    seq: u64,
    submitted: Instant,
    job: ScriptJob<H>,
}

impl<H> PartialEq for Queued<H> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == CmpOrdering::Equal
    }
}
impl<H> Eq for Queued<H> {}
impl<H> PartialOrd for Queued<H> {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl<H> Ord for Queued<H> {
    /// Max-heap order: higher priority first, then lower sequence number (FIFO).
    fn cmp(&self, other: &Self) -> CmpOrdering {
        self.priority
            .cmp(&other.priority)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

impl<H: ScriptHost> ScriptPool<H> {
    /// Starts `config.workers` threads. Finished jobs are sent on `done`; `wake` is called after
    /// each send.
    pub fn new(config: PoolConfig, done: flume::Sender<ScriptDone<H>>, wake: WakeHook) -> Self {
        let workers = config.workers.max(1);
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                heap: BinaryHeap::with_capacity(config.queue_capacity),
                next_seq: 0,
                shutting_down: false,
                available: workers,
            }),
            ready: Condvar::new(),
            cancel: Arc::new(AtomicBool::new(false)),
            capacity: config.queue_capacity,
            workers,
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            spinning: AtomicBool::new(false),
            busy: AtomicUsize::new(0),
            completed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
            latencies: Mutex::new(VecDeque::with_capacity(LATENCY_WINDOW)),
            done,
            wake,
        });
        let threads = (0..workers)
            .map(|i| {
                let shared = shared.clone();
                std::thread::Builder::new()
                    .name(format!("script-worker-{i}"))
                    .stack_size(WORKER_THREAD_STACK)
                    .spawn(move || worker_loop(&shared))
                    .expect("spawn script worker thread")
            })
            .collect();
        Self { shared, threads }
    }

    /// Queues `job`; answers at once, never blocks.
    pub fn submit(&self, job: ScriptJob<H>) -> Result<(), SubmitError> {
        let mut queue = self.shared.queue.lock().expect("script queue lock");
        if queue.shutting_down {
            return Err(SubmitError::ShutDown);
        }
        if queue.heap.len() >= self.shared.capacity {
            return Err(SubmitError::Exhausted {
                capacity: self.shared.capacity,
            });
        }
        let seq = queue.next_seq;
        queue.next_seq += 1;
        queue.heap.push(Queued {
            priority: job.priority,
            seq,
            submitted: Instant::now(),
            job,
        });
        // Waking a sleeping thread is slow on these VMs; a worker that is finishing a job
        // takes the next one sooner than a woken one would.
        let wake = queue.heap.len() > queue.available;
        drop(queue);
        if wake {
            self.shared.ready.notify_one();
        }
        Ok(())
    }

    /// Current counters and latency percentiles.
    pub fn stats(&self) -> PoolStats {
        let queued = self
            .shared
            .queue
            .lock()
            .expect("script queue lock")
            .heap
            .len();
        let mut window: Vec<Duration> = self
            .shared
            .latencies
            .lock()
            .expect("latency lock")
            .iter()
            .copied()
            .collect();
        window.sort_unstable();
        let pct = |p: f64| -> f64 {
            if window.is_empty() {
                return 0.0;
            }
            let i = ((window.len() - 1) as f64 * p).round() as usize;
            window[i].as_secs_f64() * 1e3
        };
        PoolStats {
            workers: self.shared.workers,
            busy: self.shared.busy.load(Ordering::Relaxed),
            queued,
            queue_capacity: self.shared.capacity,
            completed: self.shared.completed.load(Ordering::Relaxed),
            failed: self.shared.failed.load(Ordering::Relaxed),
            timed_out: self.shared.timed_out.load(Ordering::Relaxed),
            latency_p50_ms: pct(0.50),
            latency_p90_ms: pct(0.90),
            latency_p99_ms: pct(0.99),
        }
    }

    /// Stops accepting jobs, fails queued ones with [`ScriptError::ShutDown`], interrupts running
    /// scripts and joins the workers.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let drained: Vec<Queued<H>> = {
            let mut queue = self.shared.queue.lock().expect("script queue lock");
            queue.shutting_down = true;
            queue.heap.drain().collect()
        };
        self.shared.cancel.store(true, Ordering::Relaxed);
        self.shared.ready.notify_all();
        for queued in drained {
            let job = queued.job;
            let edit_count = job.host.edit_count();
            self.shared.finish(
                queued.submitted,
                ScriptDone {
                    ticket: job.ticket,
                    name: job.name,
                    host: job.host,
                    outcome: Err(ScriptFailure {
                        error: ScriptError::ShutDown,
                        logs: Vec::new(),
                        edit_count,
                        duration: Duration::ZERO,
                        profile: Default::default(),
                    }),
                },
            );
        }
        for thread in self.threads.drain(..) {
            if thread.join().is_err() {
                tracing::error!("script worker panicked");
            }
        }
    }
}

impl<H: ScriptHost> Drop for ScriptPool<H> {
    fn drop(&mut self) {
        self.stop();
    }
}

impl<H: ScriptHost> Shared<H> {
    fn finish(&self, submitted: Instant, done: ScriptDone<H>) {
        match &done.outcome {
            Ok(_) => self.completed.fetch_add(1, Ordering::Relaxed),
            Err(f) => {
                if matches!(f.error, ScriptError::Timeout { .. }) {
                    self.timed_out.fetch_add(1, Ordering::Relaxed);
                }
                self.failed.fetch_add(1, Ordering::Relaxed)
            }
        };
        {
            let mut window = self.latencies.lock().expect("latency lock");
            if window.len() == LATENCY_WINDOW {
                window.pop_front();
            }
            window.push_back(submitted.elapsed());
        }
        if self.done.send(done).is_err() {
            tracing::warn!("script completion receiver dropped");
        }
        (self.wake)();
    }

    /// Counts a worker that finished its job as available again; returns whether the queue
    /// is empty.
    fn back_to_available(&self) -> bool {
        let mut queue = self.queue.lock().expect("script queue lock");
        queue.available += 1;
        queue.heap.is_empty()
    }

    fn queue_is_empty(&self) -> bool {
        self.queue
            .lock()
            .expect("script queue lock")
            .heap
            .is_empty()
    }

    fn next_job(&self) -> Option<Queued<H>> {
        // A thread that sleeps is slow to wake on these VMs, and runs the next script cold: look
        // for work for a while (yielding the core) before blocking, so back-to-back scripts
        // skip the wake-up. Only while a core is spare, though: when other workers are
        // running, spinning takes the core from them (and from the world thread), which costs
        // more than a wake-up saves. One spinner is enough to take the next job.
        if self
            .spinning
            .compare_exchange(false, true, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            let spin_until = Instant::now() + JOB_SPIN;
            let mut found = None;
            while Instant::now() < spin_until && self.busy.load(Ordering::Relaxed) + 2 <= self.cores
            {
                {
                    let mut queue = self.queue.lock().expect("script queue lock");
                    if queue.shutting_down {
                        break;
                    }
                    if let Some(job) = queue.heap.pop() {
                        queue.available -= 1;
                        self.busy.fetch_add(1, Ordering::Relaxed);
                        found = Some(job);
                        break;
                    }
                }
                std::thread::yield_now();
            }
            self.spinning.store(false, Ordering::Relaxed);
            if found.is_some() {
                return found;
            }
        }
        let mut queue = self.queue.lock().expect("script queue lock");
        loop {
            if queue.shutting_down {
                return None;
            }
            if let Some(job) = queue.heap.pop() {
                queue.available -= 1;
                self.busy.fetch_add(1, Ordering::Relaxed);
                return Some(job);
            }
            queue.available -= 1;
            queue = self.ready.wait(queue).expect("script queue lock");
            queue.available += 1;
        }
    }
}

fn worker_loop<H: ScriptHost>(shared: &Shared<H>) {
    let mut runner = match ScriptRunner::new(shared.cancel.clone()) {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::error!(error = %e, "script worker could not create a runtime");
            None
        }
    };
    let mut prepared = runner.as_ref().and_then(|r| r.prepare());
    while let Some(queued) = shared.next_job() {
        let done = match runner.as_mut() {
            Some(runner) => runner.run_prepared(queued.job, prepared.take()),
            None => {
                let job = queued.job;
                let edit_count = job.host.edit_count();
                ScriptDone {
                    ticket: job.ticket,
                    name: job.name,
                    host: job.host,
                    outcome: Err(ScriptFailure {
                        error: ScriptError::Engine("no script runtime".into()),
                        logs: Vec::new(),
                        edit_count,
                        duration: Duration::ZERO,
                        profile: Default::default(),
                    }),
                }
            }
        };
        shared.busy.fetch_sub(1, Ordering::Relaxed);
        shared.finish(queued.submitted, done);
        let queue_empty = shared.back_to_available();
        // The reply is on its way. Free old contexts while no live one is around (the
        // collector then walks garbage only: measured 14 % cheaper per script than collecting
        // with the next context already built), unless jobs are waiting; then build the next
        // context, or leave it to a waiting job to build its own.
        if let Some(r) = runner.as_mut() {
            if queue_empty || r.retired_count() >= MAX_RETIRED {
                r.tidy();
            }
            if shared.queue_is_empty() {
                prepared = r.prepare();
            }
        }
    }
}
