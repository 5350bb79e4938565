//! Whole-project methods: `goxel.load_project` (any format voxeld reads, applied as one
//! journaled, undoable change), `goxel.save_project` (Goxel's `.gox`) and `goxel.export_model`
//! (any format voxeld writes). Saving and exporting encode an immutable snapshot on a
//! background thread ([`WriteJob`]), so other clients never wait behind a large file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use systems::WorldSnapshot;

use super::{Ctx, Job, Reply};
use crate::files::write_atomic;
use crate::formats::{self, Format};
use crate::rpc::{Params, RpcError, codes};

/// A file to write from a snapshot, off the world thread.
#[derive(Debug)]
pub struct WriteJob {
    /// The world as it was when the request arrived.
    pub snapshot: Arc<WorldSnapshot>,
    /// The format to write.
    pub format: Format,
    /// The resolved file.
    pub file: PathBuf,
    /// The path as the client gave it (echoed in the reply).
    pub path: String,
    /// The daemon code of a failure (-1003 save, -1007 export).
    pub code: i32,
}

impl WriteJob {
    /// Encodes and writes the file (sidecars first, each atomically); the reply or the error.
    pub fn run(self) -> Result<Value, RpcError> {
        let fail = |reason: String| RpcError::method(self.code, format!("{}: {reason}", self.path));
        let file_name = self
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let encoded =
            formats::encode(self.format, &self.snapshot, &file_name).map_err(|e| fail(e.0))?;
        let dir = self.file.parent().unwrap_or(Path::new("."));
        let mut files = Vec::new();
        for (name, bytes) in &encoded.sidecars {
            let side = dir.join(name);
            write_atomic(&side, bytes).map_err(|e| fail(e.0))?;
            files.push(side.display().to_string());
        }
        write_atomic(&self.file, &encoded.bytes).map_err(|e| fail(e.0))?;
        let r = &encoded.report;
        let mut reply = json!({
            "success": true, "path": self.path, "format": self.format.name(),
            "file": self.file.display().to_string(), "bytes": encoded.bytes.len(),
            "voxel_count": r.voxel_count, "seq": self.snapshot.seq,
        });
        if !files.is_empty() {
            reply["sidecars"] = json!(files);
        }
        let extra = [
            ("color_count", Some(r.color_count).filter(|&c| c > 0)),
            ("palette_size", r.palette_size),
            ("model_count", r.model_count),
            ("face_count", r.face_count),
        ];
        for (name, value) in extra {
            if let Some(v) = value {
                reply[name] = json!(v);
            }
        }
        if r.palette_size.is_some() {
            reply["quantized"] = json!(r.quantized);
            reply["max_color_error"] = json!(r.max_color_error);
        }
        Ok(reply)
    }
}

/// The format of `path`: the `format` parameter, else the file's magic (when reading: the
/// daemon's `save_project` writes `.gox` whatever the extension, and its `load_project` reads
/// `.gox` whatever the extension, so `x.vox` may hold a `.gox`), else the extension.
fn format_of(
    params: &Params<'_>,
    position: usize,
    path: &str,
    sniff: Option<&[u8]>,
    code: i32,
) -> Result<Format, RpcError> {
    if let Some(name) = params.string("format", position)? {
        return Format::from_name(&name).ok_or_else(|| {
            RpcError::method(
                code,
                format!(
                    "unknown format '{name}', expected one of {}",
                    Format::names()
                ),
            )
        });
    }
    if let Some(f) = sniff.and_then(sniff_format) {
        return Ok(f);
    }
    if let Some(f) = Format::from_path(Path::new(path)) {
        return Ok(f);
    }
    Err(RpcError::method(
        code,
        format!(
            "{path}: cannot tell the format from the extension; give format ({})",
            Format::names()
        ),
    ))
}

/// The format a file's first bytes announce.
fn sniff_format(bytes: &[u8]) -> Option<Format> {
    match bytes.get(..4)? {
        b"GOX " => Some(Format::Gox),
        b"VOX " => Some(Format::Vox),
        _ if bytes.starts_with(&crate::journal::snapshot_file::SNAPSHOT_MAGIC) => {
            Some(Format::Native)
        }
        _ => None,
    }
}

fn required_path(params: &Params<'_>) -> Result<String, RpcError> {
    params
        .string("path", 0)?
        .map(|s| s.into_owned())
        .ok_or_else(|| RpcError::invalid_params("path", "required: the file to use"))
}

/// `goxel.load_project`: `path` (`[0]`), optional `format` (`[1]`; else the file's magic or the
/// extension). The file's layers replace the world as one change: journaled, undoable, and
/// all or nothing (a file that fails to read leaves the world untouched).
pub fn load_project(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let path = required_path(params)?;
    let fail = |reason: String| RpcError::method(codes::LOAD_PROJECT, reason);
    let file = ctx.files.resolve(&path).map_err(|e| fail(e.0))?;
    let bytes = ctx.files.read(&file).map_err(|e| fail(e.0))?;
    let format = format_of(params, 1, &path, Some(&bytes), codes::LOAD_PROJECT)?;
    let doc = formats::decode(format, &bytes).map_err(|e| fail(format!("{path}: {e}")))?;
    let buffer = doc.replace_buffer(&ctx.world.snapshot());
    let outcome = ctx.edit(buffer, "path")?;
    let s = ctx.world.snapshot();
    Ok(Reply::Value(json!({
        "success": true, "path": path, "format": format.name(),
        "layer_count": s.layers().count(), "voxel_count": s.voxel_count(),
        "active_layer": s.active_layer.0, "seq": outcome.seq,
    })))
}

/// `goxel.save_project`: `path` (`[0]`), written in Goxel's `.gox` format whatever the
/// extension, as the daemon does.
pub fn save_project(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let path = required_path(params)?;
    write_job(ctx, path, Format::Gox, codes::SAVE_PROJECT)
}

/// `goxel.export_model`: `path` (`[0]`), `format` (`[1]`; else from the extension): gox, vox,
/// obj (+ mtl), ply or vxs.
pub fn export_model(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let path = required_path(params)?;
    let format = format_of(params, 1, &path, None, codes::EXPORT_MODEL)?;
    write_job(ctx, path, format, codes::EXPORT_MODEL)
}

fn write_job(
    ctx: &mut Ctx<'_>,
    path: String,
    format: Format,
    code: i32,
) -> Result<Reply, RpcError> {
    let file = ctx
        .files
        .resolve(&path)
        .map_err(|e| RpcError::method(code, e.0))?;
    Ok(Reply::Background(Job::Write(WriteJob {
        snapshot: ctx.world.snapshot(),
        format,
        file,
        path,
        code,
    })))
}
