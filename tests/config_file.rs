//! The shipped `assets/server.ron` stays in sync with `Config::default()`.

use std::path::Path;

use voxeld::config::{Config, ConfigError};

#[test]
fn shipped_server_ron_is_the_default() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/server.ron");
    assert_eq!(Config::load(&path).unwrap(), Config::default());
}

#[test]
fn missing_file_names_the_file() {
    let err = Config::load(Path::new("/nonexistent/voxeld.ron")).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(
        err.to_string()
            .starts_with("/nonexistent/voxeld.ron: cannot read config")
    );
}

#[test]
fn unknown_field_in_a_file_names_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.ron");
    std::fs::write(&path, "(\n  world: (\n    undo_dept: 3,\n  ),\n)\n").unwrap();
    let msg = Config::load(&path).unwrap_err().to_string();
    let prefix = format!("{}:3:", path.display());
    assert!(msg.starts_with(&prefix), "{msg}");
    assert!(msg.contains("unknown field 'undo_dept' in world"), "{msg}");
}
