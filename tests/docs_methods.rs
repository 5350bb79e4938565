//! `docs/methods.md` against the code: every method in the method table has its section, and
//! the error-code table is exactly `voxeld::rpc::codes::TABLE`.

use voxeld::methods::METHODS;
use voxeld::rpc::codes::TABLE;

fn doc() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/methods.md")).unwrap()
}

#[test]
fn every_method_has_its_section() {
    let doc = doc();
    let headings: Vec<&str> = doc.lines().filter_map(|l| l.strip_prefix("## ")).collect();
    for m in METHODS {
        assert!(
            headings.iter().any(|h| h
                .split(" / ")
                .any(|part| part.split(' ').next() == Some(m.name))),
            "docs/methods.md has no section for {}",
            m.name
        );
        assert!(
            doc.contains(&format!("| `{}` | {} |", m.name, m.description)),
            "the method table of docs/methods.md lacks {} with its description",
            m.name
        );
    }
}

#[test]
fn the_error_code_table_is_the_code_table() {
    let doc = doc();
    let start = doc.find("## Error codes").expect("an error-code section");
    let rows: Vec<(i32, String)> = doc[start..]
        .lines()
        .skip_while(|l| !l.starts_with("| code"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            (cells[0].parse().unwrap(), cells[1].to_string())
        })
        .collect();
    let table: Vec<(i32, String)> = TABLE.iter().map(|(c, m)| (*c, m.to_string())).collect();
    assert_eq!(rows, table);
}

#[test]
fn the_permissions_table_is_the_method_table() {
    let doc = doc();
    let start = doc.find("## Permissions").expect("a permissions section");
    let rows: Vec<(String, Vec<String>)> = doc[start..]
        .lines()
        .skip_while(|l| !l.starts_with("| permission"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            let names = cells[1]
                .split(", ")
                .map(|n| n.trim_matches('`').to_string())
                .collect();
            (cells[0].to_string(), names)
        })
        .collect();
    for m in METHODS {
        let need = format!("{:?}", m.permission);
        let row = rows
            .iter()
            .find(|(p, _)| *p == need)
            .expect("a row per permission");
        assert!(
            row.1.iter().any(|n| n == m.name),
            "{} needs {need} but the docs say otherwise",
            m.name
        );
    }
    let listed: usize = rows.iter().map(|(_, n)| n.len()).sum();
    assert_eq!(listed, METHODS.len());
}
