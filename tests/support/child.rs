//! A `voxeld serve` child process for the tests that need a real process: `kill -9`, SIGTERM,
//! its descriptors and memory in `/proc`, its log on stderr. Each runs in its own directory
//! (`dir/voxeld.sock`, `dir/data`); a test that fails kills its child on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::Client;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_voxeld");
/// How long start-up and a clean shutdown may take before the test fails.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `voxeld serve` child.
pub struct ChildServer {
    /// The process.
    pub child: Child,
    /// The socket it listens on.
    pub socket: PathBuf,
    /// Its stderr (the log), when started with [`ChildServer::start_logged`].
    pub log: Option<PathBuf>,
}

impl ChildServer {
    /// Starts `voxeld serve` with the config file `config` and waits until it accepts.
    pub fn start(dir: &Path, config: &Path) -> ChildServer {
        Self::spawn(serve_command(dir, config), dir, None)
    }

    /// [`ChildServer::start`] with `VOXELD_LOG=info` and stderr kept in `dir/voxeld.log`.
    pub fn start_logged(dir: &Path, config: &Path) -> ChildServer {
        let mut command = serve_command(dir, config);
        command.env("VOXELD_LOG", "info");
        Self::spawn(command, dir, Some(dir.join("voxeld.log")))
    }

    /// Starts `command` (a `voxeld serve` on `dir/voxeld.sock`) and waits until it accepts.
    pub fn spawn(mut command: Command, dir: &Path, log: Option<PathBuf>) -> ChildServer {
        let socket = dir.join("voxeld.sock");
        let _ = std::fs::remove_file(&socket);
        let stderr = match &log {
            Some(path) => Stdio::from(std::fs::File::create(path).unwrap()),
            None => Stdio::null(),
        };
        let mut child = command
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + START_TIMEOUT;
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("server exited during start-up: {status}");
            }
            assert!(Instant::now() < deadline, "server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        ChildServer { child, socket, log }
    }

    /// The process id (for `/proc/PID`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A new client connection.
    pub fn client(&self) -> Client {
        Client::connect(&self.socket)
    }

    /// The log so far (empty unless started with [`ChildServer::start_logged`]).
    pub fn log_text(&self) -> String {
        self.log
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default()
    }

    /// `kill -9`: no shutdown code runs.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends SIGTERM and returns at once.
    pub fn signal_term(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
    }

    /// SIGTERM: the clean shutdown (final sync and snapshot); the exit status must be success.
    pub fn terminate(mut self) {
        self.signal_term();
        let status = wait_timeout(&mut self.child, START_TIMEOUT);
        assert!(
            status.success(),
            "server exited with {status} after SIGTERM"
        );
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `voxeld serve` on `dir/voxeld.sock` with data in `dir/data`, logging warnings only.
pub fn bare_serve_command(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .arg("serve")
        .arg("--socket")
        .arg(dir.join("voxeld.sock"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env("VOXELD_LOG", "warn");
    command
}

/// [`bare_serve_command`] with the config file `config`.
pub fn serve_command(dir: &Path, config: &Path) -> Command {
    let mut command = bare_serve_command(dir);
    command.arg("--config").arg(config);
    command
}

/// Waits for `child` to exit; fails the test after `timeout`.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "process did not exit");
        std::thread::sleep(Duration::from_millis(10));
    }
}
