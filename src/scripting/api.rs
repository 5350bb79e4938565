//! The JavaScript surface a script sees: the `goxel` object, `console` and a seeded
//! `Math.random`.
//!
//! Everything is installed on a fresh context per script and closes over one [`ScriptState`],
//! which owns the host for the duration of the run. Argument conversion lives here too; the hot
//! path, `goxel.addVoxel`, is a raw C function in [`native`] that falls back on these checked
//! conversions for anything but a plain `[r, g, b(, a)]` of small integers.
//!
//! Limits that must not be swallowed by a script's `try`/`catch` (edit and log limits) are
//! recorded in [`ScriptState::fatal`] before the exception is thrown; the worker checks that flag
//! after evaluation, and every later API call throws again.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use rquickjs::function::{Opt, Rest};
use rquickjs::object::{Accessor, Property};
use rquickjs::{Array, Ctx, Exception, Function, Object, Value};

use super::host::{HostError, Rgba, ScriptHost, ShapeKind};

use super::job::{LogLevel, LogLine, ScriptError, ScriptLimits};
use super::native;

/// Most voxels one `goxel.getRegion` reads (4 bytes each in the typed array).
const MAX_REGION_VOXELS: i64 = 1 << 22;

/// Longest layer name `goxel.createLayer` takes, in UTF-8 bytes (Goxel's own limit is 255).
const MAX_LAYER_NAME_BYTES: usize = 255;

/// The name `goxel.createLayer` gives without one, as `goxel.create_layer` does.
const DEFAULT_LAYER_NAME: &str = "New Layer";

/// Per-script state shared by every installed function.
pub(crate) struct ScriptState<H> {
    /// The world view; `None` once the worker has taken it back.
    pub host: RefCell<Option<H>>,
    /// Captured console output.
    pub logs: RefCell<Vec<LogLine>>,
    /// Bytes of console output captured so far, checked against the log limit.
    pub log_bytes: Cell<usize>,
    /// Limits of this run.
    pub limits: Cell<ScriptLimits>,
    /// A limit the script is not allowed to catch; set before throwing.
    pub fatal: RefCell<Option<ScriptError>>,
    /// State of the splitmix64 generator behind `Math.random`.
    pub rng: Cell<u64>,
    /// Calls of `goxel.*` functions so far.
    pub api_calls: Cell<u64>,
    /// Set when the script read a clock or the collector's state (see
    /// [`ScriptSuccess::read_outside`](super::ScriptSuccess::read_outside)).
    pub read_outside: Cell<bool>,
}

impl<H: ScriptHost> ScriptState<H> {
    pub(crate) fn new(host: H, limits: ScriptLimits, seed: u64) -> Self {
        let state = Self::idle();
        state.start(host, limits, seed);
        state
    }

    /// State for a context prepared before its job arrives: no host yet.
    pub(crate) fn idle() -> Self {
        Self {
            host: RefCell::new(None),
            logs: RefCell::new(Vec::new()),
            log_bytes: Cell::new(0),
            limits: Cell::new(ScriptLimits::default()),
            fatal: RefCell::new(None),
            rng: Cell::new(0),
            api_calls: Cell::new(0),
            read_outside: Cell::new(false),
        }
    }

    /// Hands a job's host, limits and seed to this (unused) state.
    pub(crate) fn start(&self, host: H, limits: ScriptLimits, seed: u64) {
        *self.host.borrow_mut() = Some(host);
        self.logs.borrow_mut().clear();
        self.log_bytes.set(0);
        self.limits.set(limits);
        *self.fatal.borrow_mut() = None;
        self.rng.set(seed);
        self.api_calls.set(0);
        self.read_outside.set(false);
    }

    /// Runs `op` on the host, turning host refusals into JavaScript exceptions and enforcing
    /// the edit limit afterwards.
    pub(crate) fn edit<'js, T>(
        &self,
        ctx: &Ctx<'js>,
        op: impl FnOnce(&mut H) -> Result<T, HostError>,
    ) -> rquickjs::Result<T> {
        self.api_calls.set(self.api_calls.get() + 1);
        if self.fatal.borrow().is_some() {
            return Err(self.rethrow(ctx));
        }
        let mut slot = self.host.borrow_mut();
        let Some(host) = slot.as_mut() else {
            return Err(finished(ctx));
        };
        let result = op(host);
        let over_limit = host.edit_count() > self.limits.get().max_edits;
        drop(slot);
        match result {
            Ok(_) if over_limit => Err(self.fail(
                ctx,
                ScriptError::EditLimit {
                    limit: self.limits.get().max_edits,
                },
            )),
            Ok(value) => Ok(value),
            Err(HostError::EditLimit { limit }) => {
                Err(self.fail(ctx, ScriptError::EditLimit { limit }))
            }
            Err(e @ HostError::OutOfBounds { .. }) => {
                Err(Exception::throw_range(ctx, &e.to_string()))
            }
            // Every API function that takes a layer calls its argument `id`.
            Err(e @ HostError::UnknownLayer { .. }) => {
                Err(Exception::throw_range(ctx, &format!("id: {e}")))
            }
            Err(HostError::Other(message)) => Err(Exception::throw_internal(ctx, &message)),
        }
    }

    pub(crate) fn read<T>(&self, ctx: &Ctx<'_>, op: impl FnOnce(&H) -> T) -> rquickjs::Result<T> {
        self.api_calls.set(self.api_calls.get() + 1);
        match self.host.borrow().as_ref() {
            Some(host) => Ok(op(host)),
            None => Err(finished(ctx)),
        }
    }

    /// Records an uncatchable failure and throws it.
    fn fail(&self, ctx: &Ctx<'_>, error: ScriptError) -> rquickjs::Error {
        let message = error.to_string();
        *self.fatal.borrow_mut() = Some(error);
        Exception::throw_internal(ctx, &message)
    }

    fn rethrow(&self, ctx: &Ctx<'_>) -> rquickjs::Error {
        let message = self
            .fatal
            .borrow()
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        Exception::throw_internal(ctx, &message)
    }

    fn log(&self, ctx: &Ctx<'_>, level: LogLevel, message: String) -> rquickjs::Result<()> {
        if self.fatal.borrow().is_some() {
            return Err(self.rethrow(ctx));
        }
        let total = self.log_bytes.get() + message.len();
        if total > self.limits.get().max_log_bytes {
            return Err(self.fail(
                ctx,
                ScriptError::LogLimit {
                    limit: self.limits.get().max_log_bytes,
                },
            ));
        }
        self.log_bytes.set(total);
        self.logs.borrow_mut().push(LogLine { level, message });
        Ok(())
    }

    fn next_random(&self) -> f64 {
        let (next, out) = splitmix64(self.rng.get());
        self.rng.set(next);
        (out >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// What an API call gets once its script is over: a promise reaction or finaliser left behind
/// by a finished script runs with no world to touch.
fn finished(ctx: &Ctx<'_>) -> rquickjs::Error {
    Exception::throw_internal(ctx, "the script this call belongs to has finished")
}

/// One step of splitmix64: returns the new state and the output.
fn splitmix64(state: u64) -> (u64, u64) {
    let next = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = next;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (next, z ^ (z >> 31))
}

/// FNV-1a over the script text: a seed that is the same on every machine and every run.
pub(crate) fn seed_from_source(source: &str) -> u64 {
    source.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Globals whose reading makes a run's result depend on more than its inputs.
const OUTSIDE_GLOBALS: [&str; 3] = ["performance", "WeakRef", "FinalizationRegistry"];

/// Where the originals of [`OUTSIDE_GLOBALS`] are kept.
fn outside_key<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<rquickjs::Symbol<'js>> {
    rquickjs::Symbol::new_global(ctx.clone(), "voxeld.outside")
}

/// Installs `goxel`, `console` and `Math.random` into `ctx` and removes what a sandbox must not
/// offer.
pub(crate) fn install<'js, H: ScriptHost>(
    ctx: &Ctx<'js>,
    state: &Rc<ScriptState<H>>,
) -> rquickjs::Result<()> {
    let globals = ctx.globals();
    globals.set("goxel", goxel_object(ctx, state)?)?;
    globals.set("console", console_object(ctx, state)?)?;

    let math: Object<'js> = globals.get("Math")?;
    let s = state.clone();
    math.set(
        "random",
        Function::new(ctx.clone(), move || s.next_random())?.with_name("random")?,
    )?;

    // What can make two runs of the same script on the same world differ: a clock, or what
    // the collector has freed. Reading one marks the run (it is then never cached). The
    // originals wait in a holder on the global object, where the collector sees them (a
    // closure must not hold a JS value: it would keep its context alive).
    let holder = Object::new(ctx.clone())?;
    for name in OUTSIDE_GLOBALS {
        let original: Value<'js> = globals.get(name)?;
        if original.is_undefined() {
            continue;
        }
        holder.set(name, original)?;
        let s = state.clone();
        globals.prop(
            name,
            Accessor::new(
                move |ctx: Ctx<'js>| -> rquickjs::Result<Value<'js>> {
                    s.read_outside.set(true);
                    let holder: Object<'js> = ctx.globals().get(outside_key(&ctx)?)?;
                    holder.get(name)
                },
                move |ctx: Ctx<'js>, v: Value<'js>| {
                    ctx.globals()
                        .prop(name, Property::from(v).writable().configurable())
                },
            )
            .configurable(),
        )?;
    }
    globals.prop(outside_key(ctx)?, Property::from(holder))?;

    Ok(())
}

fn goxel_object<'js, H: ScriptHost>(
    ctx: &Ctx<'js>,
    state: &Rc<ScriptState<H>>,
) -> rquickjs::Result<Object<'js>> {
    let goxel = Object::new(ctx.clone())?;

    // The hot path, a raw C function: see `native` for why and what it costs.
    goxel.set("addVoxel", native::add_voxel_function(ctx, state)?)?;

    let s = state.clone();
    goxel.set(
        "removeVoxel",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, x: Value<'js>, y: Value<'js>, z: Value<'js>| {
                let p = position(&ctx, &x, &y, &z)?;
                s.edit(&ctx, |h| h.remove_voxel(p))
            },
        )?
        .with_name("removeVoxel")?,
    )?;

    let s = state.clone();
    goxel.set(
        "getVoxel",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>,
                  x: Value<'js>,
                  y: Value<'js>,
                  z: Value<'js>|
                  -> rquickjs::Result<Value<'js>> {
                let p = position(&ctx, &x, &y, &z)?;
                match s.read(&ctx, |h| h.get_voxel(p))? {
                    Some(c) => Ok(rgba_array(&ctx, c)?.into_value()),
                    None => Ok(Value::new_null(ctx.clone())),
                }
            },
        )?
        .with_name("getVoxel")?,
    )?;

    let s = state.clone();
    goxel.set(
        "paintVoxels",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, positions: Value<'js>, c: Value<'js>| {
                let c = color(&ctx, &c, "color")?;
                let Some(list) = positions.as_array() else {
                    return Err(Exception::throw_type(
                        &ctx,
                        "positions must be an array of [x,y,z] or {x,y,z}",
                    ));
                };
                let mut painted = 0u64;
                for i in 0..list.len() {
                    let p = position_item(&ctx, &list.get::<Value<'js>>(i)?, i)?;
                    if s.edit(&ctx, |h| h.paint_voxel(p, c))? {
                        painted += 1;
                    }
                }
                Ok(painted as f64)
            },
        )?
        .with_name("paintVoxels")?,
    )?;

    let s = state.clone();
    goxel.set(
        "floodFill",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>,
                  x: Value<'js>,
                  y: Value<'js>,
                  z: Value<'js>,
                  c: Value<'js>|
                  -> rquickjs::Result<f64> {
                let p = position(&ctx, &x, &y, &z)?;
                let c = color(&ctx, &c, "color")?;
                Ok(s.edit(&ctx, |h| h.flood_fill(p, c))? as f64)
            },
        )?
        .with_name("floodFill")?,
    )?;

    let s = state.clone();
    let fill_box = Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| {
        if args.0.len() < 7 {
            return Err(Exception::throw_type(
                &ctx,
                "fillBox expects (x1, y1, z1, x2, y2, z2, color)",
            ));
        }
        let a = &args.0;
        let p1 = position(&ctx, &a[0], &a[1], &a[2])?;
        let p2 = position(&ctx, &a[3], &a[4], &a[5])?;
        let c = color(&ctx, &a[6], "color")?;
        let min = [p1[0].min(p2[0]), p1[1].min(p2[1]), p1[2].min(p2[2])];
        let max = [p1[0].max(p2[0]), p1[1].max(p2[1]), p1[2].max(p2[2])];
        Ok(s.edit(&ctx, |h| h.fill_box(min, max, c))? as f64)
    })?
    .with_name("fillBox")?;
    goxel.set("fillBox", fill_box.clone())?;
    goxel.set("box", fill_box)?;

    let s = state.clone();
    goxel.set(
        "fillSphere",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| {
            if args.0.len() < 5 {
                return Err(Exception::throw_type(
                    &ctx,
                    "fillSphere expects (cx, cy, cz, radius, color)",
                ));
            }
            let a = &args.0;
            let center = position(&ctx, &a[0], &a[1], &a[2])?;
            let radius = integer(&ctx, &a[3], "radius")?;
            if radius < 0 {
                return Err(Exception::throw_range(&ctx, "radius must not be negative"));
            }
            let c = color(&ctx, &a[4], "color")?;
            Ok(s.edit(&ctx, |h| h.fill_sphere(center, radius, c))? as f64)
        })?
        .with_name("fillSphere")?,
    )?;

    let s = state.clone();
    goxel.set(
        "getBoundingBox",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>| -> rquickjs::Result<Value<'js>> {
                match s.read(&ctx, |h| h.bounding_box())? {
                    None => Ok(Value::new_null(ctx.clone())),
                    Some((min, max)) => {
                        let o = Object::new(ctx.clone())?;
                        o.set("min", min.to_vec())?;
                        o.set("max", max.to_vec())?;
                        Ok(o.into_value())
                    }
                }
            },
        )?
        .with_name("getBoundingBox")?,
    )?;

    let s = state.clone();
    goxel.set(
        "getVoxelCount",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>| {
            s.read(&ctx, |h| h.voxel_count() as f64)
        })?
        .with_name("getVoxelCount")?,
    )?;

    let s = state.clone();
    goxel.set(
        "getActiveLayer",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>| {
            s.read(&ctx, |h| h.active_layer())
        })?
        .with_name("getActiveLayer")?,
    )?;

    let s = state.clone();
    goxel.set(
        "proceduralShape",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> rquickjs::Result<f64> {
                let a = &args.0;
                if a.len() < 4 {
                    return Err(Exception::throw_type(
                        &ctx,
                        "proceduralShape expects (type, size, center, color)",
                    ));
                }
                let name = a[0]
                    .as_string()
                    .map(|s| s.to_string())
                    .transpose()?
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let shape = ShapeKind::from_name(&name).ok_or_else(|| {
                    Exception::throw_range(
                        &ctx,
                        &format!(
                            "unknown shape type '{name}', expected cube, sphere, cylinder, cone or pyramid"
                        ),
                    )
                })?;
                let size = shape_size(&ctx, &a[1])?;
                let center = if a[2].is_undefined() || a[2].is_null() {
                    [0, 0, 0]
                } else {
                    position_item(&ctx, &a[2], 0).map_err(|_| {
                        Exception::throw_type(&ctx, "center must be [x,y,z] or {x,y,z}")
                    })?
                };
                let c = color(&ctx, &a[3], "color")?;
                // As `goxel.procedural_shape`: the box of `size` whose centre is `center`.
                let mut min = [0i32; 3];
                let mut max = [0i32; 3];
                for i in 0..3 {
                    let lo = i64::from(center[i]) - i64::from(size[i]) / 2;
                    let hi = lo + i64::from(size[i]) - 1;
                    match (i32::try_from(lo), i32::try_from(hi)) {
                        (Ok(lo), Ok(hi)) => (min[i], max[i]) = (lo, hi),
                        _ => {
                            return Err(Exception::throw_range(
                                &ctx,
                                "the shape reaches outside the i32 range",
                            ));
                        }
                    }
                }
                Ok(s.edit(&ctx, |h| h.fill_shape(shape, min, max, c))? as f64)
            },
        )?
        .with_name("proceduralShape")?,
    )?;

    let s = state.clone();
    goxel.set(
        "listLayers",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>| -> rquickjs::Result<Array<'js>> {
                let (layers, active) = s.read(&ctx, |h| (h.layers(), h.active_layer()))?;
                let list = Array::new(ctx.clone())?;
                for (i, l) in layers.into_iter().enumerate() {
                    let o = Object::new(ctx.clone())?;
                    o.set("id", l.id)?;
                    o.set("name", l.name)?;
                    o.set("visible", l.visible)?;
                    o.set("active", l.id == active)?;
                    o.set("voxelCount", l.voxel_count as f64)?;
                    list.set(i, o)?;
                }
                Ok(list)
            },
        )?
        .with_name("listLayers")?,
    )?;

    let s = state.clone();
    goxel.set(
        "setLayerVisibility",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, id: Value<'js>, visible: Value<'js>| -> rquickjs::Result<bool> {
                let id = layer_id(&ctx, &id)?;
                let Some(visible) = visible.as_bool() else {
                    return Err(Exception::throw_type(&ctx, "visible must be true or false"));
                };
                s.edit(&ctx, |h| h.set_layer_visible(id, visible))?;
                Ok(true)
            },
        )?
        .with_name("setLayerVisibility")?,
    )?;

    let s = state.clone();
    goxel.set(
        "createLayer",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, name: Opt<Value<'js>>| -> rquickjs::Result<u32> {
                let name = match name.0 {
                    Some(v) if !v.is_undefined() && !v.is_null() => {
                        let Some(name) = v.as_string() else {
                            return Err(Exception::throw_type(&ctx, "name must be a string"));
                        };
                        let name = name.to_string()?;
                        if name.len() > MAX_LAYER_NAME_BYTES {
                            return Err(Exception::throw_range(
                                &ctx,
                                &format!(
                                    "name is {} bytes, over the limit of {MAX_LAYER_NAME_BYTES}",
                                    name.len()
                                ),
                            ));
                        }
                        name
                    }
                    _ => DEFAULT_LAYER_NAME.to_string(),
                };
                s.edit(&ctx, |h| h.create_layer(&name))
            },
        )?
        .with_name("createLayer")?,
    )?;

    let s = state.clone();
    goxel.set(
        "selectLayer",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, id: Opt<Value<'js>>| -> rquickjs::Result<u32> {
                let id = match id.0 {
                    Some(v) => layer_id(&ctx, &v)?,
                    None => return Err(Exception::throw_type(&ctx, "id must be a layer id")),
                };
                // The layer selected before, so a script can go back to it.
                s.edit(&ctx, |h| {
                    let before = h.active_layer();
                    h.select_layer(id).map(|()| before)
                })
            },
        )?
        .with_name("selectLayer")?,
    )?;

    let s = state.clone();
    goxel.set(
        "getRegion",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> rquickjs::Result<Object<'js>> {
                let a = &args.0;
                if a.len() < 6 {
                    return Err(Exception::throw_type(
                        &ctx,
                        "getRegion expects (x1, y1, z1, x2, y2, z2)",
                    ));
                }
                let p1 = position(&ctx, &a[0], &a[1], &a[2])?;
                let p2 = position(&ctx, &a[3], &a[4], &a[5])?;
                let min = [p1[0].min(p2[0]), p1[1].min(p2[1]), p1[2].min(p2[2])];
                let max = [p1[0].max(p2[0]), p1[1].max(p2[1]), p1[2].max(p2[2])];
                let size: [i64; 3] =
                    std::array::from_fn(|i| i64::from(max[i]) - i64::from(min[i]) + 1);
                let volume = size[0] * size[1] * size[2];
                if volume > MAX_REGION_VOXELS {
                    return Err(Exception::throw_range(
                        &ctx,
                        &format!(
                            "region of {volume} voxels is over the limit of {MAX_REGION_VOXELS}"
                        ),
                    ));
                }
                let bytes = s.read(&ctx, |h| {
                    let mut bytes = Vec::with_capacity(volume as usize * 4);
                    for z in min[2]..=max[2] {
                        for y in min[1]..=max[1] {
                            for x in min[0]..=max[0] {
                                bytes.extend_from_slice(&h.get_voxel([x, y, z]).unwrap_or([0; 4]));
                            }
                        }
                    }
                    bytes
                })?;
                // Reading the constructor creates the typed-array built-ins if no one has yet.
                let _: Value<'js> = ctx.globals().get("Uint8Array")?;
                let data = rquickjs::TypedArray::<u8>::new(ctx.clone(), bytes)?;
                let o = Object::new(ctx.clone())?;
                o.set("min", min.to_vec())?;
                o.set("size", size.iter().map(|&n| n as i32).collect::<Vec<_>>())?;
                o.set("data", data)?;
                Ok(o)
            },
        )?
        .with_name("getRegion")?,
    )?;

    goxel.set(
        "parseColor",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, c: Value<'js>| -> rquickjs::Result<Array<'js>> {
                rgba_array(&ctx, color(&ctx, &c, "color")?)
            },
        )?
        .with_name("parseColor")?,
    )?;
    goxel.set(
        "toHex",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, c: Value<'js>| -> rquickjs::Result<String> {
                let [r, g, b, a] = color(&ctx, &c, "color")?;
                Ok(format!("#{r:02x}{g:02x}{b:02x}{a:02x}"))
            },
        )?
        .with_name("toHex")?,
    )?;
    goxel.set(
        "hsv",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> rquickjs::Result<Array<'js>> {
                let a = &args.0;
                let num = |i: usize, name: &str| -> rquickjs::Result<f64> {
                    a.get(i)
                        .and_then(|v| v.as_number())
                        .filter(|n| n.is_finite())
                        .ok_or_else(|| {
                            Exception::throw_type(&ctx, &format!("{name} must be a number"))
                        })
                };
                let (h, sat, val) = (num(0, "h")?, num(1, "s")?, num(2, "v")?);
                let alpha = match a.get(3) {
                    None => 255,
                    Some(v) if v.is_undefined() => 255,
                    Some(v) => component(&ctx, v, "alpha")?,
                };
                let [r, g, b] = hsv_to_rgb(h, sat.clamp(0.0, 1.0), val.clamp(0.0, 1.0));
                rgba_array(&ctx, [r, g, b, alpha])
            },
        )?
        .with_name("hsv")?,
    )?;
    goxel.set(
        "mixColors",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>,
                  a: Value<'js>,
                  b: Value<'js>,
                  t: Value<'js>|
                  -> rquickjs::Result<Array<'js>> {
                let (a, b) = (color(&ctx, &a, "a")?, color(&ctx, &b, "b")?);
                let t = t
                    .as_number()
                    .filter(|t| t.is_finite())
                    .ok_or_else(|| Exception::throw_type(&ctx, "t must be a number"))?
                    .clamp(0.0, 1.0);
                let mix: [u8; 4] = std::array::from_fn(|i| {
                    (f64::from(a[i]) + (f64::from(b[i]) - f64::from(a[i])) * t).round() as u8
                });
                rgba_array(&ctx, mix)
            },
        )?
        .with_name("mixColors")?,
    )?;

    let s = state.clone();
    goxel.set(
        "getTick",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>| {
            s.read(&ctx, |h| h.tick() as f64)
        })?
        .with_name("getTick")?,
    )?;

    Ok(goxel)
}

fn console_object<'js, H: ScriptHost>(
    ctx: &Ctx<'js>,
    state: &Rc<ScriptState<H>>,
) -> rquickjs::Result<Object<'js>> {
    let console = Object::new(ctx.clone())?;
    for (name, level) in [
        ("log", LogLevel::Log),
        ("info", LogLevel::Info),
        ("warn", LogLevel::Warn),
        ("error", LogLevel::Error),
    ] {
        let s = state.clone();
        console.set(
            name,
            Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| {
                let mut message = String::new();
                for (i, v) in args.0.iter().enumerate() {
                    if i > 0 {
                        message.push(' ');
                    }
                    format_value(&ctx, v, &mut message)?;
                    if message.len() > s.limits.get().max_log_bytes {
                        break;
                    }
                }
                s.log(&ctx, level, message)
            })?
            .with_name(name)?,
        )?;
    }
    Ok(console)
}

/// Formats one console argument: strings as they are, errors as `Name: message`, other objects
/// as JSON, everything else as `String(v)` would.
fn format_value<'js>(ctx: &Ctx<'js>, v: &Value<'js>, out: &mut String) -> rquickjs::Result<()> {
    if let Some(s) = v.as_string() {
        out.push_str(&s.to_string()?);
        return Ok(());
    }
    if let Some(e) = v.as_exception() {
        let name: Option<String> = e.get("name").ok();
        out.push_str(name.as_deref().unwrap_or("Error"));
        out.push_str(": ");
        out.push_str(&e.message().unwrap_or_default());
        return Ok(());
    }
    if v.is_object()
        && !v.is_function()
        && let Ok(Some(json)) = ctx.json_stringify(v.clone())
    {
        out.push_str(&json.to_string()?);
        return Ok(());
    }
    let coerced: rquickjs::Coerced<String> = v.get()?;
    out.push_str(&coerced.0);
    Ok(())
}

/// `proceduralShape`'s size: a number (a cube's edge) or `[sx, sy, sz]`, each 1..=1048576.
fn shape_size<'js>(ctx: &Ctx<'js>, v: &Value<'js>) -> rquickjs::Result<[i32; 3]> {
    let one = |v: &Value<'js>| -> rquickjs::Result<i32> {
        let n = integer(ctx, v, "size")?;
        if (1..=1 << 20).contains(&n) {
            Ok(n)
        } else {
            Err(Exception::throw_range(ctx, "size must be 1..1048576"))
        }
    };
    if let Some(a) = v.as_array() {
        if a.len() == 3 {
            return Ok([one(&a.get(0)?)?, one(&a.get(1)?)?, one(&a.get(2)?)?]);
        }
        return Err(Exception::throw_type(
            ctx,
            "size must be a number or [sx, sy, sz]",
        ));
    }
    let n = one(v)?;
    Ok([n, n, n])
}

/// HSV (hue in degrees, saturation and value 0..1) to 8-bit RGB.
fn hsv_to_rgb(h: f64, s: f64, v: f64) -> [u8; 3] {
    let h = h.rem_euclid(360.0) / 60.0;
    let c = v * s;
    let x = c * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    [r, g, b].map(|ch| ((ch + m) * 255.0).round().clamp(0.0, 255.0) as u8)
}

fn rgba_array<'js>(ctx: &Ctx<'js>, c: Rgba) -> rquickjs::Result<Array<'js>> {
    let a = Array::new(ctx.clone())?;
    for (i, v) in c.into_iter().enumerate() {
        a.set(i, v)?;
    }
    Ok(a)
}

fn position<'js>(
    ctx: &Ctx<'js>,
    x: &Value<'js>,
    y: &Value<'js>,
    z: &Value<'js>,
) -> rquickjs::Result<[i32; 3]> {
    Ok([
        integer(ctx, x, "x")?,
        integer(ctx, y, "y")?,
        integer(ctx, z, "z")?,
    ])
}

/// One entry of `paintVoxels`' position list: `[x, y, z]` or `{x, y, z}`.
fn position_item<'js>(ctx: &Ctx<'js>, v: &Value<'js>, i: usize) -> rquickjs::Result<[i32; 3]> {
    if let Some(a) = v.as_array() {
        if a.len() == 3 {
            return position(ctx, &a.get(0)?, &a.get(1)?, &a.get(2)?);
        }
    } else if let Some(o) = v.as_object() {
        return position(ctx, &o.get("x")?, &o.get("y")?, &o.get("z")?);
    }
    Err(Exception::throw_type(
        ctx,
        &format!("positions[{i}] must be [x,y,z] or {{x,y,z}}"),
    ))
}

/// A layer id argument (always called `id`): a whole number from 1; whether it names a layer is
/// the host's to say.
fn layer_id<'js>(ctx: &Ctx<'js>, v: &Value<'js>) -> rquickjs::Result<u32> {
    let n = match (v.as_int(), v.as_float()) {
        (Some(i), _) => f64::from(i),
        (None, Some(f)) => f,
        _ => {
            return Err(Exception::throw_type(
                ctx,
                "id must be a layer id (a number)",
            ));
        }
    };
    if n.fract() == 0.0 && (1.0..=f64::from(u32::MAX)).contains(&n) {
        Ok(n as u32)
    } else {
        Err(Exception::throw_range(
            ctx,
            &format!("id must be a whole number ≥ 1, got {n}"),
        ))
    }
}

/// A coordinate: any finite number in `i32` range, floored to the voxel that contains it.
pub(crate) fn integer<'js>(ctx: &Ctx<'js>, v: &Value<'js>, name: &str) -> rquickjs::Result<i32> {
    if let Some(i) = v.as_int() {
        return Ok(i);
    }
    if let Some(f) = v.as_float() {
        let f = f.floor();
        if f.is_finite() && f >= f64::from(i32::MIN) && f <= f64::from(i32::MAX) {
            return Ok(f as i32);
        }
        return Err(Exception::throw_range(
            ctx,
            &format!("{name} must be a finite number in i32 range"),
        ));
    }
    Err(Exception::throw_type(
        ctx,
        &format!("{name} must be a number"),
    ))
}

/// Reads a colour in any of the RPC forms: `[r,g,b]`, `[r,g,b,a]`, `"#RRGGBB"`, `"#RRGGBBAA"`,
/// `{r,g,b,a}`. Missing alpha means opaque.
pub(crate) fn color<'js>(ctx: &Ctx<'js>, v: &Value<'js>, name: &str) -> rquickjs::Result<Rgba> {
    if let Some(a) = v.as_array() {
        let len = a.len();
        if len == 3 || len == 4 {
            let mut c = [255u8; 4];
            for (i, slot) in c.iter_mut().enumerate().take(len) {
                *slot = component(ctx, &a.get(i)?, name)?;
            }
            return Ok(c);
        }
        return Err(Exception::throw_type(
            ctx,
            &format!("{name} must have 3 or 4 components, got {len}"),
        ));
    }
    if let Some(s) = v.as_string() {
        let s = s.to_string()?;
        return parse_hex(&s).ok_or_else(|| {
            Exception::throw_type(
                ctx,
                &format!("{name} must be \"#RRGGBB\" or \"#RRGGBBAA\", got {s:?}"),
            )
        });
    }
    if let Some(o) = v.as_object()
        && !v.is_function()
    {
        let mut c = [255u8; 4];
        for (slot, key) in c.iter_mut().zip(["r", "g", "b", "a"]) {
            let part: Value<'js> = o.get(key)?;
            if part.is_undefined() && key == "a" {
                continue;
            }
            *slot = component(ctx, &part, name)?;
        }
        return Ok(c);
    }
    Err(Exception::throw_type(
        ctx,
        &format!("{name} must be [r,g,b], [r,g,b,a], \"#RRGGBB\", \"#RRGGBBAA\" or {{r,g,b,a}}"),
    ))
}

fn component<'js>(ctx: &Ctx<'js>, v: &Value<'js>, name: &str) -> rquickjs::Result<u8> {
    let n = match (v.as_int(), v.as_float()) {
        (Some(i), _) => f64::from(i),
        (None, Some(f)) => f,
        _ => {
            return Err(Exception::throw_type(
                ctx,
                &format!("{name} components must be numbers"),
            ));
        }
    };
    if (0.0..=255.0).contains(&n) && n.fract() == 0.0 {
        Ok(n as u8)
    } else {
        Err(Exception::throw_range(
            ctx,
            &format!("{name} components must be integers 0-255, got {n}"),
        ))
    }
}

fn parse_hex(s: &str) -> Option<Rgba> {
    let hex = s.strip_prefix('#')?;
    if !(hex.len() == 6 || hex.len() == 8) || !hex.is_ascii() {
        return None;
    }
    let mut c = [255u8; 4];
    for (i, slot) in c.iter_mut().enumerate().take(hex.len() / 2) {
        *slot = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_colours_parse_with_and_without_alpha() {
        assert_eq!(parse_hex("#ff0080"), Some([255, 0, 128, 255]));
        assert_eq!(parse_hex("#01020304"), Some([1, 2, 3, 4]));
        assert_eq!(parse_hex("ff0080"), None);
        assert_eq!(parse_hex("#ff00"), None);
        assert_eq!(parse_hex("#gg0000"), None);
    }

    #[test]
    fn hsv_corners_are_the_primaries() {
        assert_eq!(hsv_to_rgb(0.0, 1.0, 1.0), [255, 0, 0]);
        assert_eq!(hsv_to_rgb(120.0, 1.0, 1.0), [0, 255, 0]);
        assert_eq!(hsv_to_rgb(240.0, 1.0, 0.5), [0, 0, 128]);
        assert_eq!(hsv_to_rgb(-360.0, 0.0, 1.0), [255, 255, 255]);
    }

    #[test]
    fn source_seed_is_stable() {
        assert_eq!(seed_from_source(""), 0xcbf2_9ce4_8422_2325);
        assert_ne!(seed_from_source("a"), seed_from_source("b"));
    }
}
