//! Resolves a client-supplied script `path` inside the configured script directories.
//!
//! Clients may name script files, but only files under the operator's script directories may be
//! read. Both the directories and the candidate are canonicalised, so `..` segments, absolute
//! paths elsewhere and symlinks pointing outside are all rejected the same way.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// Why a script path was refused.
#[derive(Debug, Error)]
pub enum PathError {
    /// No script directories are configured, so no path can be used.
    #[error("script paths are disabled: no script directories configured")]
    NoScriptDirs,
    /// The path is empty.
    #[error("script path is empty")]
    Empty,
    /// The path resolves outside every script directory.
    #[error("script path {path:?} is outside the script directories")]
    OutsideScriptDirs {
        /// The path as the client gave it.
        path: String,
    },
    /// The file does not exist in any script directory.
    #[error("script {path:?} not found in the script directories")]
    NotFound {
        /// The path as the client gave it.
        path: String,
    },
    /// The path exists but is not a regular file.
    #[error("script path {path:?} is not a file")]
    NotAFile {
        /// The path as the client gave it.
        path: String,
    },
}

/// Finds `path` in `dirs` and returns its canonical location.
///
/// A relative path is tried against each directory in order; an absolute path must already lie
/// inside one. The result is canonical and always inside a canonicalised directory.
pub fn resolve_script_path(path: &str, dirs: &[PathBuf]) -> Result<PathBuf, PathError> {
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    let roots: Vec<PathBuf> = dirs.iter().filter_map(|d| d.canonicalize().ok()).collect();
    if roots.is_empty() {
        return Err(PathError::NoScriptDirs);
    }
    let requested = Path::new(path);
    let candidates: Vec<PathBuf> = if requested.is_absolute() {
        vec![requested.to_path_buf()]
    } else {
        roots.iter().map(|r| r.join(requested)).collect()
    };
    let mut outside = false;
    for candidate in candidates {
        let Ok(real) = candidate.canonicalize() else {
            continue;
        };
        if !roots.iter().any(|r| real.starts_with(r)) {
            outside = true;
            continue;
        }
        if !real.is_file() {
            return Err(PathError::NotAFile { path: path.into() });
        }
        return Ok(real);
    }
    if outside || (requested.is_absolute() && !roots.iter().any(|r| requested.starts_with(r))) {
        return Err(PathError::OutsideScriptDirs { path: path.into() });
    }
    Err(PathError::NotFound { path: path.into() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn setup() -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let scripts = tmp.path().join("scripts");
        fs::create_dir_all(scripts.join("sub")).unwrap();
        fs::write(scripts.join("cube.js"), "1").unwrap();
        fs::write(scripts.join("sub/inner.js"), "2").unwrap();
        fs::write(tmp.path().join("secret.js"), "3").unwrap();
        (tmp, scripts)
    }

    #[test]
    fn relative_paths_inside_resolve() {
        let (_tmp, scripts) = setup();
        let dirs = [scripts.clone()];
        let root = scripts.canonicalize().unwrap();
        assert_eq!(
            resolve_script_path("cube.js", &dirs).unwrap(),
            root.join("cube.js")
        );
        assert_eq!(
            resolve_script_path("sub/../sub/inner.js", &dirs).unwrap(),
            root.join("sub/inner.js")
        );
    }

    #[test]
    fn dot_dot_escape_is_rejected() {
        let (_tmp, scripts) = setup();
        let err = resolve_script_path("../secret.js", &[scripts]).unwrap_err();
        assert!(matches!(err, PathError::OutsideScriptDirs { .. }), "{err}");
        assert!(err.to_string().contains("outside the script directories"));
    }

    #[test]
    fn absolute_paths_only_inside() {
        let (tmp, scripts) = setup();
        let dirs = [scripts.clone()];
        let inside = scripts.join("cube.js");
        assert!(resolve_script_path(inside.to_str().unwrap(), &dirs).is_ok());
        let outside = tmp.path().join("secret.js");
        let err = resolve_script_path(outside.to_str().unwrap(), &dirs).unwrap_err();
        assert!(matches!(err, PathError::OutsideScriptDirs { .. }), "{err}");
        let err = resolve_script_path("/etc/passwd", &dirs).unwrap_err();
        assert!(matches!(err, PathError::OutsideScriptDirs { .. }), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn symlink_pointing_outside_is_rejected() {
        let (tmp, scripts) = setup();
        std::os::unix::fs::symlink(tmp.path().join("secret.js"), scripts.join("link.js")).unwrap();
        let err = resolve_script_path("link.js", &[scripts]).unwrap_err();
        assert!(matches!(err, PathError::OutsideScriptDirs { .. }), "{err}");
    }

    #[test]
    fn missing_files_and_directories_are_clear_errors() {
        let (_tmp, scripts) = setup();
        let dirs = [scripts];
        assert!(matches!(
            resolve_script_path("nope.js", &dirs).unwrap_err(),
            PathError::NotFound { .. }
        ));
        assert!(matches!(
            resolve_script_path("sub", &dirs).unwrap_err(),
            PathError::NotAFile { .. }
        ));
        assert!(matches!(
            resolve_script_path("", &dirs).unwrap_err(),
            PathError::Empty
        ));
        assert!(matches!(
            resolve_script_path("cube.js", &[]).unwrap_err(),
            PathError::NoScriptDirs
        ));
    }
}
