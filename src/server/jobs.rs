//! Background jobs: saves, exports and renders, each a [`Job`] on an immutable snapshot run on
//! its own thread (at most [`MAX_BACKGROUND_JOBS`] at once, else "busy"); the result comes
//! back over a bounded channel and wakes the loop, like a finished script.

use super::Server;
use crate::journal::JournalStorage;
use crate::methods::Job;
use crate::rpc::RpcError;

/// Background jobs (file writes, renders) running at once; more are answered "busy".
pub(super) const MAX_BACKGROUND_JOBS: usize = 4;

/// A background job's result, for the reply waiting under `ticket`.
pub(super) struct JobDone {
    ticket: u64,
    result: Result<serde_json::Value, RpcError>,
}

impl<S: JournalStorage + 'static> Server<S> {
    /// Runs `job` on its own thread; `jobs_running` already counts it.
    pub(super) fn spawn_job(&mut self, ticket: u64, job: Job) -> Result<(), RpcError> {
        let tx = self.jobs_done.0.clone();
        let waker = self.waker.clone();
        // A replicating node's reply says which seq the file or picture shows.
        let as_of = self.replica.is_some().then(|| job.seq());
        let spawned = std::thread::Builder::new()
            .name("voxeld-job".into())
            .spawn(move || {
                let mut result = job.run();
                if let (Some(seq), Ok(serde_json::Value::Object(object))) = (as_of, &mut result) {
                    object.insert("as_of_seq".into(), serde_json::json!(seq));
                }
                let _ = tx.send(JobDone { ticket, result });
                let _ = waker.wake();
            });
        spawned.map(drop).map_err(|e| {
            self.jobs_running -= 1;
            RpcError::internal(format!("cannot start a job: {e}"))
        })
    }

    /// Sends a finished background job's reply.
    pub(super) fn finish_job(&mut self, done: JobDone) {
        self.jobs_running -= 1;
        if let Some(pending) = self.pending.remove(&done.ticket) {
            self.deliver(pending, done.result, false);
        }
    }
}
