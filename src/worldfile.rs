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
            replay_dir(&mut world, dir, config, None, None)?;
            Ok(world)
        }
    }
}

/// Reads a directory into the fresh `world`: a **data directory** (its snapshot and the
/// journal segments after it; with `until`, the newest snapshot at or before `until`, from
/// the archive if need be, and the archived segments after it) or a **directory of
/// segments** (the journal directory or an archive, with the archive's snapshots). With
/// `snapshot` (`voxeld replay --snapshot`, already loaded at that seq) no other snapshot is
/// used. Records up to `until` are applied; returns how many.
pub fn replay_dir(
    world: &mut VoxelWorld,
    dir: &Path,
    config: &Config,
    snapshot: Option<u64>,
    until: Option<u64>,
) -> anyhow::Result<u64> {
    let journal_dir = dir.join(&config.journal.dir);
    let archive_dir = dir.join(&config.journal.archive_dir);
    let live_snapshot = dir.join(&config.journal.snapshot.path);
    let single_file = dir.join(&config.journal.path);
    let is_data_dir = journal_dir.is_dir() || live_snapshot.is_file() || single_file.is_file();
    let mut files: Vec<(u64, PathBuf)> = Vec::new();
    let mut snapshots: Vec<(u64, PathBuf)> = Vec::new();
    let add_segments = |from: &Path, files: &mut Vec<(u64, PathBuf)>| -> anyhow::Result<()> {
        for (name, path) in journal::segments::list_segments(from)
            .with_context(|| format!("listing {}", from.display()))?
        {
            if !files.iter().any(|f| f.0 == name) {
                files.push((name, path));
            }
        }
        Ok(())
    };
    if is_data_dir {
        add_segments(&journal_dir, &mut files)?;
        add_segments(&archive_dir, &mut files)?;
        if single_file.is_file() {
            let scan = journal::scan(&journal::FileStorage::open_read_only(&single_file)?)
                .with_context(|| format!("scanning {}", single_file.display()))?;
            files.push((scan.seq_range().map_or(1, |r| *r.start()), single_file));
        }
        if live_snapshot.is_file() {
            let (seq, _) = journal::read_snapshot(&live_snapshot)
                .with_context(|| format!("reading snapshot {}", live_snapshot.display()))?;
            snapshots.push((seq, live_snapshot));
        }
        snapshots.extend(journal::snapshot_file::list_snapshots(&archive_dir)?);
    } else {
        add_segments(dir, &mut files)?;
        snapshots.extend(journal::snapshot_file::list_snapshots(dir)?);
    }
    files.sort_by_key(|f| f.0);
    if files.is_empty() && snapshots.is_empty() {
        bail!(
            "{}: neither a data directory ({} or {}) nor a directory of journal segments",
            dir.display(),
            config.journal.snapshot.path.display(),
            config.journal.dir.display()
        );
    }
    let from = match snapshot {
        Some(seq) => seq,
        None => {
            snapshots.sort_by_key(|s| std::cmp::Reverse(s.0));
            match snapshots
                .iter()
                .find(|(seq, _)| until.is_none_or(|u| *seq <= u))
            {
                Some((_, path)) => persist::load_snapshot(world, path)?,
                None => 0,
            }
        }
    };
    persist::replay_segment_files(world, &files, from, until)
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
