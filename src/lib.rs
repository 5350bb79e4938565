//! voxeld: a headless voxel server that speaks the Goxel daemon's JSON-RPC protocol.
//!
//! The world itself lives in the `systems` crate; this crate owns everything around it:
//! configuration, the socket server, script workers, the journal, file formats and the CLI.

pub mod codec;
