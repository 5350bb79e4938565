//! Runs one script on a QuickJS runtime owned by the current thread.
//!
//! A [`ScriptRunner`] keeps one `Runtime` alive across scripts (creating one costs more than a
//! context, and an idle one is small) and gives each script a fresh context (with the globals of
//! `Context::full`, see [`super::lazy_globals`]), so no
//! globals leak from one script to the next. Every limit ends in a distinct [`ScriptError`] and
//! leaves the runner usable: the interrupt handler stops runaway loops at a deadline, the heap
//! and stack limits are set per job, and after an out-of-memory failure the runtime is replaced
//! because QuickJS makes no promise about its state after an allocation failure.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rquickjs::promise::PromiseState;
use rquickjs::{CaughtError, Context, Ctx, Persistent, Promise, Runtime, Value};

use super::api::{self, ScriptState};
use super::bytecode;
use super::code_cache::CodeCache;
use super::host::ScriptHost;
use super::job::{
    ScriptDone, ScriptError, ScriptFailure, ScriptJob, ScriptProfile, ScriptSuccess, StackFrame,
};
use super::lazy_globals;
use super::native;

/// Largest stack limit a job may ask for; worker threads are spawned with room to spare.
pub const MAX_STACK_BYTES: usize = 4 << 20;

/// Most leftover jobs run (each stopped at once) before a runtime is given up on.
const MAX_DISCARDED_JOBS: usize = 10_000;

/// Stack size of pool worker threads: the JS limit plus headroom for Rust frames.
pub(crate) const WORKER_THREAD_STACK: usize = MAX_STACK_BYTES + (4 << 20);

/// Executes scripts one at a time on a thread-local QuickJS runtime.
///
/// Not `Send`: create it on the thread that will use it.
pub struct ScriptRunner {
    rt: Runtime,
    interrupt: Rc<InterruptState>,
    /// Contexts of finished scripts, freed by [`ScriptRunner::tidy`].
    retired: Vec<Context>,
    /// Bytecode of recently run scripts.
    code_cache: RefCell<CodeCache>,
    /// Counts the runtime's heap and its peak (where the platform's allocator can say).
    #[cfg(target_os = "linux")]
    heap: Rc<super::meter::HeapMeter>,
}

/// What the interrupt handler looks at; shared between the runner and the handler closure.
struct InterruptState {
    /// When the running script must stop; `None` between scripts.
    deadline: Cell<Option<Instant>>,
    /// Set by the handler when it stopped a script because of the deadline.
    timed_out: Cell<bool>,
    /// Set by the handler when it stopped a script because of `cancel`.
    cancelled: Cell<bool>,
    /// Raised from another thread to stop the running script (pool shutdown).
    cancel: Arc<AtomicBool>,
    /// A dynamic `import()` was refused and nothing handled the rejection: the script fails
    /// with that message instead of going on with a promise that can only reject.
    refused_import: RefCell<Option<String>>,
}

/// What evaluating a script produced: its completion value, or a promise that must be awaited
/// (kept alive across `Context::with` until the job queue has run).
enum Completion {
    Value(serde_json::Value),
    Promise(Persistent<Promise<'static>>),
}

/// A fresh context with the script API installed, waiting for its one job.
pub struct Prepared<H> {
    context: Context,
    state: Rc<ScriptState<H>>,
}

impl ScriptRunner {
    /// Creates a runner whose scripts are stopped when `cancel` becomes `true`.
    pub fn new(cancel: Arc<AtomicBool>) -> Result<Self, ScriptError> {
        let interrupt = Rc::new(InterruptState {
            deadline: Cell::new(None),
            timed_out: Cell::new(false),
            cancelled: Cell::new(false),
            cancel,
            refused_import: RefCell::new(None),
        });
        #[cfg(target_os = "linux")]
        let heap = Rc::new(super::meter::HeapMeter::default());
        let rt = new_runtime(
            &interrupt,
            #[cfg(target_os = "linux")]
            &heap,
        )?;
        Ok(Self {
            rt,
            interrupt,
            retired: Vec::new(),
            code_cache: RefCell::new(CodeCache::default()),
            #[cfg(target_os = "linux")]
            heap,
        })
    }

    fn new_runtime(&self) -> Result<Runtime, ScriptError> {
        new_runtime(
            &self.interrupt,
            #[cfg(target_os = "linux")]
            &self.heap,
        )
    }

    /// Heap use now, starting a new peak.
    fn heap_start(&self) -> usize {
        #[cfg(target_os = "linux")]
        return self.heap.start();
        #[cfg(not(target_os = "linux"))]
        0
    }

    /// Highest heap use since [`ScriptRunner::heap_start`] above `start`, if measured.
    fn heap_peak_above(&self, start: usize) -> Option<u64> {
        #[cfg(target_os = "linux")]
        return Some(self.heap.peak().saturating_sub(start) as u64);
        #[cfg(not(target_os = "linux"))]
        {
            let _ = start;
            None
        }
    }

    /// Contexts of finished scripts waiting for [`ScriptRunner::tidy`].
    pub fn retired_count(&self) -> usize {
        self.retired.len()
    }

    /// The runtime's current heap use in bytes, as QuickJS counts it.
    pub fn memory_used_bytes(&self) -> i64 {
        self.rt.memory_usage().memory_used_size
    }

    /// Runs `job` to completion, failure or deadline and returns its outcome with the host.
    pub fn run<H: ScriptHost>(&mut self, job: ScriptJob<H>) -> ScriptDone<H> {
        let done = self.run_prepared(job, None);
        self.tidy();
        done
    }

    /// Frees the last script's context and collects garbage. The pool calls it after the
    /// reply is on its way, so a client does not wait for the teardown.
    pub fn tidy(&mut self) {
        self.retired.clear();
        self.rt.run_gc();
        // Collecting may have queued `FinalizationRegistry` callbacks of old scripts.
        self.discard_pending_jobs();
    }

    /// Runs out whatever a finished script left queued (promise reactions after a failure,
    /// finalisers), so none of it runs in a later script's turn. The host has been taken back,
    /// so every API call throws, and the deadline is already past, so the interrupt handler
    /// stops any loop at its first check. A queue that keeps refilling itself costs the runtime.
    fn discard_pending_jobs(&mut self) {
        if !self.rt.is_job_pending() {
            return;
        }
        self.interrupt.deadline.set(Some(Instant::now()));
        let mut drained = false;
        for _ in 0..MAX_DISCARDED_JOBS {
            if matches!(self.rt.execute_pending_job(), Ok(false)) {
                drained = true;
                break;
            }
        }
        self.interrupt.deadline.set(None);
        self.interrupt.timed_out.set(false);
        if !drained {
            tracing::warn!("a script left jobs that keep queueing more; replacing its runtime");
            self.retired.clear();
            match self.new_runtime() {
                Ok(rt) => self.rt = rt,
                Err(e) => tracing::error!(error = %e, "could not recreate script runtime"),
            }
        }
    }

    /// Creates the context (with the API installed) that the next script will run in, so a
    /// worker can pay for it while it waits instead of while a client waits. A context is used
    /// for one script only, so nothing leaks between scripts.
    pub fn prepare<H: ScriptHost>(&self) -> Option<Prepared<H>> {
        let state = Rc::new(ScriptState::idle());
        let context = lazy_globals::new_context(&self.rt).ok()?;
        context.with(|ctx| api::install(&ctx, &state)).ok()?;
        Some(Prepared { context, state })
    }

    /// Runs `job` in `prepared` (from [`ScriptRunner::prepare`]) or, without one, in a new
    /// context.
    pub fn run_prepared<H: ScriptHost>(
        &mut self,
        job: ScriptJob<H>,
        prepared: Option<Prepared<H>>,
    ) -> ScriptDone<H> {
        let _span = tracing::debug_span!("script", ticket = job.ticket, name = %job.name).entered();
        let start = Instant::now();
        let cpu_start = thread_cpu_time();
        let ScriptJob {
            ticket,
            source,
            name,
            timeout,
            seed,
            args,
            host,
            limits,
            ..
        } = job;

        if source.len() > limits.max_script_bytes {
            let edit_count = host.edit_count();
            return ScriptDone {
                ticket,
                name,
                host,
                outcome: Err(ScriptFailure {
                    error: ScriptError::ScriptTooLarge {
                        size: source.len(),
                        limit: limits.max_script_bytes,
                    },
                    logs: Vec::new(),
                    edit_count,
                    duration: start.elapsed(),
                    profile: ScriptProfile::default(),
                }),
            };
        }
        let _ = lazy_globals::take_date_created();
        let heap_start = self.heap_start();

        let seed = seed.unwrap_or_else(|| api::seed_from_source(&source));
        // Limits apply from here on; lift the heap limit for bookkeeping between scripts.
        self.rt.set_memory_limit(limits.memory_bytes);
        self.rt
            .set_max_stack_size(limits.stack_bytes.min(MAX_STACK_BYTES));
        self.interrupt.timed_out.set(false);
        self.interrupt.cancelled.set(false);
        self.interrupt.refused_import.replace(None);
        self.interrupt.deadline.set(Some(
            start
                .checked_add(timeout)
                .unwrap_or(start + Duration::from_secs(86_400 * 365)),
        ));

        let (prepared, state) = match prepared {
            Some(p) => {
                p.state.start(host, limits, seed);
                let state = p.state.clone();
                (Ok(p.context), state)
            }
            None => {
                let state = Rc::new(ScriptState::new(host, limits, seed));
                let context = lazy_globals::new_context(&self.rt).and_then(|context| {
                    context.with(|ctx| api::install(&ctx, &state))?;
                    Ok(context)
                });
                (context, state)
            }
        };
        let outcome = match prepared {
            Ok(context) => {
                let outcome = context.with(|ctx| {
                    self.evaluate(&ctx, &state, &source, args.as_deref(), &name, timeout)
                });
                // Promise reactions the script queued run after it, under the same deadline.
                // Jobs need the runtime lock, so they run outside `Context::with`. A completion
                // value that is a promise is then read: settled by now, or it never will be
                // (scripts have no timers and no I/O).
                let outcome = match outcome {
                    Ok(completion) => {
                        let ran = self.run_jobs(&state, &source, &name, timeout);
                        match completion {
                            Completion::Value(value) => ran.map(|()| value),
                            Completion::Promise(promise) => context.with(|ctx| {
                                // Restored in every case: a `Persistent` is freed only then.
                                let promise = promise.restore(&ctx);
                                ran?;
                                match promise {
                                    Ok(p) => self.settle(&ctx, &state, &source, &name, timeout, p),
                                    Err(e) => Err(ScriptError::Engine(e.to_string())),
                                }
                            }),
                        }
                    }
                    Err(e) => Err(e),
                };
                // From here on `addVoxel` in this context throws instead of reaching the state.
                context.with(|ctx| native::detach(&ctx));
                // Freeing a context costs tens of µs: keep it until `tidy`, after the reply.
                self.retired.push(context);
                outcome
            }
            Err(rquickjs::Error::Allocation) => Err(ScriptError::MemoryLimit),
            Err(e) => Err(ScriptError::Engine(e.to_string())),
        };

        self.interrupt.deadline.set(None);
        self.rt.set_memory_limit(0);
        if outcome
            .as_ref()
            .is_err_and(|e| *e == ScriptError::MemoryLimit)
        {
            self.tidy();
            // QuickJS gives no guarantee about a runtime after an allocation failure.
            match self.new_runtime() {
                Ok(rt) => self.rt = rt,
                Err(e) => tracing::error!(error = %e, "could not recreate script runtime"),
            }
        }

        let host = state
            .host
            .borrow_mut()
            .take()
            .expect("host is taken back exactly once");
        let logs = std::mem::take(&mut *state.logs.borrow_mut());
        let read_outside = state.read_outside.get() | lazy_globals::take_date_created();
        let profile = ScriptProfile {
            cpu_time: thread_cpu_time().saturating_sub(cpu_start),
            api_calls: state.api_calls.get(),
            peak_heap_bytes: self.heap_peak_above(heap_start),
        };
        self.discard_pending_jobs();
        let edit_count = host.edit_count();
        let duration = start.elapsed();
        let outcome = match outcome {
            Ok(result) => Ok(ScriptSuccess {
                result,
                logs,
                edit_count,
                duration,
                profile,
                read_outside,
            }),
            Err(error) => {
                tracing::debug!(%error, "script failed");
                Err(ScriptFailure {
                    error,
                    logs,
                    edit_count,
                    duration,
                    profile,
                })
            }
        };
        ScriptDone {
            ticket,
            name,
            host,
            outcome,
        }
    }

    fn evaluate<'js, H: ScriptHost>(
        &self,
        ctx: &Ctx<'js>,
        state: &Rc<ScriptState<H>>,
        source: &str,
        args: Option<&str>,
        name: &str,
        timeout: Duration,
    ) -> Result<Completion, ScriptError> {
        if let Some(args) = args {
            let installed = ctx
                .json_parse(args)
                .and_then(|v| ctx.globals().set("args", v));
            if let Err(e) = installed {
                return Err(self.classify(ctx, state, source, name, timeout, Err(e)));
            }
        }
        let value = self.compile_and_run(ctx, source, name);
        let value = match value {
            Ok(v) => v,
            Err(e) => return Err(self.classify(ctx, state, source, name, timeout, Err(e))),
        };
        if let Some(error) = self.limit_error(state, timeout) {
            return Err(error);
        }
        if let Some(promise) = value.as_promise() {
            return Ok(Completion::Promise(Persistent::save(ctx, promise.clone())));
        }
        Ok(Completion::Value(to_json(ctx, value)))
    }

    /// The outcome of a script whose completion value is `promise`, after the job queue ran
    /// dry: its value, its rejection as a failure, or a failure saying it can never settle.
    fn settle<'js, H>(
        &self,
        ctx: &Ctx<'js>,
        state: &ScriptState<H>,
        source: &str,
        name: &str,
        timeout: Duration,
        promise: Promise<'js>,
    ) -> Result<serde_json::Value, ScriptError> {
        let thrown = Err(rquickjs::Error::Exception);
        match promise.state() {
            PromiseState::Resolved => match promise.result::<Value<'js>>() {
                Some(Ok(value)) => Ok(to_json(ctx, value)),
                _ => Err(self.classify(ctx, state, source, name, timeout, thrown)),
            },
            PromiseState::Rejected => {
                // `result` throws the rejection reason, so it is classified like a throw.
                let _ = promise.result::<Value<'js>>();
                Err(self.classify(ctx, state, source, name, timeout, thrown))
            }
            PromiseState::Pending => Err(ScriptError::Exception {
                name: "Error".into(),
                message: "the script's completion value is a promise that never settled: \
                          the job queue ran dry and scripts have no timers or I/O to settle it"
                    .into(),
                line: None,
                column: None,
                stack: None,
                frames: Vec::new(),
            }),
        }
    }

    /// Runs `source` as the script `name`: loaded from the bytecode cache when this worker ran
    /// the same script before, otherwise compiled (and its bytecode kept).
    fn compile_and_run<'js>(
        &self,
        ctx: &Ctx<'js>,
        source: &str,
        name: &str,
    ) -> rquickjs::Result<Value<'js>> {
        let loaded = {
            let mut cache = self.code_cache.borrow_mut();
            cache
                .get(name, source)
                .map(|code| bytecode::load(ctx, code))
        };
        let compiled = match loaded {
            Some(Ok(compiled)) => compiled,
            failed_or_missing => {
                if failed_or_missing.is_some() {
                    // Not expected (this process wrote the bytecode); compile instead.
                    let _ = ctx.catch();
                }
                let compiled = bytecode::compile(ctx, source, name)?;
                if let Some(code) = bytecode::serialize(ctx, &compiled) {
                    self.code_cache.borrow_mut().insert(name, source, code);
                }
                compiled
            }
        };
        bytecode::run(ctx, compiled)
    }

    /// Scripts whose bytecode this runner keeps.
    pub fn cached_scripts(&self) -> usize {
        self.code_cache.borrow().len()
    }

    /// Runs queued promise jobs until none are left or one fails.
    fn run_jobs<H>(
        &self,
        state: &ScriptState<H>,
        source: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<(), ScriptError> {
        loop {
            match self.rt.execute_pending_job() {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    if let Some(error) = self.limit_error(state, timeout) {
                        return Err(error);
                    }
                    return Err(e.0.with(|jctx| {
                        let c = CaughtError::catch(&jctx, Err::<(), _>(rquickjs::Error::Exception));
                        exception_error(c, source, name)
                    }));
                }
            }
        }
        match self.limit_error(state, timeout) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// A limit that overrides whatever the script threw or returned.
    fn limit_error<H>(&self, state: &ScriptState<H>, timeout: Duration) -> Option<ScriptError> {
        if let Some(fatal) = state.fatal.borrow().clone() {
            return Some(fatal);
        }
        if self.interrupt.cancelled.get() {
            return Some(ScriptError::ShutDown);
        }
        if self.interrupt.timed_out.get() {
            return Some(ScriptError::Timeout {
                timeout_ms: timeout.as_millis() as u64,
            });
        }
        if let Some(message) = self.interrupt.refused_import.borrow().clone() {
            return Some(ScriptError::Exception {
                name: "Error".into(),
                message,
                line: None,
                column: None,
                stack: None,
                frames: Vec::new(),
            });
        }
        None
    }

    fn classify<'js, H>(
        &self,
        ctx: &Ctx<'js>,
        state: &ScriptState<H>,
        source: &str,
        name: &str,
        timeout: Duration,
        result: rquickjs::Result<()>,
    ) -> ScriptError {
        let caught = CaughtError::catch(ctx, result);
        if let Some(error) = self.limit_error(state, timeout) {
            return error;
        }
        exception_error(caught, source, name)
    }
}

impl Drop for ScriptRunner {
    fn drop(&mut self) {
        self.rt.set_interrupt_handler(None);
    }
}

fn new_runtime(
    interrupt: &Rc<InterruptState>,
    #[cfg(target_os = "linux")] heap: &Rc<super::meter::HeapMeter>,
) -> Result<Runtime, ScriptError> {
    #[cfg(target_os = "linux")]
    let rt = Runtime::new_with_alloc(super::meter::CountingAllocator(heap.clone()));
    #[cfg(not(target_os = "linux"))]
    let rt = Runtime::new();
    let rt = rt.map_err(|e| ScriptError::Engine(e.to_string()))?;
    // A refused `import()` rejects its promise; if the script never handles that, it fails
    // with the refusal rather than finishing as if the import were still on its way.
    let state = interrupt.clone();
    rt.set_host_promise_rejection_tracker(Some(Box::new(
        move |_ctx, _promise, reason, handled| {
            let message = reason
                .as_exception()
                .and_then(|e| e.message())
                .and_then(|m| refused_import_message(&m));
            if let Some(message) = message {
                *state.refused_import.borrow_mut() = (!handled).then_some(message);
            }
        },
    )));
    let state = interrupt.clone();
    rt.set_interrupt_handler(Some(Box::new(move || {
        if state.cancel.load(Ordering::Relaxed) {
            state.cancelled.set(true);
            return true;
        }
        match state.deadline.get() {
            Some(deadline) if Instant::now() >= deadline => {
                state.timed_out.set(true);
                true
            }
            _ => false,
        }
    })));
    Ok(rt)
}

/// Maps what evaluation threw to a [`ScriptError`].
fn exception_error(
    caught: rquickjs::CaughtResult<'_, ()>,
    source: &str,
    file: &str,
) -> ScriptError {
    let caught = match caught {
        Ok(()) => return ScriptError::Engine("no exception pending".into()),
        Err(c) => c,
    };
    match caught {
        CaughtError::Error(rquickjs::Error::Allocation) => ScriptError::MemoryLimit,
        CaughtError::Error(e) => ScriptError::Engine(e.to_string()),
        CaughtError::Exception(e) => {
            let name: String = e
                .get::<_, Option<String>>("name")
                .ok()
                .flatten()
                .unwrap_or_else(|| "Error".into());
            let message = e.message().unwrap_or_default();
            if name == "InternalError" && message == "out of memory" {
                return ScriptError::MemoryLimit;
            }
            if name == "RangeError" && message == "Maximum call stack size exceeded" {
                return ScriptError::StackOverflow;
            }
            let message = refused_import_message(&message).unwrap_or(message);
            let stack = e.stack().filter(|s| !s.is_empty());
            let (line, column) = stack
                .as_deref()
                .and_then(|s| location(s, file))
                .map_or((None, None), |(l, c)| (Some(l), Some(c)));
            let frames = stack
                .as_deref()
                .map(|s| frames(s, source, file))
                .unwrap_or_default();
            ScriptError::Exception {
                name,
                message,
                line,
                column,
                stack,
                frames,
            }
        }
        CaughtError::Value(v) => {
            // QuickJS throws `null` when it runs out of memory while building the error.
            if v.is_null() {
                return ScriptError::MemoryLimit;
            }
            let message = v
                .get::<rquickjs::Coerced<String>>()
                .map(|c| c.0)
                .unwrap_or_else(|_| format!("uncaught {}", v.type_name()));
            ScriptError::Exception {
                name: "Error".into(),
                message,
                line: None,
                column: None,
                stack: None,
                frames: Vec::new(),
            }
        }
    }
}

/// Longest source line quoted in a stack frame, in characters.
const MAX_FRAME_SOURCE: usize = 200;

/// The frames of a QuickJS stack trace that lie in the script `file`, each with its line of
/// `source`: `    at f (cube.js:3:5)` or `    at cube.js:3:5`.
fn frames(stack: &str, source: &str, file: &str) -> Vec<StackFrame> {
    let needle = format!("{file}:");
    stack
        .lines()
        .filter_map(|line| {
            let text = line.trim().strip_prefix("at ")?;
            let (function, location) = match text.rsplit_once(" (") {
                Some((f, loc)) => (f.trim(), loc.trim_end_matches(')')),
                None => ("<eval>", text),
            };
            let rest = location.strip_prefix(&needle)?;
            let (l, c) = rest.split_once(':')?;
            let (line_no, column): (u32, u32) = (l.parse().ok()?, c.parse().ok()?);
            let text: String = source
                .lines()
                .nth(line_no.checked_sub(1)? as usize)
                .unwrap_or_default()
                .chars()
                .take(MAX_FRAME_SOURCE)
                .collect();
            Some(StackFrame {
                function: function.to_string(),
                line: line_no,
                column,
                source: text,
            })
        })
        .collect()
}

/// CPU time this thread has used (zero where it is not measured).
fn thread_cpu_time() -> Duration {
    #[cfg(target_os = "linux")]
    return super::meter::thread_cpu_time();
    #[cfg(not(target_os = "linux"))]
    Duration::ZERO
}
/// QuickJS's refusal of an `import()` (there is no module loader) as voxeld says it, or `None`
/// for any other message.
fn refused_import_message(message: &str) -> Option<String> {
    let module = message.strip_prefix("could not load module ")?;
    Some(format!(
        "module loading is not available: scripts cannot import modules (import of {module})"
    ))
}

/// Finds the first `file:line:column` of `file` in a QuickJS stack trace, e.g.
/// `    at <eval> (create_cube.js:3:5)` or `    at create_cube.js:3:5`.
fn location(stack: &str, file: &str) -> Option<(u32, u32)> {
    let needle = format!("{file}:");
    stack.lines().find_map(|line| {
        let start = line.find(&needle)? + needle.len();
        let rest = &line[start..];
        let end = rest.find(')').unwrap_or(rest.len());
        let (l, c) = rest[..end].split_once(':')?;
        Some((l.trim().parse().ok()?, c.trim().parse().ok()?))
    })
}

/// The completion value as JSON; anything JSON cannot express becomes `null`.
fn to_json<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> serde_json::Value {
    match ctx.json_stringify(value) {
        Ok(Some(s)) => s
            .to_string()
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(serde_json::Value::Null),
        _ => {
            // Clear the exception JSON.stringify may have left (cycles, BigInt).
            let _ = ctx.catch();
            serde_json::Value::Null
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{frames, location};

    #[test]
    fn frames_carry_their_source_lines() {
        let stack = "    at inner (a.js:3:11)\n    at <eval> (a.js:5:1)\n    at <native>\n";
        let f = frames(
            stack,
            "// x\nfunction inner() {\n  throw new Error('no');\n}\ninner();",
            "a.js",
        );
        assert_eq!(f.len(), 2);
        assert_eq!(
            (f[0].function.as_str(), f[0].line, f[0].column),
            ("inner", 3, 11)
        );
        assert_eq!(f[0].source, "  throw new Error('no');");
        assert_eq!(f[1].source, "inner();");
    }

    #[test]
    fn location_is_read_from_both_stack_forms() {
        assert_eq!(
            location(
                "Error: x\n    at <eval> (create_cube.js:3:5)\n",
                "create_cube.js"
            ),
            Some((3, 5))
        );
        assert_eq!(location("    at a.js:10:2\n", "a.js"), Some((10, 2)));
        assert_eq!(location("    at <native>\n", "a.js"), None);
    }
}
