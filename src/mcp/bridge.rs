//! The MCP server's way to the world: JSON-RPC requests over a voxeld Unix socket, the same
//! socket and methods every other client uses, so the MCP tools cannot behave differently from
//! the socket API.
//!
//! A request takes an idle connection (or opens one), sends one line and reads one reply line;
//! the connection then goes back to the pool. So concurrent tool calls each have their own
//! connection (a slow render never holds up a `get_voxel`), while sequential calls reuse one
//! and pay no connect.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

use crate::rpc::RpcError;

/// Why a request got no result.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// The server answered with a JSON-RPC error.
    Rpc(RpcError),
    /// The server could not be reached, or did not answer in time.
    Transport(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Rpc(e) => write!(f, "JSON-RPC error {}: {}", e.code, e.message),
            CallError::Transport(why) => f.write_str(why),
        }
    }
}

/// Requests to the server at one socket.
pub struct Bridge {
    socket: PathBuf,
    timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    next_id: AtomicU64,
}

struct Connection {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    line: Vec<u8>,
}

/// Idle connections kept for reuse; more concurrent calls than this open and close their own.
const MAX_IDLE: usize = 8;

impl Bridge {
    /// A bridge to `socket`; a request waits at most `timeout` for its reply.
    pub fn new(socket: PathBuf, timeout: Duration) -> Bridge {
        Bridge {
            socket,
            timeout,
            idle: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
        }
    }

    /// The socket requests go to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Calls `method` with `params` (an object, or `Value::Null` for none) and returns the
    /// result.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, CallError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut request = json!({"jsonrpc": "2.0", "method": method, "id": id});
        if !params.is_null() {
            request["params"] = params;
        }
        let mut line = serde_json::to_vec(&request).map_err(|e| transport(e.to_string()))?;
        line.push(b'\n');
        let pooled = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let reused = pooled.is_some();
        let mut conn = match pooled {
            Some(c) => c,
            None => self.connect().await?,
        };
        let reply = match self.exchange(&mut conn, &line).await {
            Ok(reply) => reply,
            // A pooled connection the server closed meanwhile (a restart): the request was
            // not read, so it is sent once more on a fresh connection.
            Err(Exchange::Closed) if reused => {
                conn = self.connect().await?;
                self.exchange(&mut conn, &line)
                    .await
                    .map_err(|e| self.exchange_error(e))?
            }
            Err(e) => return Err(self.exchange_error(e)),
        };
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(conn);
        }
        parse_reply(&reply, id)
    }

    async fn connect(&self) -> Result<Connection, CallError> {
        let stream = UnixStream::connect(&self.socket).await.map_err(|e| {
            transport(format!(
                "cannot reach voxeld at {}: {e} (start `voxeld serve --socket {}`, or run \
                 `voxeld mcp --embedded`)",
                self.socket.display(),
                self.socket.display()
            ))
        })?;
        let (read, writer) = stream.into_split();
        Ok(Connection {
            reader: BufReader::new(read),
            writer,
            line: Vec::new(),
        })
    }

    async fn exchange(&self, conn: &mut Connection, line: &[u8]) -> Result<Vec<u8>, Exchange> {
        let io = async {
            conn.writer.write_all(line).await?;
            conn.line.clear();
            conn.reader.read_until(b'\n', &mut conn.line).await
        };
        match tokio::time::timeout(self.timeout, io).await {
            Err(_) => Err(Exchange::TimedOut),
            Ok(Ok(0)) => Err(Exchange::Closed),
            Ok(Ok(_)) => Ok(std::mem::take(&mut conn.line)),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Exchange::Closed),
            Ok(Err(e)) => Err(Exchange::Io(e)),
        }
    }

    fn exchange_error(&self, e: Exchange) -> CallError {
        let socket = self.socket.display();
        transport(match e {
            Exchange::Closed => format!("voxeld at {socket} closed the connection"),
            Exchange::TimedOut => format!(
                "no reply from voxeld at {socket} within {} s",
                self.timeout.as_secs()
            ),
            Exchange::Io(e) => format!("talking to voxeld at {socket}: {e}"),
        })
    }
}

enum Exchange {
    Closed,
    TimedOut,
    Io(std::io::Error),
}

fn transport(why: String) -> CallError {
    CallError::Transport(why)
}

/// The result of a reply line, or its error.
fn parse_reply(line: &[u8], id: u64) -> Result<Value, CallError> {
    let mut reply: Value = serde_json::from_slice(line)
        .map_err(|e| transport(format!("voxeld sent a reply that is not JSON: {e}")))?;
    if reply.get("id") != Some(&json!(id)) {
        return Err(transport(format!(
            "voxeld answered another request (id {})",
            reply.get("id").unwrap_or(&Value::Null)
        )));
    }
    if let Some(error) = reply.get_mut("error") {
        let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
        return Err(CallError::Rpc(RpcError {
            code: i32::try_from(code).unwrap_or(i32::MIN),
            message: error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            data: error.get_mut("data").map(Value::take),
        }));
    }
    Ok(reply.get_mut("result").map(Value::take).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_become_results_or_errors() {
        assert_eq!(
            parse_reply(br#"{"jsonrpc":"2.0","result":{"a":1},"id":3}"#, 3),
            Ok(json!({"a": 1}))
        );
        let Err(CallError::Rpc(e)) = parse_reply(
            br#"{"jsonrpc":"2.0","error":{"code":-32602,"message":"m","data":[1]},"id":4}"#,
            4,
        ) else {
            panic!("expected an RPC error")
        };
        assert_eq!(
            (e.code, e.message.as_str(), e.data),
            (-32602, "m", Some(json!([1])))
        );
        assert!(matches!(
            parse_reply(br#"{"jsonrpc":"2.0","result":1,"id":5}"#, 6),
            Err(CallError::Transport(_))
        ));
        assert!(matches!(
            parse_reply(b"nope", 1),
            Err(CallError::Transport(_))
        ));
    }
}
