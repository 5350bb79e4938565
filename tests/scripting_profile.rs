//! What a script reply says about its run: CPU time, peak heap, API calls and edit count.

mod script_support;
use script_support as support;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use support::job;
use voxeld::scripting::ScriptRunner;

#[test]
fn the_profile_counts_api_calls_cpu_time_and_peak_heap() {
    let mut runner = ScriptRunner::new(Arc::new(AtomicBool::new(false))).unwrap();
    let small = runner.run(job(1, "1+1")).outcome.unwrap();
    assert_eq!(small.profile.api_calls, 0);
    let big = runner
        .run(job(
            2,
            "let a = new Array(200000).fill(0).map((_, i) => i); \
             for (let i = 0; i < 10; i++) goxel.addVoxel(i, 0, 0, [1, 2, 3]); \
             goxel.getVoxel(0, 0, 0); a = null; goxel.getVoxelCount()",
        ))
        .outcome
        .unwrap();
    assert_eq!(big.profile.api_calls, 12);
    assert_eq!(big.edit_count, 10);
    assert!(big.profile.cpu_time > std::time::Duration::ZERO);
    #[cfg(target_os = "linux")]
    {
        let small_peak = small.profile.peak_heap_bytes.unwrap();
        let big_peak = big.profile.peak_heap_bytes.unwrap();
        // 200 000 array slots are at least 1.6 MB, whatever the engine's layout.
        assert!(big_peak > 1_600_000, "{big_peak}");
        assert!(small_peak < 200_000, "{small_peak}");
    }
}
