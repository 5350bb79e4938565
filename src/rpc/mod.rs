//! The wire protocol, without sockets: newline framing ([`LineFramer`]), JSON-RPC 2.0 envelopes
//! and replies ([`parse_frame`], [`write_result`], [`BatchWriter`]), parameter access
//! ([`Params`]) and the one error type ([`RpcError`]).
//!
//! A connection feeds received bytes to a [`LineFramer`], passes each [`Frame::Line`] to
//! [`parse_frame`] (or [`handle_line`] with a [`Dispatch`] implementation) and answers each
//! [`Frame::Oversized`] with [`write_oversized`]:
//!
//! ```
//! use voxeld::rpc::{handle_line, write_oversized, Dispatch, Frame, LineFramer, Request, RpcError};
//! struct Ping;
//! impl Dispatch for Ping {
//!     type Output = &'static str;
//!     fn dispatch(&mut self, request: &Request<'_>) -> Result<&'static str, RpcError> {
//!         match &*request.method {
//!             "ping" => Ok("pong"),
//!             other => Err(RpcError::method_not_found(other)),
//!         }
//!     }
//! }
//! let mut framer = LineFramer::new(1 << 20);
//! let mut out = Vec::new();
//! framer.push(b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}\n");
//! while let Some(frame) = framer.next_frame() {
//!     match frame {
//!         Frame::Line(line) => handle_line(line, &mut Ping, &mut out),
//!         Frame::Oversized => write_oversized(&mut out),
//!     }
//! }
//! assert_eq!(out, b"{\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":1}\n");
//! ```

pub mod codes;
mod error;
mod framing;
mod jsonrpc;
mod params;

pub use error::RpcError;
pub use framing::{Frame, LineFramer};
pub use jsonrpc::{
    BatchWriter, Dispatch, Incoming, Rejected, Request, classify, handle_line, parse_frame,
    parse_request, write_error, write_oversized, write_result,
};
pub use params::{COLOR_EXPECTED, Params, parse_color, parse_integer, parse_position};
/// Raw JSON text, as used for ids and unparsed params.
pub use serde_json::value::RawValue;
