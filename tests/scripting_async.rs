//! Scripts whose completion value is a promise: awaited within the timeout, a rejection is a
//! failure with its message, and a dynamic `import()` fails clearly instead of hanging.

mod script_support;
use script_support as support;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde_json::json;
use support::{MemHost, job};
use voxeld::scripting::{ScriptDone, ScriptError, ScriptRunner};

fn run(source: &str) -> ScriptDone<MemHost> {
    let mut runner = ScriptRunner::new(Arc::new(AtomicBool::new(false))).unwrap();
    runner.run(job(1, source))
}

fn failure(source: &str) -> (String, String) {
    match run(source).outcome {
        Ok(s) => panic!("script succeeded: {s:?}"),
        Err(f) => match f.error {
            ScriptError::Exception { name, message, .. } => (name, message),
            other => panic!("not an exception: {other:?}"),
        },
    }
}

#[test]
fn a_promise_completion_value_is_awaited() {
    let done = run(r#"
        (async () => {
            await null;
            goxel.addVoxel(1, 2, 3, [4, 5, 6, 255]);
            const n = await Promise.all([1, 2, 3].map(async x => x * 2));
            return { n, count: goxel.getVoxelCount() };
        })()
    "#);
    let s = done.outcome.unwrap();
    assert_eq!(s.result, json!({"n": [2, 4, 6], "count": 1}));
    assert_eq!(s.edit_count, 1);
    assert_eq!(done.host.voxels[&[1, 2, 3]], [4, 5, 6, 255]);
}

#[test]
fn a_rejection_is_a_failure_with_its_message_and_commits_nothing() {
    let done = run(r#"
        (async () => {
            goxel.addVoxel(0, 0, 0, [1, 1, 1, 255]);
            await null;
            throw new RangeError('size out of range');
        })()
    "#);
    let f = done.outcome.unwrap_err();
    match &f.error {
        ScriptError::Exception { name, message, .. } => {
            assert_eq!(name, "RangeError");
            assert_eq!(message, "size out of range");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        f.edit_count, 1,
        "the edit was made, and is dropped with the failure"
    );
    // A rejection with a plain value keeps that value as the message.
    assert_eq!(
        failure("Promise.reject('no good')"),
        ("Error".into(), "no good".into())
    );
}

#[test]
fn a_promise_that_can_never_settle_fails_at_once() {
    let (_, message) = failure("new Promise(() => {})");
    assert!(message.contains("never settled"), "{message}");
}

#[test]
fn an_awaited_loop_still_meets_the_timeout() {
    let mut j = job(1, "(async () => { await null; while (true) {} })()");
    j.timeout = Duration::from_millis(100);
    let mut runner = ScriptRunner::new(Arc::new(AtomicBool::new(false))).unwrap();
    let f = runner.run(j).outcome.unwrap_err();
    assert_eq!(f.error, ScriptError::Timeout { timeout_ms: 100 });
}

#[test]
fn dynamic_import_fails_clearly() {
    // Awaited: the rejection is the failure.
    let (_, message) = failure("import('./cube.js')");
    assert!(
        message.starts_with("module loading is not available"),
        "{message}"
    );
    assert!(message.contains("cube.js"), "{message}");
    // Not awaited and not handled: the script still fails with the refusal.
    let (_, message) = failure("import('./cube.js'); 42");
    assert!(
        message.starts_with("module loading is not available"),
        "{message}"
    );
    // Handled by the script: its handler runs (the import rejects, it is never pending).
    let s = run("var r = 'pending'; import('x').catch(e => { r = e.name }).then(() => r)")
        .outcome
        .unwrap();
    assert_eq!(s.result, json!("ReferenceError"));
}
