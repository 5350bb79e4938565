//! The Goxel daemon's methods, on the world: one function per method, grouped by what they
//! touch. The socket server, batch mode and tests all call [`call`], so every road to the
//! world goes through the same code.
//!
//! Edits are applied at once, through [`Ctx::apply`], which also journals them: a method's
//! reply is built only after its edits are applied and recorded (read-your-writes).

mod analysis;
mod housekeeping;
mod layers;
pub mod live;
pub mod project;
pub mod renders;
pub mod scripts;
pub mod simulation;
mod table;
mod voxels;

use std::time::Instant;

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use systems::{
    Applied, BufferOutcome, CommandBuffer, EditError, HistoryMode, LayerId, Source, VoxelWorld,
};

use systems::simulation::RuleSet;

use crate::codec::encode_buffer;
use crate::journal::RecordKind;
use crate::rpc::{Params, RpcError, codes};
use crate::script_host::WorldHost;
use crate::scripting::ScriptPool;

/// Where applied buffers, simulation steps and rule changes are recorded before their replies
/// are sent.
pub trait Recorder {
    /// Records the change numbered `seq`: a buffer (its encoding in `payload`), a run of steps
    /// or a rule change. An error means the record is not on disk: the caller takes the change
    /// back.
    fn record(
        &mut self,
        kind: RecordKind,
        seq: u64,
        source: Source,
        payload: &[u8],
    ) -> Result<(), String>;

    /// Why the journal refuses every edit now (it failed), if it does. A refused edit is not
    /// applied at all.
    fn refusal(&self) -> Option<&str> {
        None
    }

    /// The error every edit gets while this node is not the replication leader (a read
    /// replica, or a leader that stepped down); checked before [`Recorder::refusal`].
    fn not_leader(&self) -> Option<&RpcError> {
        None
    }

    /// Takes the change just recorded while its record may still fail to become durable
    /// (`fsync: Always`, until the iteration's group sync): if that sync fails, the recorder
    /// takes the group back, newest first (see [`Held`] for what can be taken back). The
    /// default drops it: the record is as durable as it will get.
    fn hold(&mut self, change: Held) {
        drop(change);
    }

    /// Makes the held group durable now, before `world` changes in a way that cannot be taken
    /// back (simulation ticks, see [`Held::Steps`]), so a group never holds a buffer older
    /// than a step. `Err`: the sync failed, the group was taken back and the journal failed.
    /// The default has nothing held.
    fn sync_held(&mut self, world: &mut VoxelWorld) -> Result<(), String> {
        let _ = world;
        Ok(())
    }

    /// The journal's state, for `goxel.get_status`.
    fn state(&self) -> JournalState<'_> {
        JournalState::Off
    }
}

/// What `goxel.get_status` says about the journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JournalState<'a> {
    /// No journal: edits are lost on exit.
    Off,
    /// Recording edits under this fsync policy (the config's name).
    Ok {
        /// `Always`, `EverySec` or `Never`.
        fsync: &'a str,
    },
    /// The last journal write failed (a full disk, typically): that edit was refused and cut
    /// back out; the next edit tries again.
    WriteError {
        /// The config's fsync policy.
        fsync: &'a str,
        /// The write error.
        error: &'a str,
    },
    /// A sync failed: edits are refused until the server is restarted.
    Failed {
        /// The config's fsync policy.
        fsync: &'a str,
        /// What failed.
        error: &'a str,
    },
}

/// A change recorded under `fsync: Always` that waits for the iteration's group sync
/// ([`Recorder::hold`]). If the sync fails, the group is taken back newest first:
pub enum Held {
    /// A buffer: taken back exactly ([`VoxelWorld::revert_last`]).
    Buffer(Applied),
    /// A rule change numbered `seq`: taken back exactly (the old rules, `seq - 1`).
    Rules {
        /// The rules in force before the change.
        old: RuleSet,
        /// The change's sequence number.
        seq: u64,
    },
    /// A run of `ticks` simulation ticks recorded as `seq`. A tick has no inverse, so it is
    /// never taken back: the ticks stay in memory but not in the journal, the journal fails
    /// (every edit and every further tick refused until restart), and no reply that saw them
    /// is sent (they are withdrawn with the journal error like the rest of the group). A
    /// restart replays the journal without them. Since ticks only run with nothing older held
    /// ([`Recorder::sync_held`]), a step only ever heads its group, and every buffer and rule
    /// change after it is still taken back exactly.
    Steps {
        /// The Step record's sequence number.
        seq: u64,
        /// How many ticks it holds.
        ticks: u64,
    },
}

/// A recorder that keeps nothing (tests, and servers with the journal off).
pub struct NoJournal;

impl Recorder for NoJournal {
    fn record(
        &mut self,
        _kind: RecordKind,
        _seq: u64,
        _source: Source,
        _payload: &[u8],
    ) -> Result<(), String> {
        Ok(())
    }
}

/// Facts about the server that status methods report.
#[derive(Clone, Copy, Default)]
pub struct ServerFacts<'a> {
    /// Open connections.
    pub connections: usize,
    /// Requests answered since start.
    pub requests: u64,
    /// The script pool, asked for its statistics only by the status methods.
    pub scripts: Option<&'a ScriptPool<WorldHost>>,
    /// The world's `seq` when the server started (recovered from the journal): the undo
    /// history holds only steps made after it.
    pub started_seq: u64,
    /// This node's part in journal replication, when it is on (`goxel.get_status` shows it).
    pub replication: Option<&'a crate::replication::Replica>,
}

/// What a method works with.
pub struct Ctx<'a> {
    /// The world.
    pub world: &'a mut VoxelWorld,
    /// Where applied buffers are recorded.
    pub journal: &'a mut dyn Recorder,
    /// When the server started.
    pub started: Instant,
    /// Live figures for the status methods.
    pub facts: ServerFacts<'a>,
    /// Which files the file methods may use.
    pub files: &'a crate::files::FileAccess,
    /// When the server ticks on its own.
    pub clock: &'a mut simulation::SimClock,
}

/// A method's answer.
pub enum Reply {
    /// The result object.
    Value(Value),
    /// A result already serialised.
    Raw(Box<RawValue>),
    /// `goxel.execute_script`: the caller runs it and answers later.
    Script(ScriptRequest),
    /// Heavy work on a snapshot (file writes): the caller runs it off the world thread (or at
    /// once, in batch mode) and answers with its result.
    Background(Job),
    /// A request about the caller's connection (subscriptions, authentication): the server
    /// answers it; batch mode has no connection and refuses it.
    Session(live::Session),
}

/// Work a method hands off the world thread, on an immutable snapshot.
#[derive(Debug)]
pub enum Job {
    /// Write a file: save or export.
    Write(project::WriteJob),
    /// Draw a picture.
    Render(renders::RenderJob),
}

impl Job {
    /// The seq of the world the job works on.
    pub fn seq(&self) -> u64 {
        match self {
            Job::Write(job) => job.snapshot.seq,
            Job::Render(job) => job.snapshot.seq,
        }
    }

    /// Does the work (on any thread); the reply or the error.
    pub fn run(self) -> Result<Value, RpcError> {
        match self {
            Job::Write(job) => job.run(),
            Job::Render(job) => job.run(),
        }
    }
}

/// A script run asked for by `goxel.execute_script`, validated.
#[derive(Debug, Clone)]
pub struct ScriptRequest {
    /// Inline source, or `None` when `path` is set.
    pub script: Option<String>,
    /// Path to load inside the script directories.
    pub path: Option<String>,
    /// Name for messages and stack traces.
    pub name: Option<String>,
    /// Timeout in milliseconds as asked (≤ 0: the default; above the maximum: the maximum).
    pub timeout_ms: Option<i64>,
    /// Queue priority (higher first).
    pub priority: i32,
    /// Seed of `Math.random`.
    pub seed: Option<u64>,
    /// JSON text of the global `args` (library runs).
    pub args: Option<String>,
    /// A library run: where its result may be cached.
    pub cache_key: Option<crate::script_library::CacheKey>,
}

/// Serialises a typed result.
pub fn raw<T: Serialize>(value: &T) -> Result<Reply, RpcError> {
    serde_json::value::to_raw_value(value)
        .map(Reply::Raw)
        .map_err(|e| RpcError::internal(e.to_string()))
}

impl Ctx<'_> {
    /// Applies a buffer and records it. A refused buffer or a failed record leaves the world
    /// as it was; a failed journal refuses the buffer before it is applied.
    pub fn apply_recorded(&mut self, buffer: CommandBuffer) -> Result<BufferOutcome, ApplyError> {
        if let Some(error) = self.journal.not_leader() {
            return Err(ApplyError::NotLeader(error.clone()));
        }
        if let Some(reason) = self.journal.refusal() {
            return Err(ApplyError::JournalFailed(reason.to_string()));
        }
        // Ticks taken before this buffer come first in the journal, as they did in the world.
        simulation::record_steps(self.world, self.journal).map_err(ApplyError::Journal)?;
        let mode = buffer.history;
        let source = buffer.source;
        let mut payload = Vec::new();
        if matches!(mode, HistoryMode::Record | HistoryMode::Skip) {
            encode_buffer(&buffer, &mut payload);
        }
        let applied = self.world.apply(buffer);
        let outcome = applied.result.clone().map_err(ApplyError::Edit)?;
        if let Some(effective) = &applied.effective {
            encode_buffer(effective, &mut payload);
        }
        if let Err(e) = self
            .journal
            .record(RecordKind::Buffer, outcome.seq, source, &payload)
        {
            self.world.revert_last(applied);
            // A failed sync fails the journal for good; a failed write does not.
            if self.journal.refusal().is_some() {
                return Err(ApplyError::JournalFailed(e));
            }
            return Err(ApplyError::Journal(e));
        }
        self.journal.hold(Held::Buffer(applied));
        Ok(outcome)
    }

    /// Applies a buffer and maps refusals to JSON-RPC errors, naming `field` for bad values.
    pub fn edit(&mut self, buffer: CommandBuffer, field: &str) -> Result<BufferOutcome, RpcError> {
        self.apply_recorded(buffer)
            .map_err(|e| apply_error(e, field))
    }

    /// The active layer.
    pub fn active_layer(&self) -> LayerId {
        self.world.snapshot().active_layer
    }

    /// Layer `id`, if it exists.
    pub fn existing(&self, id: i64) -> Option<LayerId> {
        let id = LayerId(u32::try_from(id).ok()?);
        self.world.snapshot().layer(id).map(|_| id)
    }

    /// The world's edit limits (bounds, voxels per buffer).
    pub fn limits(&self) -> systems::EditLimits {
        self.world.world.resource::<systems::apply::WorldLimits>().0
    }

    /// `layer_id` as `add_voxel` reads it: absent, 0, negative or unknown is the active layer.
    pub fn layer_or_active(&self, requested: Option<i64>) -> LayerId {
        requested
            .and_then(|id| self.existing(id))
            .unwrap_or_else(|| self.active_layer())
    }

    /// `layer_id` as `flood_fill` and `procedural_shape` read it: absent or ≤ 0 is layer 1 (the
    /// active layer if there is no layer 1), an unknown id the active layer.
    pub fn layer_one_or_active(&self, requested: Option<i64>) -> LayerId {
        let id = requested.filter(|&id| id > 0).unwrap_or(1);
        self.layer_or_active(Some(id))
    }

    /// `layer_id` as `paint_voxels` reads it: absent or ≤ 0 is layer 1 (the active layer if
    /// there is no layer 1); an unknown id is the error `code`.
    pub fn layer_one(&self, requested: Option<i64>, code: i32) -> Result<LayerId, RpcError> {
        match requested.filter(|&id| id > 0) {
            None => Ok(self.layer_one_or_active(None)),
            Some(id) => self
                .existing(id)
                .ok_or_else(|| RpcError::method(code, format!("no layer with id {id}"))),
        }
    }
}

/// Why [`Ctx::apply_recorded`] failed.
#[derive(Debug)]
pub enum ApplyError {
    /// The world refused the buffer.
    Edit(EditError),
    /// The journal could not record it (the world was restored).
    Journal(String),
    /// The journal failed earlier and refuses every edit (nothing was applied).
    JournalFailed(String),
    /// This node is not the replication leader (nothing was applied): the error to send.
    NotLeader(RpcError),
}

/// Maps a refusal of [`Ctx::apply_recorded`] to a JSON-RPC error, naming `field` for bad values.
pub fn apply_error(e: ApplyError, field: &str) -> RpcError {
    match e {
        ApplyError::Edit(e) => edit_error(e, field),
        ApplyError::Journal(msg) => RpcError::server(
            codes::JOURNAL,
            format!("journal write failed, edit not applied: {msg}"),
            Some(serde_json::json!({
                "journal": "write_error", "error": msg, "retry": JOURNAL_WRITE_RETRY,
            })),
        ),
        ApplyError::JournalFailed(reason) => journal_failed(&reason),
        ApplyError::NotLeader(error) => error,
    }
}

/// What happens after a failed journal write (not a failed sync), as replies and the status say.
pub const JOURNAL_WRITE_RETRY: &str = "the failed write was cut back out of the journal; each new edit tries again, so edits work again as soon as the disk accepts writes (e.g. once space is freed); reads keep working";

/// How to get a failed journal going again, as replies and the log say it.
pub const JOURNAL_RECOVERY: &str =
    "restart voxeld: start-up reopens the journal and recovers every acknowledged edit from it";

/// The error for an edit refused because the journal failed (`reason`: what failed).
pub fn journal_failed(reason: &str) -> RpcError {
    RpcError::server(
        codes::JOURNAL,
        format!(
            "the journal failed ({reason}); edits are refused and reads still work until the server is restarted"
        ),
        Some(serde_json::json!({
            "journal": "failed", "error": reason, "recovery": JOURNAL_RECOVERY,
        })),
    )
}

/// Maps a world refusal to a JSON-RPC error; `field` is the parameter to blame for bad values.
pub fn edit_error(e: EditError, field: &str) -> RpcError {
    let message = e.to_string();
    match e {
        EditError::OutOfBounds { pos, min, max } => RpcError::invalid_params(
            field,
            format!(
                "position [{}, {}, {}] is outside the world bounds [{}, {}, {}]..[{}, {}, {}]",
                pos.x, pos.y, pos.z, min.x, min.y, min.z, max.x, max.y, max.z
            ),
        ),
        EditError::TooManyVoxels { count, limit } => RpcError::invalid_params(field, message)
            .with_data(serde_json::json!({ "count": count, "limit": limit })),
        EditError::UnknownLayer(_) => RpcError::invalid_params("layer_id", message),
        EditError::MergeIntoSelf(_) => RpcError::invalid_params("target_id", message),
        EditError::FloodFillTooLarge { limit } => RpcError::server(
            codes::EDIT_REFUSED,
            message,
            Some(serde_json::json!({ "limit": limit })),
        ),
        EditError::LastLayer
        | EditError::TooManyLayers { .. }
        | EditError::NothingToUndo
        | EditError::NothingToRedo => RpcError::server(codes::EDIT_REFUSED, message, None),
    }
}

/// Runs method `method` with `params`.
pub fn call(ctx: &mut Ctx<'_>, method: &str, params: &Params<'_>) -> Result<Reply, RpcError> {
    match table::find(method) {
        Some(m) => (m.handler)(ctx, params),
        None => Err(RpcError::method_not_found(method)),
    }
}

pub use table::{METHODS, Method, find};
