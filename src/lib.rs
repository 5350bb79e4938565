//! voxeld: a headless voxel server that speaks the Goxel daemon's JSON-RPC protocol.
//!
//! The world itself lives in the `systems` crate; this crate owns everything around it:
//! configuration ([`config`]), the wire protocol ([`rpc`]), the methods ([`methods`]), the socket
//! server ([`server`]), file encodings ([`codec`]) and the command line ([`cli`]).

pub mod batch;
pub mod call;
pub mod chunk_encoding;
pub mod cli;
pub mod codec;
pub mod config;
pub mod files;
pub mod formats;
pub mod journal;
pub mod mcp;
pub mod methods;
pub mod persist;
pub mod render;
pub mod renders;
pub mod replication;
pub mod rpc;
pub mod script_host;
pub mod script_library;
pub mod scripting;
pub mod server;
pub mod worldfile;
