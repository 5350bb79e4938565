//! voxeld: a headless voxel server speaking the Goxel daemon's JSON-RPC protocol.
//!
//! This crate holds the server side: configuration ([`config`]), the wire protocol ([`rpc`]) and
//! the command line ([`cli`]).

pub mod cli;
pub mod config;
pub mod rpc;
