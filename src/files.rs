//! File access for methods that read or write user files (`load_project`, `save_project`,
//! `export_model`, renders): which paths a client may name, whole-file reads with a size cap,
//! and atomic writes, so a crash or a failed write never leaves half a file behind.
//!
//! A relative path resolves against the data directory. An absolute path must lie under one of
//! the configured roots (`files.roots`; by default the data directory and the system temporary
//! directory, where the daemon's clients write). Paths are checked after resolving `..` and
//! symbolic links of the directories that exist.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use crate::config::Config;

/// The paths clients may read and write.
#[derive(Debug, Clone)]
pub struct FileAccess {
    /// Relative paths resolve here.
    pub data_dir: PathBuf,
    /// Absolute paths must lie under one of these (canonical where they exist).
    pub roots: Vec<PathBuf>,
    /// Largest file a load reads.
    pub max_file_bytes: u64,
    /// The managed renders (`render_scene` in file-path mode), under the data directory.
    pub renders: crate::renders::RenderStore,
    /// The script library of the script directories, its result cache and statistics.
    pub scripts: crate::script_library::ScriptLibrary,
}

impl Default for FileAccess {
    fn default() -> FileAccess {
        FileAccess::new(&Config::default())
    }
}

/// Why a path was refused or a file could not be read or written; the message names the path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FileError(pub String);

impl FileAccess {
    /// The rules of the default configuration, shared (for tools and tests that build a `Ctx`).
    pub fn defaults() -> &'static FileAccess {
        static DEFAULTS: std::sync::OnceLock<FileAccess> = std::sync::OnceLock::new();
        DEFAULTS.get_or_init(FileAccess::default)
    }

    /// The access rules of `config`.
    pub fn new(config: &Config) -> FileAccess {
        let data_dir = absolute(&config.data_dir);
        let roots = match &config.files.roots {
            Some(roots) => roots.iter().map(|r| data_dir.join(r)).collect(),
            None => vec![data_dir.clone(), std::env::temp_dir()],
        };
        FileAccess {
            roots: roots.iter().map(|r| canonical_or_clean(r)).collect(),
            renders: crate::renders::RenderStore::new(&data_dir, &config.renders),
            scripts: crate::script_library::ScriptLibrary::new(&config.scripts),
            data_dir,
            max_file_bytes: config.files.max_file_bytes,
        }
    }

    /// The file `path` names, if a client may use it.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, FileError> {
        if path.is_empty() {
            return Err(FileError("the path is empty".into()));
        }
        let given = Path::new(path);
        if given.is_relative() {
            let joined = self.data_dir.join(given);
            let resolved = canonical_or_clean(&joined);
            if !resolved.starts_with(canonical_or_clean(&self.data_dir)) {
                return Err(FileError(format!(
                    "{path}: a relative path must stay inside the data directory {}",
                    self.data_dir.display()
                )));
            }
            return Ok(resolved);
        }
        let resolved = canonical_or_clean(given);
        if self.roots.iter().any(|root| resolved.starts_with(root)) {
            return Ok(resolved);
        }
        Err(FileError(format!(
            "{path} is outside the allowed directories ({}); add a directory holding it to \
             files.roots in the server configuration to allow it",
            self.roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }

    /// Reads the whole file at `file` (already resolved), refusing one over the size cap.
    pub fn read(&self, file: &Path) -> Result<Vec<u8>, FileError> {
        let meta = std::fs::metadata(file)
            .map_err(|e| FileError(format!("{}: {}", file.display(), io_reason(&e))))?;
        if !meta.is_file() {
            return Err(FileError(format!("{}: not a regular file", file.display())));
        }
        if meta.len() > self.max_file_bytes {
            return Err(FileError(format!(
                "{}: {} bytes is over the limit of {} (files.max_file_bytes)",
                file.display(),
                meta.len(),
                self.max_file_bytes
            )));
        }
        std::fs::read(file).map_err(|e| FileError(format!("{}: {}", file.display(), io_reason(&e))))
    }
}

/// Writes `bytes` to `file` atomically: a temporary file in the same directory, flushed to
/// disk, then renamed over the target. On failure the target is untouched.
pub fn write_atomic(file: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let fail = |e: std::io::Error| FileError(format!("{}: {}", file.display(), io_reason(&e)));
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = file
        .file_name()
        .ok_or_else(|| FileError(format!("{}: not a file name", file.display())))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, file)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(fail)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// `p` with symbolic links resolved as far as the path exists, and `.`/`..` removed from the
/// rest, so a check on the result cannot be escaped with `..` or a link.
fn canonical_or_clean(p: &Path) -> PathBuf {
    let p = absolute(p);
    let mut existing = p.as_path();
    let mut rest: Vec<PathBuf> = Vec::new();
    loop {
        if let Ok(canonical) = existing.canonicalize() {
            let mut out = canonical;
            for part in rest.iter().rev() {
                push_clean(&mut out, part);
            }
            return out;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(PathBuf::from(name));
                existing = parent;
            }
            _ => {
                // Nothing exists (or `..` at the end): clean lexically.
                let mut out = PathBuf::new();
                for c in p.components() {
                    push_clean(&mut out, Path::new(c.as_os_str()));
                }
                return out;
            }
        }
    }
}

fn push_clean(out: &mut PathBuf, part: &Path) {
    for c in part.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(dir: &Path) -> FileAccess {
        let config = Config {
            data_dir: dir.join("data"),
            files: crate::config::FilesConfig {
                roots: Some(vec![dir.join("exports")]),
                ..Default::default()
            },
            ..Default::default()
        };
        std::fs::create_dir_all(&config.data_dir).unwrap();
        FileAccess::new(&config)
    }

    #[test]
    fn relative_paths_stay_in_the_data_directory_and_absolute_ones_under_the_roots() {
        let dir = tempfile::tempdir().unwrap();
        let a = access(dir.path());
        let data = dir.path().join("data").canonicalize().unwrap();
        assert_eq!(a.resolve("m.gox").unwrap(), data.join("m.gox"));
        assert_eq!(a.resolve("sub/../m.gox").unwrap(), data.join("m.gox"));
        assert!(
            a.resolve("../m.gox")
                .unwrap_err()
                .0
                .contains("inside the data directory")
        );
        let exports = dir.path().canonicalize().unwrap().join("exports");
        let inside = exports.join("x.vox");
        assert_eq!(a.resolve(inside.to_str().unwrap()).unwrap(), inside);
        let escape = format!("{}/../secret.vox", exports.display());
        let e = a.resolve(&escape).unwrap_err();
        assert!(e.0.contains("files.roots"), "{e}");
        assert!(
            a.resolve("/etc/passwd")
                .unwrap_err()
                .0
                .contains("/etc/passwd")
        );
        assert!(a.resolve("").is_err());
    }

    #[test]
    fn a_symlink_out_of_a_root_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = access(dir.path());
        let exports = dir.path().join("exports");
        std::fs::create_dir_all(&exports).unwrap();
        std::os::unix::fs::symlink("/etc", exports.join("etc")).unwrap();
        let e = a
            .resolve(exports.join("etc/passwd").to_str().unwrap())
            .unwrap_err();
        assert!(e.0.contains("outside the allowed directories"), "{e}");
    }

    #[test]
    fn atomic_writes_replace_whole_files_and_reads_are_capped() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = access(dir.path());
        let file = dir.path().join("data/out.bin");
        write_atomic(&file, b"first").unwrap();
        write_atomic(&file, b"second").unwrap();
        assert_eq!(a.read(&file).unwrap(), b"second");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("data"))
            .unwrap()
            .collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left");
        a.max_file_bytes = 3;
        assert!(a.read(&file).unwrap_err().0.contains("over the limit"));
        assert!(
            a.read(&dir.path().join("none"))
                .unwrap_err()
                .0
                .contains("no such file")
        );
        let e = write_atomic(&dir.path().join("missing/dir/f"), b"x").unwrap_err();
        assert!(e.0.contains("no such file"), "{e}");
    }
}
