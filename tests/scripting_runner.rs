//! One script at a time on a `ScriptRunner`: limits, errors, the `goxel` API and the sandbox.

mod script_support;
use script_support as support;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{MemHost, job};
use voxeld::scripting::{
    LogLevel, ScriptDone, ScriptError, ScriptJob, ScriptRunner, ScriptSuccess,
};

fn runner() -> ScriptRunner {
    ScriptRunner::new(Arc::new(AtomicBool::new(false))).unwrap()
}

fn run(source: &str) -> ScriptDone<MemHost> {
    runner().run(job(1, source))
}

fn ok(source: &str) -> ScriptSuccess {
    match run(source).outcome {
        Ok(s) => s,
        Err(f) => panic!("script failed: {:?}", f),
    }
}

fn err(source: &str) -> ScriptError {
    match run(source).outcome {
        Ok(s) => panic!("script succeeded: {s:?}"),
        Err(f) => f.error,
    }
}

const CUBE: &str = r#"
// Create a 5x5x5 red cube at origin
for (var x = 0; x < 5; x++) {
    for (var y = 0; y < 5; y++) {
        for (var z = 0; z < 5; z++) {
            goxel.addVoxel(x, y, z, [255, 0, 0, 255]);
        }
    }
}
console.log("Created 5x5x5 red cube");
"#;

#[test]
fn seed_cube_script_makes_125_edits() {
    let done = run(CUBE);
    let s = done.outcome.unwrap();
    assert_eq!(s.edit_count, 125);
    assert_eq!(done.host.voxels.len(), 125);
    assert_eq!(done.host.voxels[&[4, 4, 4]], [255, 0, 0, 255]);
    assert_eq!(s.logs.len(), 1);
    assert_eq!(s.logs[0].message, "Created 5x5x5 red cube");
    assert_eq!(s.result, json!(null));
}

#[test]
fn infinite_loop_times_out_and_runner_stays_healthy() {
    let mut r = runner();
    let mut j = job(1, "while(true){}");
    j.timeout = Duration::from_millis(200);
    let start = Instant::now();
    let done = r.run(j);
    let elapsed = start.elapsed();
    let f = done.outcome.unwrap_err();
    assert_eq!(f.error, ScriptError::Timeout { timeout_ms: 200 });
    assert_eq!(f.error.to_string(), "Script execution timeout");
    assert!(elapsed < Duration::from_millis(250), "took {elapsed:?}");
    assert!(elapsed >= Duration::from_millis(200), "took {elapsed:?}");
    // The handler cannot be caught either.
    let mut j = job(2, "try { while(true){} } catch (e) {} 'caught'");
    j.timeout = Duration::from_millis(50);
    assert!(matches!(
        r.run(j).outcome.unwrap_err().error,
        ScriptError::Timeout { .. }
    ));
    assert_eq!(r.run(job(3, "1+1")).outcome.unwrap().result, json!(2));
}

#[test]
fn memory_bomb_hits_memory_limit_and_runner_recovers() {
    let mut r = runner();
    let mut j = job(1, "let a=[]; while(true) a.push(new Array(1e6).fill(1))");
    j.limits.memory_bytes = 32 << 20;
    assert_eq!(
        r.run(j).outcome.unwrap_err().error,
        ScriptError::MemoryLimit
    );
    let mut j = job(2, "let m = new Map(); for (let i = 0; ; i++) m.set(i, {i})");
    j.limits.memory_bytes = 16 << 20;
    assert_eq!(
        r.run(j).outcome.unwrap_err().error,
        ScriptError::MemoryLimit
    );
    assert_eq!(
        r.run(job(3, "[1,2].length")).outcome.unwrap().result,
        json!(2)
    );
}

#[test]
fn running_out_of_memory_while_built_ins_are_created_is_an_error_not_a_crash() {
    // Fill the heap to just below the limit, then touch typed arrays (created on first use)
    // at every level of free memory: creating them fails part-way at some point.
    let mut r = runner();
    let source = r#"
        const hog = [];
        let outcome = [];
        try { for (;;) hog.push(new Array(1000).fill(1)); } catch (e) { outcome.push('full') }
        for (let i = 0; i < 200; i++) {
            hog.pop();
            try { outcome.push(typeof Int8Array, typeof Uint8Array, typeof Atomics, typeof Map); break; }
            catch (e) { }
        }
        outcome.length
    "#;
    for limit_kib in [2048, 2304, 2560, 3072] {
        let mut j = job(1, source);
        j.limits.memory_bytes = limit_kib << 10;
        // Any outcome but a crash or a hang: success, or the memory limit.
        if let Err(f) = r.run(j).outcome {
            assert_eq!(f.error, ScriptError::MemoryLimit, "{limit_kib} KiB");
        }
        assert_eq!(
            r.run(job(2, "new Int16Array([1, 2]).length + new Set([1]).size"))
                .outcome
                .unwrap()
                .result,
            json!(3),
            "{limit_kib} KiB"
        );
    }
}

#[test]
fn stack_bomb_is_stack_overflow() {
    let mut r = runner();
    let e = r
        .run(job(1, "function f(){return f()+1} f()"))
        .outcome
        .unwrap_err()
        .error;
    assert_eq!(e, ScriptError::StackOverflow);
    assert_eq!(
        r.run(job(2, "'fine'")).outcome.unwrap().result,
        json!("fine")
    );
}

#[test]
fn edit_bomb_is_edit_limit_even_when_caught() {
    let mut j = job(
        1,
        "for (let i = 0; ; i++) goxel.addVoxel(i, 0, 0, [1,2,3,255])",
    );
    j.limits.max_edits = 1000;
    let f = runner().run(j).outcome.unwrap_err();
    assert_eq!(f.error, ScriptError::EditLimit { limit: 1000 });

    // The host's own limit counts too, and catching the exception does not help.
    let mut j = job(
        2,
        "try { for (let i = 0; ; i++) goxel.addVoxel(i, 0, 0, '#ff0000') } catch (e) {} 'swallowed'",
    );
    j.host = MemHost::with_limit(10);
    let done = runner().run(j);
    assert_eq!(
        done.outcome.unwrap_err().error,
        ScriptError::EditLimit { limit: 10 }
    );
}

#[test]
fn syntax_error_has_name_message_and_location() {
    let e = err("var a = 1;\nvar b = ;\n");
    let ScriptError::Exception {
        name,
        message,
        line,
        column,
        ..
    } = e
    else {
        panic!("{e:?}")
    };
    assert_eq!(name, "SyntaxError");
    assert!(message.contains("unexpected token"), "{message}");
    assert_eq!(line, Some(2));
    assert!(column.is_some());
}

#[test]
fn thrown_error_has_name_message_line_and_column() {
    let e = err("var x = 1;\n\n  throw new TypeError('bad voxel');\n");
    let ScriptError::Exception {
        name,
        message,
        line,
        column,
        stack,
        frames,
    } = e
    else {
        panic!("{e:?}")
    };
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0].line, 3);
    assert_eq!(frames[0].source, "  throw new TypeError('bad voxel');");
    assert_eq!(name, "TypeError");
    assert_eq!(message, "bad voxel");
    assert_eq!(line, Some(3));
    // QuickJS points at the constructor call.
    assert_eq!(column, Some(13));
    assert!(stack.unwrap().contains("test.js:3"));
    // Non-error values thrown are reported as text.
    let e = err("throw 'plain'");
    assert!(
        matches!(e, ScriptError::Exception { ref message, .. } if message == "plain"),
        "{e:?}"
    );
}

#[test]
fn failing_script_reports_its_edits_as_failure() {
    let done = run(
        "goxel.addVoxel(1,2,3,[9,9,9]); goxel.addVoxel(4,5,6,[9,9,9]); throw new Error('boom')",
    );
    let f = done.outcome.unwrap_err();
    assert_eq!(f.edit_count, 2);
    assert!(matches!(f.error, ScriptError::Exception { ref message, .. } if message == "boom"));
}

#[test]
fn script_too_large_is_refused_before_running() {
    let mut j = job(1, "goxel.addVoxel(0,0,0,[1,1,1]); // padding padding");
    j.limits.max_script_bytes = 10;
    let f = runner().run(j).outcome.unwrap_err();
    assert!(matches!(
        f.error,
        ScriptError::ScriptTooLarge { limit: 10, .. }
    ));
    assert_eq!(f.edit_count, 0);
}

#[test]
fn console_is_captured_with_levels_and_formatting() {
    let s = ok(r##"
        console.log("a", 1, 2.5, true, null, undefined, [1, "x"], {k: {n: 1}});
        console.info("info"); console.warn("warn"); console.error(new RangeError("bad"));
    "##);
    let lines: Vec<_> = s
        .logs
        .iter()
        .map(|l| (l.level, l.message.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            (
                LogLevel::Log,
                r#"a 1 2.5 true null undefined [1,"x"] {"k":{"n":1}}"#
            ),
            (LogLevel::Info, "info"),
            (LogLevel::Warn, "warn"),
            (LogLevel::Error, "RangeError: bad"),
        ]
    );
}

#[test]
fn log_limit_is_enforced() {
    let mut j = job(1, "try { for (;;) console.log('0123456789') } catch (e) {}");
    j.limits.max_log_bytes = 100;
    let f = runner().run(j).outcome.unwrap_err();
    assert_eq!(f.error, ScriptError::LogLimit { limit: 100 });
    assert_eq!(f.logs.len(), 10);
}

#[test]
fn seeded_math_random_is_reproducible() {
    let src = "[Math.random(), Math.random(), Math.random()]";
    let mut r = runner();
    let a = r.run(job(1, src)).outcome.unwrap().result;
    let b = r.run(job(2, src)).outcome.unwrap().result;
    assert_eq!(a, b);
    let mut j = job(3, src);
    j.seed = Some(7);
    let c = r.run(j).outcome.unwrap().result;
    assert_ne!(a, c);
    // Without a seed the script text decides, so the same script gives the same numbers.
    let mut j = job(4, src);
    j.seed = None;
    let d = r.run(j).outcome.unwrap().result;
    let mut j = job(5, src);
    j.seed = None;
    assert_eq!(d, r.run(j).outcome.unwrap().result);
    for v in a.as_array().unwrap() {
        let v = v.as_f64().unwrap();
        assert!((0.0..1.0).contains(&v));
    }
}

#[test]
fn get_voxel_sees_own_edits() {
    let s = ok(r##"
        const before = goxel.getVoxel(1, 2, 3);
        goxel.addVoxel(1, 2, 3, "#10203040");
        const after = goxel.getVoxel(1, 2, 3);
        goxel.removeVoxel(1, 2, 3);
        [before, after, goxel.getVoxel(1, 2, 3), goxel.getVoxelCount()]
    "##);
    assert_eq!(s.result, json!([null, [16, 32, 48, 64], null, 0]));
    assert_eq!(s.edit_count, 2);
}

#[test]
fn completion_values_become_json() {
    let mut r = runner();
    let mut value = |src: &str| r.run(job(1, src)).outcome.unwrap().result;
    assert_eq!(value("1+1"), json!(2));
    assert_eq!(value("0.5"), json!(0.5));
    assert_eq!(value("'text'"), json!("text"));
    assert_eq!(
        value("({a: [1, {b: null}], c: 'd'})"),
        json!({"a": [1, {"b": null}], "c": "d"})
    );
    assert_eq!(value("[1, 'two', false]"), json!([1, "two", false]));
    assert_eq!(value("undefined"), json!(null));
    assert_eq!(value("(function f() {})"), json!(null));
    assert_eq!(value("var o = {}; o.o = o; o"), json!(null));
    assert_eq!(value("let x = 3; x * 2"), json!(6));
}

#[test]
fn colour_forms_and_bad_arguments() {
    let s = ok(r##"
        goxel.addVoxel(0,0,0,[1,2,3]);
        goxel.addVoxel(1,0,0,[1,2,3,4]);
        goxel.addVoxel(2,0,0,"#0a0b0c");
        goxel.addVoxel(3,0,0,{r:5,g:6,b:7,a:8});
        goxel.addVoxel(4,0,0,{r:5,g:6,b:7});
        goxel.addVoxel(5.7,-0.5,0,[1,1,1]);
        [0,1,2,3,4].map(x => goxel.getVoxel(x,0,0)).concat([goxel.getVoxel(5,-1,0)])
    "##);
    assert_eq!(
        s.result,
        json!([
            [1, 2, 3, 255],
            [1, 2, 3, 4],
            [10, 11, 12, 255],
            [5, 6, 7, 8],
            [5, 6, 7, 255],
            [1, 1, 1, 255]
        ])
    );
    let errors = ok(r##"
        const out = [];
        for (const f of [
            () => goxel.addVoxel(0,0,0,[256,0,0]),
            () => goxel.addVoxel(0,0,0,"red"),
            () => goxel.addVoxel("a",0,0,[1,1,1]),
            () => goxel.addVoxel(0,NaN,0,[1,1,1]),
            () => goxel.addVoxel(0,0,0,[1,1]),
        ]) { try { f(); out.push("no error"); } catch (e) { out.push(e.name + ": " + e.message); } }
        out
    "##);
    let errors: Vec<String> = serde_json::from_value(errors.result).unwrap();
    assert!(errors[0].starts_with("RangeError: color"), "{errors:?}");
    assert!(errors[1].starts_with("TypeError: color"), "{errors:?}");
    assert!(errors[2].starts_with("TypeError: x"), "{errors:?}");
    assert!(errors[3].starts_with("RangeError: y"), "{errors:?}");
    assert!(errors[4].starts_with("TypeError: color"), "{errors:?}");
}

#[test]
fn bulk_helpers_work() {
    let s = ok(r##"
        const boxed = goxel.fillBox(0,0,0, 2,2,2, [1,1,1]);
        const alias = goxel.box(10,0,0, 10,0,1, [1,1,1]);
        const painted = goxel.paintVoxels([[0,0,0],{x:1,y:1,z:1},[50,50,50]], "#ff0000");
        const flooded = goxel.floodFill(2,2,2, [0,0,255]);
        const sphere = goxel.fillSphere(100,100,100, 1, [2,2,2]);
        [boxed, alias, painted, flooded, sphere, goxel.getVoxelCount(),
         goxel.getBoundingBox(), goxel.getActiveLayer()]
    "##);
    assert_eq!(
        s.result,
        json!([27, 2, 2, 25, 7, 36, {"min": [0,0,0], "max": [101,101,101]}, 0])
    );
    assert_eq!(ok("goxel.getBoundingBox()").result, json!(null));
}

#[test]
fn sandbox_has_no_modules_files_or_network() {
    let s = ok(r##"
        let wait;
        try {
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000);
            wait = 'returned';
        } catch (e) { wait = e.name + ': ' + e.message }
        [typeof require, typeof fetch, typeof std, typeof os, typeof XMLHttpRequest, wait,
         typeof print]
    "##);
    assert_eq!(
        s.result,
        json!([
            "undefined",
            "undefined",
            "undefined",
            "undefined",
            "undefined",
            // A worker must never block: Atomics.wait refuses at once.
            "TypeError: cannot block in this thread",
            "undefined"
        ])
    );
    // Dynamic import has no loader to reach files.
    let s = ok(r##"
        var r = 'pending';
        import('/etc/passwd').then(() => { r = 'loaded' }, e => { r = 'refused: ' + e.message });
        r
    "##);
    assert_eq!(s.result, json!("pending"));
    let s = ok(r##"
        globalThis.r = 'pending';
        import('/etc/passwd').then(() => { r = 'loaded' }, e => { r = 'refused' });
    "##);
    let _ = s;
    let s = ok(r##"
        var out = 'pending';
        Promise.resolve().then(() => import('./x.js')).then(() => { out = 'loaded' }, () => { out = 'refused' });
        0
    "##);
    let _ = s;
}

#[test]
fn globals_do_not_leak_between_scripts() {
    let mut r = runner();
    r.run(job(
        1,
        "globalThis.leak = 1; var alsoLeak = 2; Math.sneaky = 3",
    ))
    .outcome
    .unwrap();
    let s = r
        .run(job(2, "[typeof leak, typeof alsoLeak, typeof Math.sneaky]"))
        .outcome
        .unwrap();
    assert_eq!(s.result, json!(["undefined", "undefined", "undefined"]));
}

#[test]
fn promise_reactions_run_before_completion() {
    let done = run("Promise.resolve().then(() => goxel.addVoxel(0,0,0,[1,1,1])); 'sync'");
    let s = done.outcome.unwrap();
    assert_eq!(s.result, json!("sync"));
    assert_eq!(s.edit_count, 1);
}

#[test]
fn reactions_left_by_a_failed_script_never_run_in_the_next_one() {
    let mut r = runner();
    for leftover in [
        // A reaction that would edit, and one that would log.
        "Promise.resolve().then(() => goxel.addVoxel(0,0,0,[1,2,3])); throw new Error('x')",
        "Promise.resolve().then(() => console.log('late')); throw new Error('x')",
        // A chain that queues itself forever.
        "function f() { Promise.resolve().then(f) } f(); throw new Error('x')",
        // A reaction that would spin.
        "Promise.resolve().then(() => { while (true) {} }); throw new Error('x')",
    ] {
        let failed = r.run(job(1, leftover)).outcome.unwrap_err();
        assert!(
            matches!(failed.error, ScriptError::Exception { .. }),
            "{leftover}: {:?}",
            failed.error
        );
        assert!(failed.logs.is_empty(), "{leftover}: {:?}", failed.logs);
        let start = Instant::now();
        let next = r
            .run(job(2, "goxel.getVoxel(0,0,0)"))
            .outcome
            .unwrap_or_else(|f| panic!("{leftover}: next script failed: {f:?}"));
        assert_eq!(next.result, json!(null), "{leftover}");
        assert_eq!(next.edit_count, 0, "{leftover}");
        assert!(next.logs.is_empty(), "{leftover}: {:?}", next.logs);
        assert!(start.elapsed() < Duration::from_secs(1), "{leftover}");
    }
}

#[test]
fn add_voxel_reads_every_colour_array_shape() {
    let s = ok(r##"
        const holes = [1, 2, 3]; delete holes[1];
        const tricky = [1, 2, 3]; Object.defineProperty(tricky, 1, { get() { return 9 } });
        const out = [];
        for (const [i, c] of [[1, 2, 3.0], [1, 2, 3, 4.5], holes, tricky, new Array(3).fill(7), [-1, 0, 0]].entries()) {
            try { goxel.addVoxel(i, 0, 0, c); out.push(goxel.getVoxel(i, 0, 0)); }
            catch (e) { out.push(e.name); }
        }
        out
    "##);
    assert_eq!(
        s.result,
        json!([
            [1, 2, 3, 255],
            "RangeError",
            "TypeError",
            [1, 9, 3, 255],
            [7, 7, 7, 255],
            "RangeError"
        ])
    );
}

#[test]
fn a_script_run_again_is_loaded_from_bytecode_and_behaves_the_same() {
    let mut r = runner();
    let source = r#"
        function shape(n) { return n * 2 }
        var seen = typeof leftOver;
        globalThis.leftOver = 1;
        goxel.addVoxel(1, 2, 3, [4, 5, 6]);
        console.log('made', shape(21));
        [shape.toString(), seen, Math.random() < 1]
    "#;
    let first = r.run(job(1, source)).outcome.unwrap();
    assert_eq!(r.cached_scripts(), 1);
    let second = r.run(job(2, source)).outcome.unwrap();
    assert_eq!(r.cached_scripts(), 1, "the second run is a cache hit");
    assert_eq!(first.result, second.result);
    assert_eq!(
        first.result,
        json!(["function shape(n) { return n * 2 }", "undefined", true])
    );
    assert_eq!(first.logs, second.logs);
    assert_eq!(second.edit_count, 1);

    // Errors keep their name, line, column and stack.
    let throwing = "let a = 1;\nlet b = 2;\n  null.boom;\n";
    let errors: Vec<ScriptError> = (0..2)
        .map(|i| r.run(job(10 + i, throwing)).outcome.unwrap_err().error)
        .collect();
    assert_eq!(errors[0], errors[1]);
    match &errors[1] {
        ScriptError::Exception {
            name, line, column, ..
        } => {
            assert_eq!(name, "TypeError");
            assert_eq!((*line, *column), (Some(3), Some(3)));
        }
        other => panic!("{other:?}"),
    }

    // A syntax error is not kept; the same text under another name is another script.
    r.run(job(20, "let = ;")).outcome.unwrap_err();
    assert_eq!(r.cached_scripts(), 2);
    let mut renamed = job(21, source);
    renamed.name = "other.js".into();
    r.run(renamed).outcome.unwrap();
    assert_eq!(r.cached_scripts(), 3);
}

#[test]
fn idle_runtime_is_small() {
    let mut r = runner();
    r.run(job(1, CUBE)).outcome.unwrap();
    let used = r.memory_used_bytes();
    assert!(used < 200 * 1024, "idle runtime uses {used} bytes");
    // A pool worker idles with the next script's context already prepared.
    let prepared = r.prepare::<MemHost>().unwrap();
    let used = r.memory_used_bytes();
    assert!(
        used < 200 * 1024,
        "idle runtime with a prepared context uses {used} bytes"
    );
    let done = r.run_prepared(job(2, CUBE), Some(prepared));
    assert_eq!(done.outcome.unwrap().edit_count, 125);
}

#[test]
fn a_prepared_context_leaks_nothing_between_scripts() {
    let mut r = runner();
    let p = r.prepare::<MemHost>().unwrap();
    r.run_prepared(job(1, "globalThis.leak = 1; console.log('one')"), Some(p))
        .outcome
        .unwrap();
    let p = r.prepare::<MemHost>().unwrap();
    let s = r
        .run_prepared(job(2, "typeof leak"), Some(p))
        .outcome
        .unwrap();
    assert_eq!(s.result, json!("undefined"));
    assert!(s.logs.is_empty(), "logs start empty: {:?}", s.logs);
}

#[allow(dead_code)]
fn assert_job_is_send(j: ScriptJob<MemHost>) -> impl Send {
    j
}
