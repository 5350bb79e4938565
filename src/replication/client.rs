//! The NATS side of replication, on its own thread with a single-threaded tokio runtime: the
//! world loop stays a mio loop and talks to this thread over channels only. Commands go in
//! through an unbounded tokio channel (sending never blocks the loop); events come back over
//! flume and wake the loop through its `mio::Waker`, the way finished scripts do.
//!
//! Tasks on the runtime: the command loop (publishes, snapshots), one ack collector (awaits
//! publish acks in order), the ordered stream consumer (records for a follower) and the lease
//! keeper (renews the lease while leading, takes it when it is free and this node is caught up).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use async_nats::jetstream::{self, consumer, context::PublishErrorKind, kv, object_store, stream};
use futures_util::StreamExt;
use mio::Waker;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use super::wire::{EPOCH_HEADER, LEASE_KEY, LeaseHolder, Names, OwnedRecord, SNAPSHOT_OBJECT};
use crate::config::ReplicationConfig;

/// What the NATS thread tells the world loop.
#[derive(Debug)]
pub enum Event {
    /// Records from the stream, in order (a follower applies those after its seq).
    Records(Vec<OwnedRecord>),
    /// This node took the lease (`epoch`: its revision) and had been delivered every record
    /// up to `last_seq`.
    Leader { epoch: u64, last_seq: u64 },
    /// The lease could not be renewed: another node may lead now.
    LeaseLost(String),
    /// Who holds the lease now.
    LeaderIs(LeaseHolder),
    /// A background publish (`ack: LocalJournal`) finished.
    Published(Result<u64, PublishFailure>),
    /// A snapshot covering records up to this seq is in the object store.
    SnapshotPut(u64),
    /// Something on the NATS side failed (logged by the loop).
    Failed(String),
}

/// Why the stream did not take a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishFailure {
    /// The stream holds another record at this place: another leader appended (fencing).
    Fenced { seq: u64, reason: String },
    /// No acknowledgement in time, or the connection failed.
    Unavailable { seq: u64, reason: String },
}

impl std::fmt::Display for PublishFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PublishFailure::Fenced { seq, reason } => write!(
                f,
                "the stream refused record {seq}: another leader appended first ({reason})"
            ),
            PublishFailure::Unavailable { seq, reason } => {
                write!(f, "the stream did not acknowledge record {seq} ({reason})")
            }
        }
    }
}

/// The stream's extent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamState {
    /// The first record still in the stream (older ones were purged after a snapshot).
    pub first_seq: u64,
    /// The last record (0: empty).
    pub last_seq: u64,
}

enum Command {
    State(flume::Sender<anyhow::Result<StreamState>>),
    /// The message body at a stream sequence (`None`: the stream does not hold it).
    RecordAt(u64, flume::Sender<anyhow::Result<Option<Vec<u8>>>>),
    FetchSnapshot(flume::Sender<anyhow::Result<Option<Vec<u8>>>>),
    Follow {
        after: u64,
        waker: Arc<Waker>,
    },
    Publish {
        records: Vec<OwnedRecord>,
        epoch: u64,
        reply: Option<flume::Sender<Result<u64, PublishFailure>>>,
    },
    StepDown(StepDown),
    PutSnapshot {
        seq: u64,
        bytes: Vec<u8>,
    },
}

/// The handle the world loop holds.
pub struct Client {
    commands: Option<mpsc::UnboundedSender<Command>>,
    events: flume::Receiver<Event>,
    thread: Option<JoinHandle<()>>,
    timeout: Duration,
}

impl Client {
    /// Starts the NATS thread, connects and makes sure the stream and buckets exist.
    pub fn connect(config: &ReplicationConfig, holder: LeaseHolder) -> anyhow::Result<Client> {
        let (commands, rx) = mpsc::unbounded_channel();
        let (events_tx, events) = flume::unbounded();
        let (ready_tx, ready) = flume::bounded(1);
        let config = config.clone();
        let connect_timeout = Duration::from_millis(config.connect_timeout_ms);
        let timeout = Duration::from_millis(config.ack_timeout_ms);
        let thread = std::thread::Builder::new()
            .name("voxeld-replication".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = ready_tx.send(Err(anyhow!("starting the tokio runtime: {e}")));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let nats =
                        match tokio::time::timeout(connect_timeout, Nats::connect(&config, holder))
                            .await
                        {
                            Ok(Ok(n)) => n,
                            Ok(Err(e)) => {
                                let _ = ready_tx.send(Err(e));
                                return;
                            }
                            Err(_) => {
                                let _ = ready_tx.send(Err(anyhow!(
                                    "no NATS JetStream answered at {:?} within {} ms",
                                    config.servers,
                                    config.connect_timeout_ms
                                )));
                                return;
                            }
                        };
                    let _ = ready_tx.send(Ok(()));
                    nats.run(rx, events_tx).await;
                });
            })?;
        match ready.recv() {
            Ok(Ok(())) => Ok(Client {
                commands: Some(commands),
                events,
                thread: Some(thread),
                timeout,
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(anyhow!("the replication thread stopped while connecting"))
            }
        }
    }

    fn send(&self, command: Command) {
        if let Some(c) = &self.commands {
            let _ = c.send(command);
        }
    }

    fn ask<T>(
        &self,
        make: impl FnOnce(flume::Sender<anyhow::Result<T>>) -> Command,
        wait: Duration,
    ) -> anyhow::Result<T> {
        let (tx, rx) = flume::bounded(1);
        self.send(make(tx));
        rx.recv_timeout(wait)
            .map_err(|_| anyhow!("NATS did not answer within {} ms", wait.as_millis()))?
    }

    /// The stream's extent now.
    pub fn stream_state(&self) -> anyhow::Result<StreamState> {
        self.ask(Command::State, self.timeout * 2)
    }

    /// The stream's message at `seq` (a record in the journal's encoding), if it holds one.
    pub fn record_at(&self, seq: u64) -> anyhow::Result<Option<Vec<u8>>> {
        self.ask(|tx| Command::RecordAt(seq, tx), self.timeout * 2)
    }

    /// The newest snapshot in the object store (a snapshot file's bytes), if there is one.
    pub fn fetch_snapshot(&self) -> anyhow::Result<Option<Vec<u8>>> {
        self.ask(Command::FetchSnapshot, self.timeout * 12)
    }

    /// Starts consuming the stream after `after` and keeping (or watching) the lease.
    pub fn follow(&self, after: u64, waker: Arc<Waker>) {
        self.send(Command::Follow { after, waker });
    }

    /// Publishes `records` (consecutive seqs) and waits for the stream's acks: `Ok(last seq)`.
    pub fn publish_and_wait(
        &self,
        records: Vec<OwnedRecord>,
        epoch: u64,
    ) -> Result<u64, PublishFailure> {
        let last = records.last().map_or(0, |r| r.seq);
        let (tx, rx) = flume::bounded(1);
        self.send(Command::Publish {
            records,
            epoch,
            reply: Some(tx),
        });
        // The acks have their own timeout (the context's); this one only guards the thread.
        match rx.recv_timeout(self.timeout * 2 + Duration::from_secs(1)) {
            Ok(r) => r,
            Err(_) => Err(PublishFailure::Unavailable {
                seq: last,
                reason: "no acknowledgement in time".into(),
            }),
        }
    }

    /// Publishes `records` in the background; the outcome arrives as [`Event::Published`].
    pub fn publish(&self, records: Vec<OwnedRecord>, epoch: u64) {
        self.send(Command::Publish {
            records,
            epoch,
            reply: None,
        });
    }

    /// Gives the lease up (if held) and does not take it again for `again_after` (`None`:
    /// never, until a restart).
    pub fn step_down(&self, again_after: Option<Duration>) {
        self.send(Command::StepDown(StepDown {
            again_after,
            done: None,
        }));
    }

    /// Gives the lease up for good and waits (up to the ack timeout) until the key-value
    /// bucket took the deletion, so a follower can take over at once: a leader's last act at
    /// shutdown. True when it was handed over in time.
    pub fn hand_over(&self) -> bool {
        let (tx, rx) = flume::bounded(1);
        self.send(Command::StepDown(StepDown {
            again_after: None,
            done: Some(tx),
        }));
        rx.recv_timeout(self.timeout).is_ok()
    }

    /// Puts a snapshot file's bytes (covering records up to `seq`) into the object store and
    /// then purges the stream before it (keeping `stream_keep_records`).
    pub fn put_snapshot(&self, seq: u64, bytes: Vec<u8>) {
        self.send(Command::PutSnapshot { seq, bytes });
    }

    /// [`Client::put_snapshot`] as a function another thread can call once.
    pub fn snapshot_sender(&self) -> impl FnOnce(u64, Vec<u8>) + Send + 'static {
        let commands = self.commands.clone();
        move |seq, bytes| {
            if let Some(c) = commands {
                let _ = c.send(Command::PutSnapshot { seq, bytes });
            }
        }
    }

    /// Events from the NATS thread.
    pub fn events(&self) -> &flume::Receiver<Event> {
        &self.events
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // Closing the command channel ends the runtime's command loop and with it the thread.
        self.commands.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The connection and the JetStream handles, on the NATS thread.
struct Nats {
    names: Names,
    config: ReplicationConfig,
    holder: LeaseHolder,
    js: jetstream::Context,
    stream: stream::Stream,
    lease: kv::Store,
    snapshots: object_store::ObjectStore,
}

impl Nats {
    async fn connect(config: &ReplicationConfig, holder: LeaseHolder) -> anyhow::Result<Nats> {
        let names = Names::new(&config.world);
        let client = async_nats::ConnectOptions::new()
            .name(format!("voxeld {}", holder.node))
            .retry_on_initial_connect()
            .connect(config.servers.clone())
            .await
            .with_context(|| format!("connecting to NATS at {:?}", config.servers))?;
        let mut js = jetstream::new(client);
        js.set_timeout(Duration::from_millis(config.ack_timeout_ms));
        let replicas = config.stream_replicas;
        // Every node creates what is missing; when several start at once one wins, the others
        // find it on the retry.
        let mut attempt = 0;
        let (stream, lease, snapshots) = loop {
            attempt += 1;
            let made = async {
                let stream = js
                    .get_or_create_stream(stream::Config {
                        name: names.stream.clone(),
                        subjects: vec![names.subject.clone()],
                        num_replicas: replicas,
                        duplicate_window: Duration::from_secs(120),
                        allow_direct: true,
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| anyhow!("stream {}: {e}", names.stream))?;
                // The bucket's stream is made here, as `create_key_value` would make it: that
                // call first asks for account details nats-server 2.9 answers in another shape.
                let ttl = Duration::from_millis(config.lease_ttl_ms);
                js.get_or_create_stream(stream::Config {
                    name: format!("KV_{}", names.lease_bucket),
                    subjects: vec![format!("$KV.{}.>", names.lease_bucket)],
                    max_messages_per_subject: 1,
                    max_age: ttl,
                    duplicate_window: ttl,
                    num_replicas: replicas,
                    allow_rollup: true,
                    deny_delete: true,
                    allow_direct: true,
                    discard: stream::DiscardPolicy::New,
                    ..Default::default()
                })
                .await
                .map_err(|e| anyhow!("lease bucket {}: {e}", names.lease_bucket))?;
                let lease = js
                    .get_key_value(&names.lease_bucket)
                    .await
                    .map_err(|e| anyhow!("lease bucket {}: {e}", names.lease_bucket))?;
                let snapshots = match js.get_object_store(&names.snapshot_bucket).await {
                    Ok(s) => s,
                    Err(_) => js
                        .create_object_store(object_store::Config {
                            bucket: names.snapshot_bucket.clone(),
                            num_replicas: replicas,
                            ..Default::default()
                        })
                        .await
                        .map_err(|e| anyhow!("snapshot bucket {}: {e}", names.snapshot_bucket))?,
                };
                anyhow::Ok((stream, lease, snapshots))
            }
            .await;
            match made {
                Ok(m) => break m,
                Err(e) if attempt >= 20 => return Err(e),
                Err(e) => {
                    tracing::debug!(error = %e, attempt, "JetStream set-up not ready, retrying");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        };
        Ok(Nats {
            names,
            config: config.clone(),
            holder,
            js,
            stream,
            lease,
            snapshots,
        })
    }

    async fn run(
        self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        events: flume::Sender<Event>,
    ) {
        let (acks_tx, acks_rx) = mpsc::unbounded_channel::<Ack>();
        let notify: Arc<std::sync::OnceLock<Arc<Waker>>> = Arc::default();
        let emit = Emitter {
            events: events.clone(),
            waker: notify.clone(),
        };
        tokio::spawn(collect_acks(acks_rx, emit.clone()));
        let (lease_tx, lease_rx) = mpsc::unbounded_channel::<StepDown>();
        let mut lease_rx = Some(lease_rx);
        let delivered = Arc::new(AtomicU64::new(0));
        while let Some(command) = commands.recv().await {
            match command {
                Command::State(reply) => {
                    let _ = reply.send(self.state().await);
                }
                Command::RecordAt(seq, reply) => {
                    let _ = reply.send(self.record_at(seq).await);
                }
                Command::FetchSnapshot(reply) => {
                    let _ = reply.send(self.fetch_snapshot().await);
                }
                Command::Follow { after, waker } => {
                    let _ = notify.set(waker);
                    delivered.store(after, Ordering::SeqCst);
                    tokio::spawn(consume(
                        self.stream.clone(),
                        self.names.subject.clone(),
                        after,
                        delivered.clone(),
                        emit.clone(),
                    ));
                    if let Some(rx) = lease_rx.take() {
                        tokio::spawn(keep_lease(
                            self.lease.clone(),
                            self.stream.clone(),
                            self.holder.clone(),
                            Duration::from_millis(self.config.lease_ttl_ms),
                            delivered.clone(),
                            rx,
                            emit.clone(),
                        ));
                    }
                }
                Command::Publish {
                    records,
                    epoch,
                    reply,
                } => self.publish(records, epoch, reply, &acks_tx).await,
                Command::StepDown(step) => {
                    let _ = lease_tx.send(step);
                }
                Command::PutSnapshot { seq, bytes } => {
                    let snapshots = self.snapshots.clone();
                    let stream = self.stream.clone();
                    let keep = self.config.stream_keep_records;
                    let emit = emit.clone();
                    tokio::spawn(async move {
                        if let Err(e) = put_snapshot(&snapshots, &stream, seq, bytes, keep).await {
                            emit.send(Event::Failed(format!("snapshot {seq}: {e}")));
                        } else {
                            tracing::info!(seq, "snapshot put into the object store");
                            emit.send(Event::SnapshotPut(seq));
                        }
                    });
                }
            }
        }
    }

    async fn state(&self) -> anyhow::Result<StreamState> {
        let info = self
            .stream
            .get_info()
            .await
            .map_err(|e| anyhow!("stream info: {e}"))?;
        Ok(StreamState {
            first_seq: info.state.first_sequence,
            last_seq: info.state.last_sequence,
        })
    }

    async fn record_at(&self, seq: u64) -> anyhow::Result<Option<Vec<u8>>> {
        match self.stream.get_raw_message(seq).await {
            Ok(m) => Ok(Some(m.payload.to_vec())),
            Err(e)
                if e.kind()
                    == async_nats::jetstream::stream::RawMessageErrorKind::NoMessageFound =>
            {
                Ok(None)
            }
            Err(e) => Err(anyhow!("reading stream message {seq}: {e}")),
        }
    }

    async fn fetch_snapshot(&self) -> anyhow::Result<Option<Vec<u8>>> {
        let mut object = match self.snapshots.get(SNAPSHOT_OBJECT).await {
            Ok(o) => o,
            Err(e) if e.kind() == object_store::GetErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(anyhow!("getting the snapshot object: {e}")),
        };
        let mut bytes = Vec::new();
        object
            .read_to_end(&mut bytes)
            .await
            .context("reading the snapshot object")?;
        Ok(Some(bytes))
    }

    /// Sends every record in order (each expecting its predecessor as the stream's last), then
    /// hands the ack futures to the collector, which answers `reply` after the last one.
    async fn publish(
        &self,
        records: Vec<OwnedRecord>,
        epoch: u64,
        reply: Option<flume::Sender<Result<u64, PublishFailure>>>,
        acks: &mpsc::UnboundedSender<Ack>,
    ) {
        let count = records.len();
        let mut reply = reply;
        for (i, record) in records.into_iter().enumerate() {
            let last = i + 1 == count;
            let message = jetstream::message::PublishMessage::build()
                .payload(record.encode().into())
                .message_id(self.names.message_id(record.seq))
                .expected_last_sequence(record.seq - 1)
                .header(EPOCH_HEADER, epoch.to_string().as_str());
            let done = if last { Some(reply.take()) } else { None };
            let future = self
                .js
                .send_publish(self.names.subject.clone(), message)
                .await
                .map_err(|e| PublishFailure::Unavailable {
                    seq: record.seq,
                    reason: e.to_string(),
                });
            let _ = acks.send(Ack {
                seq: record.seq,
                future,
                done,
            });
        }
    }
}

/// One publish whose ack the collector awaits; `done` on the last record of a batch (with
/// the batch's reply, `None` inside for a background publish).
struct Ack {
    seq: u64,
    future: Result<jetstream::context::PublishAckFuture, PublishFailure>,
    done: Option<Option<flume::Sender<Result<u64, PublishFailure>>>>,
}

/// Awaits acks in publish order; a batch's outcome is its first failure or its last seq.
async fn collect_acks(mut acks: mpsc::UnboundedReceiver<Ack>, emit: Emitter) {
    let mut failure: Option<PublishFailure> = None;
    while let Some(ack) = acks.recv().await {
        let outcome = match ack.future {
            Err(f) => Err(f),
            Ok(future) => match future.await {
                Ok(a) if a.duplicate => Err(PublishFailure::Fenced {
                    seq: ack.seq,
                    reason: "the stream already holds a record with this id".into(),
                }),
                Ok(a) if a.sequence != ack.seq => Err(PublishFailure::Fenced {
                    seq: ack.seq,
                    reason: format!("stored at stream sequence {}", a.sequence),
                }),
                Ok(_) => Ok(()),
                Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => {
                    Err(PublishFailure::Fenced {
                        seq: ack.seq,
                        reason: e.to_string(),
                    })
                }
                Err(e) => Err(PublishFailure::Unavailable {
                    seq: ack.seq,
                    reason: e.to_string(),
                }),
            },
        };
        if let Err(f) = outcome
            && failure.is_none()
        {
            failure = Some(f);
        }
        if let Some(reply) = ack.done {
            let result = match failure.take() {
                Some(f) => Err(f),
                None => Ok(ack.seq),
            };
            match reply {
                Some(tx) => {
                    let _ = tx.send(result);
                }
                None => emit.send(Event::Published(result)),
            }
        }
    }
}

/// Sends events to the loop and wakes it.
#[derive(Clone)]
struct Emitter {
    events: flume::Sender<Event>,
    waker: Arc<std::sync::OnceLock<Arc<Waker>>>,
}

impl Emitter {
    fn send(&self, event: Event) {
        let _ = self.events.send(event);
        if let Some(w) = self.waker.get() {
            let _ = w.wake();
        }
    }
}

/// Delivers the stream after `after` in order, in batches of what has arrived.
async fn consume(
    stream: stream::Stream,
    subject: String,
    after: u64,
    delivered: Arc<AtomicU64>,
    emit: Emitter,
) {
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: subject,
            deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                start_sequence: after + 1,
            },
            ..Default::default()
        })
        .await;
    let consumer = match consumer {
        Ok(c) => c,
        Err(e) => return emit.send(Event::Failed(format!("creating the stream consumer: {e}"))),
    };
    let messages = match consumer.messages().await {
        Ok(m) => m,
        Err(e) => return emit.send(Event::Failed(format!("consuming the stream: {e}"))),
    };
    let mut batches = messages.ready_chunks(1024);
    while let Some(batch) = batches.next().await {
        let mut records = Vec::with_capacity(batch.len());
        for message in batch {
            let message = match message {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, "stream consumer");
                    continue;
                }
            };
            let stream_seq = message.info().map(|i| i.stream_sequence).unwrap_or(0);
            match OwnedRecord::decode(&message.payload) {
                Ok(r) if r.seq == stream_seq => records.push(r),
                Ok(r) => {
                    emit.send(Event::Failed(format!(
                        "stream message {stream_seq} holds record seq {}",
                        r.seq
                    )));
                    return;
                }
                Err(e) => {
                    emit.send(Event::Failed(format!(
                        "stream message {stream_seq} is not a record: {e}"
                    )));
                    return;
                }
            }
        }
        if let Some(last) = records.last().map(|r| r.seq) {
            // Counted as delivered only once queued for the loop: the lease keeper's
            // take-over event must come after them.
            emit.send(Event::Records(records));
            delivered.fetch_max(last, Ordering::SeqCst);
        }
    }
}

/// Keeps the lease while leading (renewing it every third of its TTL with the revision it
/// holds) and takes it when it is free and every record in the stream was delivered here.
async fn keep_lease(
    lease: kv::Store,
    stream: stream::Stream,
    holder: LeaseHolder,
    ttl: Duration,
    delivered: Arc<AtomicU64>,
    mut control: mpsc::UnboundedReceiver<StepDown>,
    emit: Emitter,
) {
    let value: bytes::Bytes = serde_json::to_vec(&holder).unwrap_or_default().into();
    let period = ttl / 3;
    let mut held: Option<u64> = None;
    let mut not_before: Option<Option<tokio::time::Instant>> = None;
    let mut seen: Option<LeaseHolder> = None;
    let mut first = true;
    loop {
        if std::mem::take(&mut first) {
            // Look at once: a new node learns who leads before its first request.
        } else if held.is_none() || not_before.is_some() {
            // Following: look often, so a free lease is taken soon after it expired.
            tokio::select! {
                _ = tokio::time::sleep(period.min(Duration::from_millis(250))) => {}
                c = control.recv() => match c {
                    Some(step) => { step_down(&lease, &mut held, &mut not_before, step).await; continue; }
                    None => return,
                },
            }
        } else {
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                c = control.recv() => match c {
                    Some(step) => { step_down(&lease, &mut held, &mut not_before, step).await; continue; }
                    None => return,
                },
            }
        }
        if let Some(revision) = held {
            match lease.update(LEASE_KEY, value.clone(), revision).await {
                Ok(r) => held = Some(r),
                Err(e) => {
                    held = None;
                    emit.send(Event::LeaseLost(e.to_string()));
                }
            }
            continue;
        }
        let entry = match lease.entry(LEASE_KEY).await {
            Ok(e) => e,
            Err(e) => {
                tracing::debug!(error = %e, "reading the lease");
                continue;
            }
        };
        if let Some(e) = entry.filter(|e| e.operation == kv::Operation::Put) {
            if let Ok(h) = serde_json::from_slice::<LeaseHolder>(&e.value)
                && seen.as_ref() != Some(&h)
            {
                seen = Some(h.clone());
                emit.send(Event::LeaderIs(h));
            }
            continue;
        }
        match not_before {
            Some(None) => continue,
            Some(Some(t)) if tokio::time::Instant::now() < t => continue,
            _ => not_before = None,
        }
        let last = match stream.get_info().await {
            Ok(i) => i.state.last_sequence,
            Err(_) => continue,
        };
        if delivered.load(Ordering::SeqCst) < last {
            continue;
        }
        if let Ok(revision) = lease.create(LEASE_KEY, value.clone()).await {
            held = Some(revision);
            seen = Some(holder.clone());
            emit.send(Event::Leader {
                epoch: revision,
                last_seq: last,
            });
        }
    }
}

/// A request to give the lease up.
struct StepDown {
    /// Do not take it again for this long (`None`: until a restart).
    again_after: Option<Duration>,
    /// Told once the lease is given up (or was not held).
    done: Option<flume::Sender<()>>,
}

async fn step_down(
    lease: &kv::Store,
    held: &mut Option<u64>,
    not_before: &mut Option<Option<tokio::time::Instant>>,
    step: StepDown,
) {
    if let Some(revision) = held.take() {
        // Hand over at once instead of after the TTL (if nobody changed it meanwhile).
        let _ = lease
            .delete_expect_revision(LEASE_KEY, Some(revision))
            .await;
    }
    *not_before = Some(step.again_after.map(|d| tokio::time::Instant::now() + d));
    if let Some(done) = step.done {
        let _ = done.send(());
    }
}

async fn put_snapshot(
    snapshots: &object_store::ObjectStore,
    stream: &stream::Stream,
    seq: u64,
    bytes: Vec<u8>,
    keep: u64,
) -> anyhow::Result<()> {
    let meta = object_store::ObjectMetadata {
        name: SNAPSHOT_OBJECT.to_string(),
        description: Some(format!("voxeld snapshot at seq {seq}")),
        ..Default::default()
    };
    snapshots
        .put(meta, &mut bytes.as_slice())
        .await
        .map_err(|e| anyhow!("putting the object: {e}"))?;
    // Records up to the snapshot are in it; keep `keep` of them for followers a little behind.
    let first_kept = (seq + 1).saturating_sub(keep);
    if first_kept > 1 {
        stream
            .purge()
            .sequence(first_kept)
            .await
            .map_err(|e| anyhow!("purging the stream before {first_kept}: {e}"))?;
    }
    Ok(())
}
