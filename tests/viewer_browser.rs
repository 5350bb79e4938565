//! The browser viewer, end to end, in headless Chromium (Debian's `/usr/bin/chromium`, driven
//! by `playwright-core` from the npm registry, installed here under the target directory):
//! the page served on the WebSocket port goes live with a read-only token, a script run over
//! the Unix socket changes its pixels and its status panel, and a wrong token is refused.
//! The checks themselves are in `tests/browser/viewer_e2e.mjs`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use support::TestServer;
use voxeld::config::{Permission, TokenConfig};

const VIEWER_TOKEN: &str = "viewer-token-0123456789";

/// A directory with `playwright-core` installed from `tests/browser/package-lock.json` and
/// the e2e script beside it (made once per target directory).
fn browser_driver() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
        std::fs::create_dir_all(&dir).unwrap();
        let lock = std::fs::read(source.join("package-lock.json")).unwrap();
        let installed = std::fs::read(dir.join("package-lock.json")).ok();
        if installed.as_ref() != Some(&lock) || !dir.join("node_modules/playwright-core").exists() {
            for f in ["package.json", "package-lock.json"] {
                std::fs::copy(source.join(f), dir.join(f)).unwrap();
            }
            let out = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir)
                .output()
                .expect(
                    "npm (Node.js) must be installed for the browser test; .ci/run installs it",
                );
            assert!(
                out.status.success(),
                "npm ci failed (is the npm registry reachable?): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::fs::copy(source.join("viewer_e2e.mjs"), dir.join("viewer_e2e.mjs")).unwrap();
        dir
    })
}

#[test]
fn the_viewer_goes_live_follows_a_script_and_refuses_a_wrong_token() {
    assert!(
        Path::new("/usr/bin/chromium").exists() || std::env::var_os("CHROMIUM").is_some(),
        "the browser test needs Debian's chromium (/usr/bin/chromium, or set CHROMIUM); .ci/run installs it"
    );
    let server = TestServer::start_with(|c| {
        c.websocket.enabled = true;
        c.websocket.address = "127.0.0.1:0".into();
        c.auth.tokens = vec![TokenConfig {
            token: VIEWER_TOKEN.into(),
            permissions: vec![Permission::Read],
        }];
    });
    // Something on screen before the script: a grey floor.
    let mut client = server.client();
    let floor = client.result(
        "goxel.execute_script",
        serde_json::json!({"script": "for (let x = -4; x < 16; x++) for (let y = -4; y < 16; y++) goxel.addVoxel(x, y, -1, [120, 120, 128, 255]);"}),
    );
    assert_eq!(floor["success"], true, "{floor}");
    let addr = server.server.as_ref().unwrap().websocket.unwrap();
    let url = format!("http://{addr}/");
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("viewer-screenshots");
    let driver = browser_driver();
    let out = Command::new("node")
        .arg(driver.join("viewer_e2e.mjs"))
        .args(["check", &url, VIEWER_TOKEN])
        .arg(&server.socket)
        .arg(&shots)
        .current_dir(driver)
        .output()
        .expect("node must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "viewer_e2e.mjs failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("wrong token: refused"), "{stdout}");
    for shot in ["viewer-before.png", "viewer-after.png"] {
        let bytes = std::fs::read(shots.join(shot)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{shot} is a PNG");
    }
}
