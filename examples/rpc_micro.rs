//! A criterion-free micro check of the per-request protocol cost: frame, parse, read params
//! (position and colour) and write the reply, for pipelined `goxel.add_voxel` lines.
//!
//! Run with `cargo run --release --example rpc_micro`; the target is ~1–2 µs per request.

use std::time::Instant;

use voxeld::rpc::{Frame, Incoming, LineFramer, parse_frame, write_error, write_result};

fn main() {
    let count = 200_000;
    let mut input = Vec::new();
    for i in 0..count {
        input.extend_from_slice(
            format!(
                "{{\"jsonrpc\":\"2.0\",\"method\":\"goxel.add_voxel\",\"params\":{{\"x\":{},\"y\":{},\"z\":3,\"color\":[255,0,0,255]}},\"id\":{i}}}\n",
                i % 64,
                i / 64 % 64
            )
            .as_bytes(),
        );
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let mut framer = LineFramer::new(16 << 20);
        let mut out = Vec::with_capacity(64 << 20);
        let mut checksum = 0i64;
        for chunk in input.chunks(64 * 1024) {
            framer.push(chunk);
            while let Some(Frame::Line(line)) = framer.next_frame() {
                for incoming in parse_frame(line) {
                    if let Incoming::Request(request) = incoming {
                        let id = request.id.unwrap_or(voxeld::rpc::RawValue::NULL);
                        let reply = request.params.position().and_then(|p| {
                            let c = request.params.required_color("color", 3)?;
                            Ok((p, c))
                        });
                        match reply {
                            Ok((p, c)) => {
                                checksum += i64::from(p[0]) + i64::from(c[0]);
                                write_result(&mut out, id, &true);
                            }
                            Err(e) => write_error(&mut out, id, &e),
                        }
                    }
                }
            }
        }
        let per_request = start.elapsed().as_secs_f64() / f64::from(count);
        best = best.min(per_request);
        assert!(checksum > 0 && out.len() > count as usize);
    }
    println!(
        "{:.0} ns per request ({:.0} k req/s)",
        best * 1e9,
        1e-3 / best
    );
}
