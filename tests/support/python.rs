//! A Python venv under the target directory with pinned packages from PyPI, for tests that
//! check voxeld with an independent client (midvoxio's `.vox` reader, the MCP SDK). Made once
//! per target directory; remade when the requirements change.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The venv's python, in `CARGO_TARGET_TMPDIR/NAME`, with `requirements` installed; `purpose`
/// names what needs it in the failure message.
pub fn venv(name: &str, requirements: &[&str], purpose: &str) -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let python = venv.join("bin/python");
    let marker = venv.join("voxeld-requirements.txt");
    let wanted = requirements.join(" ");
    if python.exists() && std::fs::read_to_string(&marker).ok().as_deref() == Some(&wanted) {
        return python;
    }
    let out = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .unwrap_or_else(|e| panic!("python3 must be installed for {purpose}: {e}"));
    assert!(
        out.status.success(),
        "python3 -m venv failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(&python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", "-q"])
        .args(requirements)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pip could not install {requirements:?} (is PyPI reachable?): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&marker, wanted).unwrap();
    python
}
