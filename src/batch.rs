//! Batch mode: a file of JSON-RPC requests run in file order, with one world hash at the end.
//!
//! Every request goes through the same methods as on the socket. Scripts run one after another
//! (each waits for the previous one to commit), so a batch file gives the same world, and the
//! same hash, whatever the worker count and on every run.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use serde_json::Value;

use crate::config::Config;
use crate::methods::simulation::{SimClock, change_rules};
use crate::methods::{self, Ctx, NoJournal, Reply, ServerFacts, scripts};
use crate::rpc::{Dispatch, Request, RpcError, codes, handle_line};
use crate::script_host::WorldHost;
use crate::scripting::{PoolConfig, ScriptDone, ScriptPool, SubmitError};
use crate::server::world_settings;
use systems::VoxelWorld;

struct BatchRunner<'c> {
    world: VoxelWorld,
    journal: NoJournal,
    config: &'c Config,
    pool: ScriptPool<WorldHost>,
    done: flume::Receiver<ScriptDone<WorldHost>>,
    started: std::time::Instant,
    next_ticket: u64,
    files: crate::files::FileAccess,
    /// Never ticks on its own in batch mode: `goxel.step` is a request like any other.
    clock: SimClock,
}

impl Dispatch for BatchRunner<'_> {
    type Output = Value;

    fn dispatch(&mut self, request: &Request<'_>) -> Result<Value, RpcError> {
        let mut ctx = Ctx {
            world: &mut self.world,
            journal: &mut self.journal,
            started: self.started,
            facts: ServerFacts::default(),
            files: &self.files,
            clock: &mut self.clock,
        };
        match methods::call(&mut ctx, &request.method, &request.params)? {
            Reply::Value(v) => Ok(v),
            Reply::Raw(r) => {
                serde_json::from_str(r.get()).map_err(|e| RpcError::internal(e.to_string()))
            }
            Reply::Script(script) => {
                self.next_ticket += 1;
                let job = match scripts::prepare(
                    ctx.world,
                    script,
                    &self.config.scripts,
                    self.next_ticket,
                )? {
                    scripts::Prepared::Job(job) => *job,
                    scripts::Prepared::Failed(v) => return Ok(v),
                };
                self.pool.submit(job).map_err(scripts::submit_error)?;
                let done = self
                    .done
                    .recv()
                    .map_err(|_| scripts::submit_error(SubmitError::ShutDown))?;
                scripts::complete(&mut ctx, done)
            }
            // Batch mode is sequential: heavy work runs in place, in file order.
            Reply::Background(job) => job.run(),
            Reply::Session(_) => Err(RpcError::server(
                codes::INVALID_REQUEST,
                "subscriptions and authentication need a connection; batch mode has none",
                None,
            )),
        }
    }
}

/// Runs the requests of `file` (NDJSON: one request or batch per line), writing each reply
/// line to `out`, then a final line `{"world_hash": .., "seq": .., "voxel_count": ..}`.
/// Returns the final world.
pub fn run(file: &Path, config: &Config, out: &mut dyn Write) -> anyhow::Result<VoxelWorld> {
    let text = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let (done_tx, done) = flume::unbounded();
    let pool = ScriptPool::new(
        PoolConfig {
            workers: config.scripts.workers,
            queue_capacity: config.scripts.queue_capacity,
        },
        done_tx,
        Arc::new(|| {}),
    );
    let mut world = VoxelWorld::new(world_settings(config));
    change_rules(&mut world, &mut NoJournal, config.rule_set()).map_err(anyhow::Error::msg)?;
    let mut runner = BatchRunner {
        world,
        journal: NoJournal,
        config,
        pool,
        done,
        started: std::time::Instant::now(),
        next_ticket: 0,
        files: crate::files::FileAccess::new(config),
        clock: SimClock::new(config),
    };
    let mut reply = Vec::new();
    let bar = crate::worldfile::progress(text.split(|&b| b == b'\n').count() as u64, "requests");
    for line in text.split(|&b| b == b'\n') {
        bar.inc(1);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        reply.clear();
        handle_line(line, &mut runner, &mut reply);
        out.write_all(&reply)?;
    }
    bar.finish_and_clear();
    let snapshot = runner.world.snapshot();
    let summary = serde_json::json!({
        "world_hash": snapshot.hash_hex(), "seq": snapshot.seq, "voxel_count": snapshot.voxel_count(),
    });
    writeln!(out, "{summary}")?;
    runner.pool.shutdown();
    Ok(runner.world)
}
