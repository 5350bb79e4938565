//! The Unix socket transport: naming and stale-socket handling through `interprocess`, then
//! handed to mio as a plain non-blocking Unix listener.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, bail};
use interprocess::local_socket::{GenericFilePath, ListenerOptions, ToFsName};

/// Binds `path` with file mode `mode`. A socket file nobody answers on (a crashed server's) is
/// replaced; a socket a live server answers on, or a path that is not a socket, is refused.
pub fn bind(path: &Path, mode: u32) -> anyhow::Result<std::os::unix::net::UnixListener> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            bail!(
                "{} exists and is not a socket; refusing to replace it",
                path.display()
            );
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!(
                "another server is already listening on {}; stop it or choose another --socket",
                path.display()
            );
        }
        tracing::info!(path = %path.display(), "replacing stale socket file");
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let name = path
        .to_fs_name::<GenericFilePath>()
        .with_context(|| format!("socket name {}", path.display()))?;
    let listener = ListenerOptions::new()
        .name(name)
        .try_overwrite(true)
        .create_sync()
        .with_context(|| format!("binding {}", path.display()))?;
    let listener: std::os::unix::net::UnixListener = match listener {
        interprocess::local_socket::Listener::UdSocket(l) => l.into(),
    };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting mode {mode:o} on {}", path.display()))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}
