//! Tidy checks on the documents: every repository path `ARCHITECTURE.md` or `README.md` names
//! in backticks exists, so the map cannot drift from the territory.

use std::path::Path;

const ROOTS: [&str; 7] = [
    "src/", "systems/", "docs/", "tests/", "tools/", "assets/", "benches/",
];

/// The backticked spans of `text` that start with a repository directory.
fn named_paths(text: &str) -> Vec<&str> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| ROOTS.iter().any(|r| span.starts_with(r)) && !span.contains(' '))
        .collect()
}

#[test]
fn every_path_the_documents_name_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    for doc in ["ARCHITECTURE.md", "README.md"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        let paths = named_paths(&text);
        assert!(paths.len() > 5, "{doc} names paths");
        for path in paths {
            if !root.join(path).exists() {
                missing.push(format!("{doc}: {path}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "named but missing:\n{}",
        missing.join("\n")
    );
}
