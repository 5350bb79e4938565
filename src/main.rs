//! The `voxeld` binary: parses the command line and hands over to the library.

use std::io::Write;

use anyhow::{Context, bail};
use clap::Parser;
use voxeld::cli::{Cli, Command, JournalAction};
use voxeld::journal::{self, RepairMode};
use voxeld::persist;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VOXELD_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().into_command() {
        Command::Serve(serve) => voxeld::server::run(serve.config()?),
        Command::Batch(batch) => {
            let mut config = batch.config()?;
            if let Some(workers) = batch.workers {
                config.scripts.workers = workers;
            }
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let world = voxeld::batch::run(&batch.file, &config, &mut out)?;
            out.flush()?;
            if let Some(path) = &batch.out {
                write_world(&world, path)?;
            }
            Ok(())
        }
        Command::Replay(replay) => {
            let mut world = systems::VoxelWorld::new(voxeld::server::world_settings(
                &voxeld::config::Config::default(),
            ));
            let from = match &replay.snapshot {
                Some(path) => persist::load_snapshot(&mut world, path)?,
                None => 0,
            };
            let bytes = std::fs::read(&replay.journal)
                .with_context(|| format!("reading {}", replay.journal.display()))?;
            let scan = journal::reader::scan_bytes(bytes)
                .with_context(|| format!("scanning {}", replay.journal.display()))?;
            if let Some(tail) = scan.torn_tail() {
                eprintln!(
                    "note: ignoring a torn tail of {} bytes at offset {}",
                    tail.len, tail.offset
                );
            }
            let applied = persist::replay_records(&mut world, &scan, from, replay.until_seq)?;
            let s = world.snapshot();
            println!(
                "{}",
                serde_json::json!({
                    "world_hash": s.hash_hex(), "seq": s.seq, "records_applied": applied,
                    "voxel_count": s.voxel_count(),
                })
            );
            if let Some(path) = &replay.out {
                write_world(&world, path)?;
            }
            Ok(())
        }
        Command::Journal {
            action: JournalAction::Check { path },
        } => {
            let report = journal::check::check_path(&path)
                .with_context(|| format!("checking {}", path.display()))?;
            println!("{report}");
            std::process::exit(report.exit_code());
        }
        Command::Journal {
            action:
                JournalAction::Repair {
                    path,
                    truncate_corrupt,
                },
        } => {
            let mode = if truncate_corrupt {
                RepairMode::TruncateCorruption
            } else {
                RepairMode::TornTailOnly
            };
            let report = journal::check::repair_path(&path, mode)
                .with_context(|| format!("repairing {}", path.display()))?;
            println!("{report}");
            Ok(())
        }
    }
}

/// Writes the world as a voxeld snapshot file (`.vxs`).
fn write_world(world: &systems::VoxelWorld, path: &std::path::Path) -> anyhow::Result<()> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("vxs") => persist::save_snapshot(&world.snapshot(), path),
        other => bail!(
            "cannot write {}: only .vxs (voxeld snapshot) is supported, not {other:?}",
            path.display()
        ),
    }
}
