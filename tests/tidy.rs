//! Tidy checks on the documents: every repository path `ARCHITECTURE.md`, `README.md` or
//! `docs/RELIABILITY.md` names in backticks exists, and every test it names as
//! `file::function` is a function of that file, so the map cannot drift from the territory.

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
    for doc in ["ARCHITECTURE.md", "README.md", "docs/RELIABILITY.md"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        let paths = named_paths(&text);
        assert!(paths.len() > 5, "{doc} names paths");
        for span in paths {
            let (path, function) = match span.split_once("::") {
                Some((path, function)) => (path, Some(function)),
                None => (span, None),
            };
            if !root.join(path).exists() {
                missing.push(format!("{doc}: {path}"));
                continue;
            }
            if let Some(function) = function {
                let source = std::fs::read_to_string(root.join(path)).unwrap();
                if !source.contains(&format!("fn {function}(")) {
                    missing.push(format!("{doc}: {span} (no such function)"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "named but missing:\n{}",
        missing.join("\n")
    );
}
