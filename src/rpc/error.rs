//! The one place that produces JSON-RPC error objects, so codes and messages stay consistent;
//! the codes themselves are in [`super::codes`].
//!
//! ```
//! use voxeld::rpc::RpcError;
//! let e = RpcError::invalid_params("x", "expected an integer");
//! assert_eq!(e.code, -32602);
//! assert_eq!(e.message, "invalid params: field 'x': expected an integer");
//! ```

use serde::Serialize;
use serde_json::Value;

use super::codes;

/// A JSON-RPC 2.0 error object, as sent in the `error` member of a response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RpcError {
    /// The JSON-RPC error code (`-32700`, `-32600`..`-32603`, or `-32000..=-32099`).
    pub code: i32,
    /// A short description; the spec's wording for the standard codes.
    pub message: String,
    /// Optional structured detail (e.g. a script's exception line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    /// Invalid JSON was received.
    pub const PARSE_ERROR: i32 = codes::PARSE_ERROR;
    /// The JSON sent is not a valid request object.
    pub const INVALID_REQUEST: i32 = codes::INVALID_REQUEST;
    /// The method does not exist.
    pub const METHOD_NOT_FOUND: i32 = codes::METHOD_NOT_FOUND;
    /// Invalid method parameters.
    pub const INVALID_PARAMS: i32 = codes::INVALID_PARAMS;
    /// Internal error (also script timeouts, as in the Goxel daemon).
    pub const INTERNAL_ERROR: i32 = codes::INTERNAL_ERROR;

    /// `-32700 Parse error`: the line (or a value on it) is not JSON, or it is too large.
    pub fn parse_error() -> Self {
        Self::new(Self::PARSE_ERROR, "Parse error")
    }

    /// `-32600 Invalid Request`: JSON, but not a request object.
    pub fn invalid_request() -> Self {
        Self::new(Self::INVALID_REQUEST, "Invalid Request")
    }

    /// `-32601 Method not found`.
    ///
    /// The message is the spec's exact wording so clients matching on it keep working; the
    /// method name goes to the trace log.
    pub fn method_not_found(name: &str) -> Self {
        tracing::debug!(method = name, "method not found");
        Self::new(Self::METHOD_NOT_FOUND, "Method not found")
    }

    /// `-32602`: the parameter `field` is missing or malformed; `why` says what was expected.
    pub fn invalid_params(field: &str, why: impl std::fmt::Display) -> Self {
        Self::new(
            Self::INVALID_PARAMS,
            format!("invalid params: field '{field}': {why}"),
        )
    }

    /// `-32602` for a problem that is not about one field (e.g. "exactly one of ...").
    pub fn invalid_params_message(why: impl std::fmt::Display) -> Self {
        Self::new(Self::INVALID_PARAMS, format!("invalid params: {why}"))
    }

    /// `-32603`: the server failed to handle a valid request.
    pub fn internal(msg: impl Into<String>) -> Self {
        Self::new(Self::INTERNAL_ERROR, msg)
    }

    /// An error with one of the codes of [`super::codes`] (a server code or a daemon method
    /// code).
    pub fn server(code: i32, msg: impl Into<String>, data: Option<Value>) -> Self {
        debug_assert!(
            codes::TABLE.iter().any(|(c, _)| *c == code),
            "code {code} is in the table"
        );
        Self {
            code,
            message: msg.into(),
            data,
        }
    }

    /// A daemon method code (`-1001..=-1021`) with a message.
    pub fn method(code: i32, msg: impl Into<String>) -> Self {
        Self::server(code, msg, None)
    }

    /// Returns the error with `data` attached.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for RpcError {}
