//! `voxeld call METHOD [PARAMS_JSON]`: one request to a running server, its result printed, as
//! `redis-cli` does, so shell scripts can drive the server without a client library.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::cli::CallArgs;

/// Sends the request and prints the result (pretty JSON) on standard output, or the error
/// object on standard error. Returns the process exit code: 0 for a result, 1 for an error.
pub fn run(args: &CallArgs) -> anyhow::Result<i32> {
    let params: Option<Value> = match &args.params {
        None => None,
        Some(text) => {
            let v: Value = serde_json::from_str(text)
                .with_context(|| format!("PARAMS_JSON is not JSON: {text}"))?;
            if !v.is_object() && !v.is_array() {
                bail!("PARAMS_JSON must be an object or an array, not {text}");
            }
            Some(v)
        }
    };
    let mut request = serde_json::json!({"jsonrpc": "2.0", "method": args.method, "id": 1});
    if let Some(p) = params {
        request["params"] = p;
    }
    let mut stream = UnixStream::connect(&args.socket)
        .with_context(|| format!("connecting to {}", args.socket.display()))?;
    stream.set_read_timeout(Some(Duration::from_secs(args.timeout)))?;
    let mut line = serde_json::to_vec(&request)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    let mut reply = String::new();
    BufReader::new(&stream)
        .read_line(&mut reply)
        .with_context(|| format!("reading the reply from {}", args.socket.display()))?;
    if reply.is_empty() {
        bail!(
            "{} closed the connection without a reply",
            args.socket.display()
        );
    }
    let reply: Value = serde_json::from_str(&reply).context("the reply is not JSON")?;
    if let Some(error) = reply.get("error") {
        eprintln!("{}", serde_json::to_string_pretty(error)?);
        return Ok(1);
    }
    println!("{}", serde_json::to_string_pretty(&reply["result"])?);
    Ok(0)
}
