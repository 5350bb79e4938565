//! Worlds in and out of files for the command line (`convert`, `replay --out`, `batch --out`,
//! `render`): any file voxeld reads, a journal, or a whole data directory (snapshot plus journal)
//! becomes a world; a world is written in any format voxeld writes, atomically.
//!
//! Long work shows a progress bar on a terminal (on standard error) and stays quiet otherwise.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use systems::VoxelWorld;

use crate::config::Config;
use crate::files::write_atomic;
use crate::formats::{self, EncodeReport, Format};
use crate::{journal, persist};

/// A progress bar for `len` steps of `what`, drawn only when standard error is a terminal.
pub fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template(
        "{msg:>12} [{bar:40}] {human_pos}/{human_len} {per_sec} eta {eta}",
    )
    .map(|s| s.progress_chars("=> "));
    if let Ok(style) = style {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar
}

/// Where a world is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorldSource {
    /// A file in a format voxeld reads.
    File(PathBuf, Format),
    /// A journal file, replayed on an empty world.
    Journal(PathBuf),
    /// A data directory: its snapshot (if any) and the journal tail after it.
    DataDir(PathBuf),
}

impl WorldSource {
    /// What `path` holds: a directory, a journal (`.vxj`), or a file of `format` (else its
    /// extension, else its first bytes).
    pub fn of(path: &Path, format: Option<Format>) -> anyhow::Result<WorldSource> {
        if path.is_dir() {
            return Ok(WorldSource::DataDir(path.to_path_buf()));
        }
        if format.is_none() && path.extension().is_some_and(|e| e == "vxj") {
            return Ok(WorldSource::Journal(path.to_path_buf()));
        }
        let format = match format.or_else(|| Format::from_path(path)) {
            Some(f) => f,
            None => sniff(path)?,
        };
        if !format.can_read() {
            bail!(
                "{}: {} files cannot be read (voxeld reads vxs, gox, vox, journals and data directories)",
                path.display(),
                format.name()
            );
        }
        Ok(WorldSource::File(path.to_path_buf(), format))
    }
}

fn sniff(path: &Path) -> anyhow::Result<Format> {
    let mut head = [0u8; 8];
    let n = std::io::Read::read(
        &mut std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?,
        &mut head,
    )?;
    match &head[..n.min(8)] {
        [b'G', b'O', b'X', b' ', ..] => Ok(Format::Gox),
        [b'V', b'O', b'X', b' ', ..] => Ok(Format::Vox),
        h if h == journal::snapshot_file::SNAPSHOT_MAGIC => Ok(Format::Native),
        _ => bail!(
            "{}: cannot tell the format from the extension or the contents; give it ({})",
            path.display(),
            Format::names()
        ),
    }
}

/// Reads a world from `source`, under `config`'s world settings.
pub fn read_world(source: &WorldSource, config: &Config) -> anyhow::Result<VoxelWorld> {
    let settings = crate::server::world_settings(config);
    match source {
        WorldSource::File(path, format) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let doc = formats::decode(*format, &bytes)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            doc.to_world_with(settings)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        }
        WorldSource::Journal(path) => {
            let mut world = VoxelWorld::new(settings);
            replay_file(&mut world, path, 0, None)?;
            Ok(world)
        }
        WorldSource::DataDir(dir) => {
            let mut world = VoxelWorld::new(settings);
            let snapshot = dir.join(&config.journal.snapshot.path);
            let from = persist::load_snapshot(&mut world, &snapshot)?;
            let journal = dir.join(&config.journal.path);
            if journal.exists() {
                replay_file(&mut world, &journal, from, None)?;
            } else if from == 0 {
                bail!(
                    "{}: no {} or {} in this directory",
                    dir.display(),
                    config.journal.snapshot.path.display(),
                    config.journal.path.display()
                );
            }
            Ok(world)
        }
    }
}

/// Replays the journal at `path` onto `world` (records after `after`, up to `until`), with a
/// progress bar; returns the records applied.
pub fn replay_file(
    world: &mut VoxelWorld,
    path: &Path,
    after: u64,
    until: Option<u64>,
) -> anyhow::Result<u64> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let scan = journal::reader::scan_bytes(bytes)
        .with_context(|| format!("scanning {}", path.display()))?;
    if let Some(tail) = scan.torn_tail() {
        eprintln!(
            "note: ignoring a torn tail of {} bytes at offset {}",
            tail.len, tail.offset
        );
    }
    let bar = progress(scan.records().count() as u64, "replaying");
    let applied = persist::replay_records_with_progress(world, &scan, after, until, &mut |n| {
        bar.set_position(n)
    })?;
    bar.finish_and_clear();
    Ok(applied)
}

/// Writes `world` to `path` in `format` (else the extension's), with any sidecar file (an
/// `.obj`'s `.mtl`) beside it; every file is written atomically.
pub fn write_world(
    world: &VoxelWorld,
    path: &Path,
    format: Option<Format>,
) -> anyhow::Result<EncodeReport> {
    let format = format.or_else(|| Format::from_path(path)).ok_or_else(|| {
        anyhow::anyhow!(
            "{}: cannot tell the format from the extension; give it ({})",
            path.display(),
            Format::names()
        )
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let encoded = formats::encode(format, &world.snapshot(), &name)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    for (side, bytes) in &encoded.sidecars {
        write_atomic(&dir.join(side), bytes)?;
    }
    write_atomic(path, &encoded.bytes)?;
    Ok(encoded.report)
}
