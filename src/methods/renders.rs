//! `goxel.render_scene` and the render-management methods (`get_render_info`, `list_renders`,
//! `cleanup_render`), in the Goxel daemon's forms. The picture is drawn on a background job
//! from the snapshot taken when the request arrived ([`RenderJob`]), so other clients never
//! wait behind a large render and every render sees one consistent world.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use glam::DVec3;
use serde_json::{Value, json};
use systems::WorldSnapshot;

use super::{Ctx, Job, Reply};
use crate::files::write_atomic;
use crate::render::{Camera, MAX_SIZE, Preset, Projection, RenderRequest, render_png};
use crate::renders::RenderStore;
use crate::rpc::{Params, RawValue, RpcError, codes};

/// Where a finished render goes.
#[derive(Debug)]
pub enum RenderTarget {
    /// A file the client named (`output_path`; echoed as given).
    File {
        /// The resolved file.
        file: PathBuf,
        /// The path as the client gave it.
        path: String,
    },
    /// A managed render (`return_mode: "file_path"`).
    Managed(RenderStore),
    /// Inline, base64-encoded (`return_mode: "base64"`).
    Base64,
}

/// A render of a snapshot, run off the world thread.
#[derive(Debug)]
pub struct RenderJob {
    /// The world as it was when the request arrived.
    pub snapshot: Arc<WorldSnapshot>,
    /// The picture to take.
    pub request: RenderRequest,
    /// Where it goes.
    pub target: RenderTarget,
}

impl RenderJob {
    /// Renders, writes or encodes the PNG; the daemon's reply.
    pub fn run(self) -> Result<Value, RpcError> {
        let fail = |reason: String| RpcError::method(codes::RENDER_SCENE, reason);
        let png = render_png(&self.snapshot, &self.request).map_err(|e| fail(e.to_string()))?;
        let (width, height) = (self.request.width, self.request.height);
        match self.target {
            RenderTarget::File { file, path } => {
                write_atomic(&file, &png).map_err(|e| fail(e.0))?;
                Ok(json!({
                    "success": true, "width": width, "height": height, "format": "png",
                    "output_path": path, "file": file.display().to_string(), "size": png.len(),
                    "seq": self.snapshot.seq,
                }))
            }
            RenderTarget::Managed(store) => {
                let file = store.next_path();
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| fail(format!("{}: {e}", dir.display())))?;
                }
                write_atomic(&file, &png).map_err(|e| fail(e.0))?;
                let entry = store.register(&file, &png, (width, height));
                let mut described = entry.to_json();
                if let Value::Object(m) = &mut described {
                    m.remove("session_id");
                }
                Ok(json!({ "success": true, "file": described, "seq": self.snapshot.seq }))
            }
            RenderTarget::Base64 => Ok(json!({
                "success": true, "width": width, "height": height, "format": "png",
                "size": png.len(), "encoding": "base64",
                "data": base64::engine::general_purpose::STANDARD.encode(&png),
                "seq": self.snapshot.seq,
            })),
        }
    }
}

/// A size parameter: absent is 512; 0, negative or above 8192 is refused.
fn size(params: &Params<'_>, name: &str, position: usize) -> Result<u32, RpcError> {
    match params.integer::<i64>(name, position)? {
        None => Ok(512),
        Some(v) if (1..=MAX_SIZE as i64).contains(&v) => Ok(v as u32),
        Some(v) => Err(RpcError::invalid_params(
            name,
            format!("{v} is outside 1..={MAX_SIZE} pixels"),
        )),
    }
}

/// `options.background_color`: 3 or 4 numbers, clamped to 0..255, alpha 255 by default; a
/// non-integer entry keeps the default's component, as in the daemon.
fn background(raw: Option<&RawValue>) -> Result<[u8; 4], RpcError> {
    let mut c = crate::render::DEFAULT_BACKGROUND;
    let Some(raw) = raw.filter(|r| r.get() != "null") else {
        return Ok(c);
    };
    let values: Vec<Value> = serde_json::from_str(raw.get()).map_err(|_| {
        RpcError::invalid_params("options.background_color", "expected [r,g,b] or [r,g,b,a]")
    })?;
    if !(3..=4).contains(&values.len()) {
        return Err(RpcError::invalid_params(
            "options.background_color",
            "expected [r,g,b] or [r,g,b,a]",
        ));
    }
    c[3] = 255;
    for (slot, v) in c.iter_mut().zip(&values) {
        if let Some(n) = v.as_i64() {
            *slot = n.clamp(0, 255) as u8;
        }
    }
    Ok(c)
}

fn vec3(raw: &RawValue, field: &str) -> Result<DVec3, RpcError> {
    let v: [f64; 3] = serde_json::from_str(raw.get())
        .map_err(|_| RpcError::invalid_params(field, "expected [x,y,z] numbers"))?;
    Ok(DVec3::from_array(v))
}

/// voxeld's explicit `camera: {position, target, up?, projection?, fov?, height?}`.
fn explicit_camera(raw: &RawValue) -> Result<Camera, RpcError> {
    let cam = Params::parse(raw)
        .ok()
        .filter(Params::is_by_name)
        .ok_or_else(|| RpcError::invalid_params("camera", "expected an object"))?;
    let need = |name: &str| {
        cam.named(name)
            .ok_or_else(|| RpcError::invalid_params(&format!("camera.{name}"), "missing"))
    };
    let position = vec3(need("position")?, "camera.position")?;
    let target = vec3(need("target")?, "camera.target")?;
    let up = match cam.named("up") {
        Some(raw) => vec3(raw, "camera.up")?,
        None => DVec3::Z,
    };
    let kind = cam.string("projection", Params::NAMED_ONLY)?;
    let projection = match kind.as_deref().unwrap_or("perspective") {
        "perspective" => Projection::Perspective {
            fov_y_degrees: cam.or("fov", Params::NAMED_ONLY, 45.0)?,
        },
        "orthographic" => Projection::Orthographic {
            height: cam.optional("height", Params::NAMED_ONLY)?,
        },
        other => {
            return Err(RpcError::invalid_params(
                "camera.projection",
                format!("'{other}', expected perspective or orthographic"),
            ));
        }
    };
    Ok(Camera::Explicit {
        position,
        target,
        up,
        projection,
    })
}

/// `goxel.render_scene`: the daemon's array form `[output_path, width, height]`, or its object
/// form `{output_path, width, height, camera_preset, options: {background_color,
/// return_mode}}` (`return_mode` `"file_path"`: a managed render; voxeld also has `"base64"`:
/// the PNG inline), plus voxeld's `camera` (explicit), `outline` and `antialias`.
pub fn render_scene(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let width = size(params, "width", 1)?;
    let height = size(params, "height", 2)?;
    let mut request = RenderRequest::new(width, height);
    let options = match params.named("options").filter(|r| r.get() != "null") {
        Some(raw) => Params::parse(raw)
            .ok()
            .filter(Params::is_by_name)
            .ok_or_else(|| RpcError::invalid_params("options", "expected an object"))?,
        None => Params::absent(),
    };
    request.background = background(options.named("background_color"))?;
    // An unknown preset name gives the default view, as in the daemon.
    if let Some(name) = params.string("camera_preset", Params::NAMED_ONLY)? {
        request.camera = Camera::Preset(Preset::from_name(&name).unwrap_or(Preset::Isometric));
    }
    if let Some(raw) = params.named("camera").filter(|r| r.get() != "null") {
        request.camera = explicit_camera(raw)?;
    }
    request.outline = params.or("outline", Params::NAMED_ONLY, true)?;
    request.antialias = params.or("antialias", Params::NAMED_ONLY, true)?;
    let mode = options.string("return_mode", Params::NAMED_ONLY)?;
    let target = match mode.as_deref() {
        Some("file_path") => RenderTarget::Managed(ctx.files.renders.clone()),
        Some("base64") => RenderTarget::Base64,
        _ => {
            let path = params.string("output_path", 0)?.ok_or_else(|| {
                RpcError::method(
                    codes::RENDER_SCENE,
                    "no output_path, and options.return_mode is not \"file_path\" or \"base64\"",
                )
            })?;
            let file = ctx
                .files
                .resolve(&path)
                .map_err(|e| RpcError::method(codes::RENDER_SCENE, e.0))?;
            RenderTarget::File {
                file,
                path: path.into_owned(),
            }
        }
    };
    Ok(Reply::Background(Job::Render(RenderJob {
        snapshot: ctx.world.snapshot(),
        request,
        target,
    })))
}

/// A registered render named by `path` (`[0]`): its full path, or its file name.
fn render_path(ctx: &Ctx<'_>, params: &Params<'_>) -> Result<PathBuf, RpcError> {
    let path = params
        .string("path", 0)?
        .ok_or_else(|| RpcError::invalid_params("path", "required: a render's path"))?;
    let p = Path::new(&*path);
    Ok(if p.is_absolute() {
        p.to_path_buf()
    } else {
        ctx.files.renders.dir().join(p)
    })
}

/// `goxel.get_render_info`: `path` → `{success, render: {path, size, format, dimensions,
/// checksum, created_at, expires_at, session_id}}`; `-1020` when not registered.
pub fn get_render_info(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let path = render_path(ctx, params)?;
    let entry = ctx.files.renders.info(&path).ok_or_else(|| {
        RpcError::method(
            codes::RENDER_NOT_REGISTERED,
            format!("{} is not a registered render", path.display()),
        )
    })?;
    Ok(Reply::Value(
        json!({ "success": true, "render": entry.to_json() }),
    ))
}

/// `goxel.cleanup_render`: `path` → the file is deleted and forgotten; `-1021` when not
/// registered.
pub fn cleanup_render(ctx: &mut Ctx<'_>, params: &Params<'_>) -> Result<Reply, RpcError> {
    let path = render_path(ctx, params)?;
    if !ctx.files.renders.cleanup(&path) {
        return Err(RpcError::method(
            codes::CLEANUP_RENDER,
            format!("{} is not a registered render", path.display()),
        ));
    }
    Ok(Reply::Value(
        json!({ "success": true, "message": "Render cleaned up", "path": path.display().to_string() }),
    ))
}

/// `goxel.list_renders` → `{success, count, renders: [...], total_size}`.
pub fn list_renders(ctx: &mut Ctx<'_>, _params: &Params<'_>) -> Result<Reply, RpcError> {
    let renders = ctx.files.renders.list();
    let total: u64 = renders.iter().map(|r| r.size).sum();
    let renders: Vec<Value> = renders.iter().map(|r| r.to_json()).collect();
    Ok(Reply::Value(json!({
        "success": true, "count": renders.len(), "renders": renders, "total_size": total,
    })))
}

/// `goxel.get_render_stats` (documented by the daemon, not registered by its code) →
/// `{success, stats: {active_renders, current_cache_size, max_cache_size, cache_usage_percent,
/// total_renders, files_cleaned, cleanup_thread_active}}`.
pub fn get_render_stats(ctx: &mut Ctx<'_>, _params: &Params<'_>) -> Result<Reply, RpcError> {
    let s = ctx.files.renders.stats();
    let usage = if s.max_cache_size == 0 {
        0.0
    } else {
        s.current_cache_size as f64 / s.max_cache_size as f64
    };
    Ok(Reply::Value(json!({
        "success": true,
        "stats": {
            "active_renders": s.active_renders, "current_cache_size": s.current_cache_size,
            "max_cache_size": s.max_cache_size, "cache_usage_percent": usage,
            "total_renders": s.total_renders, "files_cleaned": s.files_cleaned,
            // Expired renders are swept whenever the store is used, not by a thread.
            "cleanup_thread_active": false,
        },
    })))
}
