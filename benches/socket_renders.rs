//! Renders off the world thread, measured over the real socket: sequential `goxel.get_voxel`
//! from one client, alone and while another client renders 2048×2048 pictures of a 1 M-voxel
//! model without pause [target: ≥ 80 % of the idle rate].
//!
//! Run with `cargo bench --bench socket_renders` (an in-process server on a temporary
//! directory). Prints the median of 5 rounds of each, and their ratio.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[path = "../tests/support/lean_client.rs"]
mod socket_client;

use socket_client::Client;

const ROUNDS: usize = 5;
const ROUND: Duration = Duration::from_secs(2);

/// Sequential `get_voxel` per second over one round.
fn read_rate(c: &mut Client) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < ROUND {
        let x = n % 100;
        c.call(&format!(
            r#"{{"jsonrpc":"2.0","method":"goxel.get_voxel","params":[{x},{x},{x}],"id":1}}"#
        ));
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut config = voxeld::config::Config::default();
    config.socket.path = dir.path().join("bench.sock");
    config.data_dir = dir.path().join("data");
    config.journal.enabled = false;
    let server = voxeld::server::spawn(config).expect("start the server");
    let mut reader = Client::connect(&server.socket);
    // A 1 M-voxel model: a 100³ sphere-and-cube mix in several colours.
    reader.call(r#"{"jsonrpc":"2.0","method":"goxel.procedural_shape","params":{"shape_type":"cube","size_x":100,"size_y":100,"size_z":100,"r":180,"g":140,"b":90},"id":1}"#);
    reader.call(r#"{"jsonrpc":"2.0","method":"goxel.procedural_shape","params":{"shape_type":"sphere","size_x":120,"size_y":120,"size_z":60,"center_z":50,"r":60,"g":160,"b":70},"id":1}"#);

    let idle: Vec<f64> = (0..ROUNDS).map(|_| read_rate(&mut reader)).collect();
    let stop = AtomicBool::new(false);
    let mut renders = 0u64;
    let mut busy = Vec::new();
    std::thread::scope(|s| {
        let renderer = s.spawn(|| {
            let mut c = Client::connect(&server.socket);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                c.call(r#"{"jsonrpc":"2.0","method":"goxel.render_scene","params":{"width":2048,"height":2048,"options":{"return_mode":"base64"}},"id":2}"#);
                n += 1;
            }
            n
        });
        std::thread::sleep(Duration::from_millis(200));
        busy = (0..ROUNDS).map(|_| read_rate(&mut reader)).collect();
        stop.store(true, Ordering::Relaxed);
        renders = renderer.join().expect("renderer");
    });
    let (i, b) = (median(idle.clone()), median(busy.clone()));
    let show = |v: &[f64]| {
        v.iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "get_voxel idle            {i:>8.0}/s  rounds {}",
        show(&idle)
    );
    println!(
        "get_voxel during renders  {b:>8.0}/s  rounds {}",
        show(&busy)
    );
    println!(
        "ratio {:.2} ({} renders of 2048x2048 ran meanwhile)",
        b / i,
        renders
    );
    server.stop().expect("stop the server");
}
