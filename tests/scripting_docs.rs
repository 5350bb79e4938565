//! Every `js` example of `docs/scripting.md`, run over a real socket on a fresh world: its
//! completion value must be the `// result:` its last line states (an example with a
//! `// args:` line runs as a library script with those arguments), so the page cannot rot.

mod support;

use serde_json::{Value, json};
use support::TestServer;

struct Example {
    /// The heading the example sits under, for messages.
    section: String,
    source: String,
    args: Option<Value>,
    result: Value,
}

fn examples() -> Vec<Example> {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/scripting.md")).unwrap();
    let mut out = Vec::new();
    let mut section = String::new();
    let mut block: Option<Vec<&str>> = None;
    for line in doc.lines() {
        if let Some(lines) = &mut block {
            if line == "```" {
                let lines = block.take().unwrap();
                let last = lines.last().copied().unwrap_or_default();
                let result = last.strip_prefix("// result: ").unwrap_or_else(|| {
                    panic!("{section}: the example's last line is no // result:")
                });
                let args = lines
                    .iter()
                    .find_map(|l| l.strip_prefix("// args: "))
                    .map(|a| serde_json::from_str(a).unwrap());
                out.push(Example {
                    section: section.clone(),
                    source: lines.join("\n"),
                    args,
                    result: serde_json::from_str(result)
                        .unwrap_or_else(|e| panic!("{section}: result is not JSON: {e}")),
                });
            } else {
                lines.push(line);
            }
        } else if line == "```js" {
            block = Some(Vec::new());
        } else if let Some(h) = line.strip_prefix('#') {
            section = h.trim_start_matches('#').trim().to_string();
        }
    }
    out
}

#[test]
fn every_example_in_the_scripting_guide_gives_its_result() {
    let examples = examples();
    assert!(examples.len() >= 13, "only {} examples", examples.len());
    // Every documented function has its example (each section names its functions).
    for function in [
        "createLayer",
        "selectLayer",
        "setLayerVisibility",
        "proceduralShape",
    ] {
        assert!(
            examples
                .iter()
                .any(|e| e.section.contains(function) && e.source.contains(function)),
            "no example of {function}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let scripts = dir.path().to_path_buf();
    let server = TestServer::start_with(move |c| c.scripts.script_dirs = vec![scripts]);
    let mut c = server.client();
    let mut wrong = Vec::new();
    for (i, ex) in examples.iter().enumerate() {
        c.result("goxel.create_project", json!({ "name": "docs" }));
        let reply = match &ex.args {
            Some(args) => {
                let name = format!("example{i}");
                std::fs::write(dir.path().join(format!("{name}.js")), &ex.source).unwrap();
                c.call("goxel.run_script", json!({ "name": name, "args": args }))
            }
            None => c.call("goxel.execute_script", json!({ "script": ex.source })),
        };
        let got = &reply["result"];
        if got["success"] != true || got["result"] != ex.result {
            wrong.push(format!(
                "{}: expected {}, got {}",
                ex.section, ex.result, reply
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
