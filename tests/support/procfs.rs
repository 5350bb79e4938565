//! What `/proc/PID` says about a server process: resident memory and open descriptors. Shared
//! by the fault and soak tests and the load tool (`benches/load.rs`), so they measure alike.

use std::path::Path;

/// Resident set size of `pid` in bytes (`VmRSS` of `/proc/PID/status`); `None` if unreadable.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Open file descriptors of `pid` (entries of `/proc/PID/fd`); `None` if unreadable.
pub fn fd_count(pid: u32) -> Option<usize> {
    let dir = format!("/proc/{pid}/fd");
    Some(std::fs::read_dir(Path::new(&dir)).ok()?.count())
}
