//! The `voxeld` binary: parses the command line and hands over to the library.

use std::io::Write;

use anyhow::Context;
use clap::Parser;
use voxeld::cli::{Cli, Command, JournalAction};
use voxeld::formats::Format;
use voxeld::journal::{self, RepairMode};
use voxeld::persist;
use voxeld::worldfile::{self, WorldSource};

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
                worldfile::write_world(&world, path, None)?;
            }
            Ok(())
        }
        Command::Replay(replay) => {
            let mut world = systems::VoxelWorld::new(voxeld::server::world_settings(
                &voxeld::config::Config::default(),
            ));
            let from = match &replay.snapshot {
                Some(path) => Some(persist::load_snapshot(&mut world, path)?),
                None => None,
            };
            let applied = if replay.journal.is_dir() {
                worldfile::replay_dir(
                    &mut world,
                    &replay.journal,
                    &voxeld::config::Config::default(),
                    from,
                    replay.until_seq,
                )?
            } else {
                worldfile::replay_file(
                    &mut world,
                    &replay.journal,
                    from.unwrap_or(0),
                    replay.until_seq,
                )?
            };
            let s = world.snapshot();
            println!(
                "{}",
                serde_json::json!({
                    "world_hash": s.hash_hex(), "seq": s.seq, "records_applied": applied,
                    "voxel_count": s.voxel_count(),
                })
            );
            if let Some(path) = &replay.out {
                worldfile::write_world(&world, path, None)?;
            }
            Ok(())
        }
        Command::Convert(convert) => {
            let format = |name: &Option<String>| -> anyhow::Result<Option<Format>> {
                name.as_deref()
                    .map(|n| {
                        Format::from_name(n).ok_or_else(|| {
                            anyhow::anyhow!(
                                "unknown format '{n}', expected one of {}",
                                Format::names()
                            )
                        })
                    })
                    .transpose()
            };
            let config = voxeld::config::Config::default();
            let source = WorldSource::of(&convert.input, format(&convert.from)?)?;
            let world = worldfile::read_world(&source, &config)?;
            let report = worldfile::write_world(&world, &convert.output, format(&convert.to)?)?;
            let s = world.snapshot();
            println!(
                "{}",
                serde_json::json!({
                    "output": convert.output.display().to_string(), "voxel_count": report.voxel_count,
                    "layer_count": s.layers().count(), "world_hash": s.hash_hex(),
                    "quantized": report.quantized,
                })
            );
            Ok(())
        }
        Command::Render(args) => {
            let request = args.request().map_err(|e| anyhow::anyhow!(e))?;
            let format = args
                .from
                .as_deref()
                .map(|n| {
                    Format::from_name(n).ok_or_else(|| {
                        anyhow::anyhow!("unknown format '{n}', expected one of {}", Format::names())
                    })
                })
                .transpose()?;
            let config = voxeld::config::Config::default();
            let world = worldfile::read_world(&WorldSource::of(&args.input, format)?, &config)?;
            let png = voxeld::render::render_png(&world.snapshot(), &request)?;
            voxeld::files::write_atomic(&args.output, &png)?;
            println!(
                "{}",
                serde_json::json!({
                    "output": args.output.display().to_string(), "width": request.width,
                    "height": request.height, "bytes": png.len(),
                    "voxel_count": world.snapshot().voxel_count(),
                })
            );
            Ok(())
        }
        Command::Mcp(mcp) => voxeld::mcp::run(&mcp),
        Command::Call(call) => {
            let code = voxeld::call::run(&call)?;
            std::process::exit(code);
        }
        Command::Journal {
            action: JournalAction::Check { path },
        } if path.is_dir() => {
            let report = journal::check::check_dir(&path)
                .with_context(|| format!("checking {}", path.display()))?;
            println!("{report}");
            std::process::exit(report.exit_code());
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
            action: JournalAction::Compact(args),
        } => {
            let report = persist::compact(&args.config()?)?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
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
            if path.is_dir() {
                let report = journal::check::repair_dir(&path, mode)
                    .with_context(|| format!("repairing {}", path.display()))?;
                println!("{report}");
                return Ok(());
            }
            let report = journal::check::repair_path(&path, mode)
                .with_context(|| format!("repairing {}", path.display()))?;
            println!("{report}");
            Ok(())
        }
    }
}
