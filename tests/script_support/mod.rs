//! In-memory twin of the world for script tests and benches: a hash map of voxels with edit
//! counting and an optional edit limit.
#![allow(dead_code)]

use std::time::Duration;

use rustc_hash::FxHashMap;
use voxeld::scripting::{HostError, Rgba, ScriptHost, ScriptJob, ScriptLimits};

/// A world view backed by a hash map.
#[derive(Debug, Default, Clone)]
pub struct MemHost {
    pub voxels: FxHashMap<[i32; 3], Rgba>,
    pub edits: u64,
    /// Edits beyond this are refused with `HostError::EditLimit`.
    pub limit: Option<u64>,
}

impl MemHost {
    pub fn with_limit(limit: u64) -> Self {
        Self {
            limit: Some(limit),
            ..Self::default()
        }
    }

    fn count(&mut self, n: u64) -> Result<(), HostError> {
        if let Some(limit) = self.limit
            && self.edits + n > limit
        {
            return Err(HostError::EditLimit { limit });
        }
        self.edits += n;
        Ok(())
    }

    fn set(&mut self, p: [i32; 3], c: Rgba) {
        if c[3] == 0 {
            self.voxels.remove(&p);
        } else {
            self.voxels.insert(p, c);
        }
    }
}

impl ScriptHost for MemHost {
    fn get_voxel(&self, p: [i32; 3]) -> Option<Rgba> {
        self.voxels.get(&p).copied()
    }
    fn add_voxel(&mut self, p: [i32; 3], c: Rgba) -> Result<(), HostError> {
        self.count(1)?;
        self.set(p, c);
        Ok(())
    }
    fn remove_voxel(&mut self, p: [i32; 3]) -> Result<(), HostError> {
        self.count(1)?;
        self.voxels.remove(&p);
        Ok(())
    }
    fn paint_voxel(&mut self, p: [i32; 3], c: Rgba) -> Result<bool, HostError> {
        if !self.voxels.contains_key(&p) {
            return Ok(false);
        }
        self.count(1)?;
        self.set(p, c);
        Ok(true)
    }
    fn flood_fill(&mut self, p: [i32; 3], c: Rgba) -> Result<u64, HostError> {
        let Some(from) = self.get_voxel(p) else {
            return Ok(0);
        };
        if from == c {
            return Ok(0);
        }
        let mut stack = vec![p];
        let mut n = 0;
        while let Some(q) = stack.pop() {
            if self.get_voxel(q) != Some(from) {
                continue;
            }
            self.count(1)?;
            self.set(q, c);
            n += 1;
            for d in [
                [1, 0, 0],
                [-1, 0, 0],
                [0, 1, 0],
                [0, -1, 0],
                [0, 0, 1],
                [0, 0, -1],
            ] {
                stack.push([q[0] + d[0], q[1] + d[1], q[2] + d[2]]);
            }
        }
        Ok(n)
    }
    fn fill_box(&mut self, min: [i32; 3], max: [i32; 3], c: Rgba) -> Result<u64, HostError> {
        let n = (0..3)
            .map(|i| u64::from((max[i] - min[i] + 1) as u32))
            .product();
        self.count(n)?;
        for x in min[0]..=max[0] {
            for y in min[1]..=max[1] {
                for z in min[2]..=max[2] {
                    self.set([x, y, z], c);
                }
            }
        }
        Ok(n)
    }
    fn fill_sphere(&mut self, center: [i32; 3], r: i32, c: Rgba) -> Result<u64, HostError> {
        let mut n = 0;
        for x in -r..=r {
            for y in -r..=r {
                for z in -r..=r {
                    if x * x + y * y + z * z <= r * r {
                        self.count(1)?;
                        self.set([center[0] + x, center[1] + y, center[2] + z], c);
                        n += 1;
                    }
                }
            }
        }
        Ok(n)
    }
    fn bounding_box(&self) -> Option<([i32; 3], [i32; 3])> {
        let mut it = self.voxels.keys();
        let first = *it.next()?;
        Some(it.fold((first, first), |(mut lo, mut hi), p| {
            for i in 0..3 {
                lo[i] = lo[i].min(p[i]);
                hi[i] = hi[i].max(p[i]);
            }
            (lo, hi)
        }))
    }
    fn voxel_count(&self) -> u64 {
        self.voxels.len() as u64
    }
    fn active_layer(&self) -> u32 {
        0
    }
    fn edit_count(&self) -> u64 {
        self.edits
    }
}

/// A job with default limits and a generous timeout.
pub fn job(ticket: u64, source: &str) -> ScriptJob<MemHost> {
    ScriptJob {
        ticket,
        source: source.into(),
        name: "test.js".into(),
        timeout: Duration::from_secs(10),
        priority: 0,
        seed: Some(42),
        args: None,
        host: MemHost::default(),
        limits: ScriptLimits::default(),
    }
}
