//! JSON-RPC 2.0 envelopes: turns one frame into requests, batches or immediate error replies,
//! and writes response lines, exactly as the specification's section 7 examples show.
//!
//! Parsing borrows from the frame: `id` and `params` stay raw JSON text until a handler asks for
//! a field, so a small request costs one pass over its bytes and no `Value` tree.
//!
//! ```
//! use voxeld::rpc::{handle_line, Dispatch, Request, RpcError};
//! struct Echo;
//! impl Dispatch for Echo {
//!     type Output = i64;
//!     fn dispatch(&mut self, request: &Request<'_>) -> Result<i64, RpcError> {
//!         request.params.required::<i64>("n", 0)
//!     }
//! }
//! let mut out = Vec::new();
//! handle_line(br#"{"jsonrpc":"2.0","method":"echo","params":[7],"id":1}"#, &mut Echo, &mut out);
//! assert_eq!(out, b"{\"jsonrpc\":\"2.0\",\"result\":7,\"id\":1}\n");
//! ```

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use super::{Params, RpcError};

/// A valid request or notification, borrowing from the frame it came from.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The method name (borrowed unless it contained escapes).
    pub method: Cow<'a, str>,
    /// The parameters, by name or by position (or absent).
    pub params: Params<'a>,
    /// The raw id text (`1`, `"abc"`, `null`); `None` makes this a notification (no reply).
    pub id: Option<&'a RawValue>,
}

impl Request<'_> {
    /// True when the client expects no reply.
    pub fn is_notification(&self) -> bool {
        self.id.is_none()
    }
}

/// A message that must be answered with an error without calling any method.
#[derive(Debug, Clone)]
pub struct Rejected<'a> {
    /// The id to echo: the request's id when it had a valid one, else `null`.
    pub id: &'a RawValue,
    /// Parse error or Invalid Request.
    pub error: RpcError,
}

/// One JSON value from a frame, classified.
#[derive(Debug, Clone)]
pub enum Incoming<'a> {
    /// A single request or notification.
    Request(Request<'a>),
    /// A non-empty batch; each entry is a request or an entry-level rejection, in order.
    Batch(Vec<Result<Request<'a>, Rejected<'a>>>),
    /// Answer at once with this error (invalid JSON, invalid request, empty batch).
    Rejected(Rejected<'a>),
}

/// Splits one frame into its JSON values (several may sit back to back on one line) and
/// classifies each. A malformed remainder yields one parse error and ends the iteration.
pub fn parse_frame(frame: &[u8]) -> impl Iterator<Item = Incoming<'_>> {
    let mut values = serde_json::Deserializer::from_slice(frame).into_iter::<&RawValue>();
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        match values.next()? {
            Ok(raw) => Some(classify(raw)),
            Err(_) => {
                failed = true;
                Some(Incoming::Rejected(Rejected {
                    id: RawValue::NULL,
                    error: RpcError::parse_error(),
                }))
            }
        }
    })
}

/// Classifies one complete JSON value as request, batch or rejection.
pub fn classify(raw: &RawValue) -> Incoming<'_> {
    match raw.get().as_bytes().first() {
        Some(b'[') => {
            let entries: Vec<&RawValue> = match serde_json::from_str(raw.get()) {
                Ok(entries) => entries,
                Err(_) => return Incoming::Rejected(invalid_request(RawValue::NULL)),
            };
            if entries.is_empty() {
                return Incoming::Rejected(invalid_request(RawValue::NULL));
            }
            Incoming::Batch(entries.into_iter().map(parse_request).collect())
        }
        _ => match parse_request(raw) {
            Ok(request) => Incoming::Request(request),
            Err(rejected) => Incoming::Rejected(rejected),
        },
    }
}

/// Parses one request object (not a batch).
pub fn parse_request(raw: &RawValue) -> Result<Request<'_>, Rejected<'_>> {
    if !raw.get().starts_with('{') {
        return Err(invalid_request(RawValue::NULL));
    }
    let envelope: Envelope<'_> =
        serde_json::from_str(raw.get()).map_err(|_| invalid_request(RawValue::NULL))?;
    let id = match envelope.id {
        None => None,
        Some(id) if is_valid_id(id) => Some(id),
        Some(_) => return Err(invalid_request(RawValue::NULL)),
    };
    let reject = || invalid_request(id.unwrap_or(RawValue::NULL));
    if !envelope.jsonrpc.is_some_and(is_version_2) {
        return Err(reject());
    }
    let method = envelope.method.and_then(raw_str).ok_or_else(reject)?;
    let params = match envelope.params {
        // `null` means no params, as in the Goxel daemon.
        None => Params::absent(),
        Some(params) if params.get() == "null" => Params::absent(),
        Some(params) => Params::parse(params).map_err(|_| reject())?,
    };
    Ok(Request { method, params, id })
}

/// Appends `{"jsonrpc":"2.0","result":...,"id":...}\n` to `out`.
///
/// If `result` cannot be serialised, an internal error reply is written instead.
pub fn write_result<T: Serialize + ?Sized>(out: &mut Vec<u8>, id: &RawValue, result: &T) {
    encode_result(out, id, result);
    out.push(b'\n');
}

/// Appends `{"jsonrpc":"2.0","error":{...},"id":...}\n` to `out`.
pub fn write_error(out: &mut Vec<u8>, id: &RawValue, error: &RpcError) {
    encode_error(out, id, error);
    out.push(b'\n');
}

/// Writes a batch response as one JSON array line; writes nothing if no entry needs a reply.
#[derive(Debug)]
pub struct BatchWriter<'o> {
    out: &'o mut Vec<u8>,
    start: usize,
    count: usize,
}

impl<'o> BatchWriter<'o> {
    /// Starts a batch response at the end of `out`.
    pub fn new(out: &'o mut Vec<u8>) -> Self {
        let start = out.len();
        Self {
            out,
            start,
            count: 0,
        }
    }

    /// Adds a success entry.
    pub fn result<T: Serialize + ?Sized>(&mut self, id: &RawValue, result: &T) {
        self.separator();
        encode_result(self.out, id, result);
    }

    /// Adds an error entry.
    pub fn error(&mut self, id: &RawValue, error: &RpcError) {
        self.separator();
        encode_error(self.out, id, error);
    }

    /// Number of entries written so far.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when no entry has been written.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Closes the array and ends the line (or leaves `out` untouched if the batch was silent).
    pub fn finish(self) {
        if self.count == 0 {
            self.out.truncate(self.start);
        } else {
            self.out.extend_from_slice(b"]\n");
        }
    }

    fn separator(&mut self) {
        self.out.push(if self.count == 0 { b'[' } else { b',' });
        self.count += 1;
    }
}

/// A synchronous method table, enough for batch mode and tests; the server's world loop may
/// instead drive [`parse_frame`] itself to defer replies.
pub trait Dispatch {
    /// The successful result type written into `result`.
    type Output: Serialize;

    /// Runs one request (or notification; its result is discarded).
    fn dispatch(&mut self, request: &Request<'_>) -> Result<Self::Output, RpcError>;
}

/// Parses a frame, dispatches every request in order and appends all reply lines to `out`.
pub fn handle_line<D: Dispatch + ?Sized>(frame: &[u8], dispatcher: &mut D, out: &mut Vec<u8>) {
    for incoming in parse_frame(frame) {
        match incoming {
            Incoming::Request(request) => {
                let reply = dispatcher.dispatch(&request);
                if let Some(id) = request.id {
                    match reply {
                        Ok(result) => write_result(out, id, &result),
                        Err(error) => write_error(out, id, &error),
                    }
                }
            }
            Incoming::Rejected(rejected) => write_error(out, rejected.id, &rejected.error),
            Incoming::Batch(entries) => {
                let mut batch = BatchWriter::new(out);
                for entry in entries {
                    match entry {
                        Ok(request) => {
                            let reply = dispatcher.dispatch(&request);
                            if let Some(id) = request.id {
                                match reply {
                                    Ok(result) => batch.result(id, &result),
                                    Err(error) => batch.error(id, &error),
                                }
                            }
                        }
                        Err(rejected) => batch.error(rejected.id, &rejected.error),
                    }
                }
                batch.finish();
            }
        }
    }
}

/// Appends the `-32700` reply for a frame that exceeded the size limit.
pub fn write_oversized(out: &mut Vec<u8>) {
    write_error(out, RawValue::NULL, &RpcError::parse_error());
}

/// The request object's members, kept raw so wrong types become `-32600`, not parse failures.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    jsonrpc: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    method: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    params: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<&'a RawValue>,
}

/// Deserialises a member that is present (even as `null`) into `Some`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

fn invalid_request(id: &RawValue) -> Rejected<'_> {
    Rejected {
        id,
        error: RpcError::invalid_request(),
    }
}

fn is_valid_id(id: &RawValue) -> bool {
    matches!(
        id.get().as_bytes().first(),
        Some(b'"' | b'-' | b'0'..=b'9' | b'n')
    )
}

fn is_version_2(raw: &RawValue) -> bool {
    raw.get() == "\"2.0\"" || raw_str(raw).is_some_and(|s| s == "2.0")
}

/// The string a raw JSON string holds, borrowed when it has no escapes; `None` if not a string.
pub(crate) fn raw_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    if !text.starts_with('"') {
        return None;
    }
    match serde_json::from_str::<&str>(text) {
        Ok(s) => Some(Cow::Borrowed(s)),
        Err(_) => serde_json::from_str::<String>(text).ok().map(Cow::Owned),
    }
}

fn encode_result<T: Serialize + ?Sized>(out: &mut Vec<u8>, id: &RawValue, result: &T) {
    let start = out.len();
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"result\":");
    if let Err(e) = serde_json::to_writer(&mut *out, result) {
        out.truncate(start);
        encode_error(
            out,
            id,
            &RpcError::internal(format!("cannot encode result: {e}")),
        );
        return;
    }
    out.extend_from_slice(b",\"id\":");
    out.extend_from_slice(id.get().as_bytes());
    out.push(b'}');
}

fn encode_error(out: &mut Vec<u8>, id: &RawValue, error: &RpcError) {
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"error\":");
    let error_start = out.len();
    if serde_json::to_writer(&mut *out, error).is_err() {
        // Only `data` can fail to encode (it is a `Value`, so in practice never); drop it.
        out.truncate(error_start);
        out.extend_from_slice(b"{\"code\":-32603,\"message\":\"cannot encode error\"}");
    }
    out.extend_from_slice(b",\"id\":");
    out.extend_from_slice(id.get().as_bytes());
    out.push(b'}');
}
