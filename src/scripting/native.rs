//! `goxel.addVoxel` as a raw QuickJS C function: the one place this crate calls QuickJS directly.
//!
//! **Why unsafe here.** `addVoxel(x, y, z, [r, g, b, a])` in a loop is the hot path of every
//! voxel script, and the issue asks for 4 M calls/s per worker. Through rquickjs' closure
//! machinery each call converts four `Value`s and clones a `Ctx` (≈ 150 ns before any work), and
//! reading the colour array element by element through `Array::get` doubles that, so the old
//! design unpacked the array in a small JavaScript wrapper, which every context had to compile
//! (≈ 22 µs of the ≈ 100 µs a fresh script context costs). Measured in one run on one machine
//! (`examples`-style loop of 1 M calls with an array literal per call, a trivial host):
//!
//! | `addVoxel` implementation | calls/s |
//! |---|---|
//! | empty JavaScript function (the floor) | 5.6 M |
//! | JavaScript wrapper + rquickjs closure (before) | 2.1 M |
//! | raw C function reading the array itself (this) | 4.2 M |
//!
//! The unsafe surface is small: reading argument tags, `JS_GetPropertyUint32` on an array, and a
//! pointer to the script's [`ScriptState`] kept in the context's opaque slot (rquickjs leaves
//! that slot unused). Anything that is not a plain array of small integers takes the same
//! checked path as every other API function, through rquickjs values.
//!
//! **Lifetime of the state pointer.** [`add_voxel_function`] stores the pointer while the
//! [`ScriptState`] is owned by the context's `Prepared` holder; the worker calls [`detach`]
//! before it lets go of the state, and a call after that throws instead of dereferencing.
#![allow(unsafe_code)]

use std::ffi::{c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;
use std::rc::Rc;

use rquickjs::{Ctx, Exception, Function, Value, qjs};

use super::api::{self, ScriptState};
use super::host::{Rgba, ScriptHost};

/// Creates `addVoxel` for `ctx` and points the context at `state`.
///
/// `state` must stay alive until [`detach`] is called on the same context (the worker keeps it
/// in the `Prepared` holder next to the context).
pub(crate) fn add_voxel_function<'js, H: ScriptHost>(
    ctx: &Ctx<'js>,
    state: &Rc<ScriptState<H>>,
) -> rquickjs::Result<Function<'js>> {
    let raw = ctx.as_raw().as_ptr();
    // SAFETY: `raw` is the live context `ctx` refers to; the opaque slot is ours (rquickjs does
    // not use context opaques) and is read only by `add_voxel::<H>`, which is installed in this
    // context with the same `H`.
    unsafe { qjs::JS_SetContextOpaque(raw, Rc::as_ptr(state).cast_mut().cast::<c_void>()) };
    // SAFETY: a valid context, a function pointer of the right signature and a static C string.
    let function = unsafe {
        qjs::JS_NewCFunction2(
            raw,
            Some(add_voxel::<H>),
            c"addVoxel".as_ptr(),
            4,
            qjs::JSCFunctionEnum_JS_CFUNC_generic,
            0,
        )
    };
    // SAFETY: `function` is a new reference owned from here on by the `Value`.
    let value = unsafe { Value::from_raw(ctx.clone(), function) };
    if value.is_exception() {
        return Err(rquickjs::Error::Exception);
    }
    value.into_function().ok_or(rquickjs::Error::Allocation)
}

/// Unhooks the context from its state: later calls of `addVoxel` in it throw.
pub(crate) fn detach(ctx: &Ctx<'_>) {
    // SAFETY: `ctx` is a live context; clearing our own opaque slot.
    unsafe { qjs::JS_SetContextOpaque(ctx.as_raw().as_ptr(), std::ptr::null_mut()) };
}

/// The C entry point. Never unwinds into QuickJS: a panic becomes an `InternalError`.
unsafe extern "C" fn add_voxel<H: ScriptHost>(
    raw: *mut qjs::JSContext,
    _this: qjs::JSValue,
    argc: c_int,
    argv: *mut qjs::JSValue,
) -> qjs::JSValue {
    let Some(raw) = NonNull::new(raw) else {
        return qjs::JS_EXCEPTION;
    };
    // SAFETY: QuickJS calls this with the current context, on the thread that holds the
    // runtime; the `Ctx` does not outlive the call.
    let ctx = unsafe { Ctx::from_raw(raw) };
    // SAFETY: QuickJS passes `argc` valid arguments (padded with `undefined` up to the declared
    // length of 4), borrowed for the duration of the call.
    let args: &[qjs::JSValue] = if argv.is_null() || argc <= 0 {
        &[]
    } else {
        unsafe { std::slice::from_raw_parts(argv, argc as usize) }
    };
    let state = unsafe { qjs::JS_GetContextOpaque(raw.as_ptr()) }.cast::<ScriptState<H>>();
    let result = catch_unwind(AssertUnwindSafe(|| {
        if state.is_null() {
            return Err(Exception::throw_internal(
                &ctx,
                "goxel.addVoxel called after its script finished",
            ));
        }
        // SAFETY: non-null means the worker still owns the state (see the module docs).
        let state = unsafe { &*state };
        let arg = |i: usize| args.get(i).copied().unwrap_or(qjs::JS_UNDEFINED);
        let p = [
            coordinate(&ctx, arg(0), "x")?,
            coordinate(&ctx, arg(1), "y")?,
            coordinate(&ctx, arg(2), "z")?,
        ];
        let c = match array_color(&ctx, arg(3))? {
            Some(c) => c,
            None => api::color(&ctx, &borrowed(&ctx, arg(3)), "color")?,
        };
        state.edit(&ctx, |h| h.add_voxel(p, c))
    }));
    match result {
        Ok(Ok(())) => qjs::JS_UNDEFINED,
        Ok(Err(rquickjs::Error::Exception)) => qjs::JS_EXCEPTION,
        Ok(Err(e)) => {
            Exception::throw_internal(&ctx, &e.to_string());
            qjs::JS_EXCEPTION
        }
        Err(_) => {
            Exception::throw_internal(&ctx, "goxel.addVoxel failed");
            qjs::JS_EXCEPTION
        }
    }
}

/// A new `Value` for a borrowed argument.
fn borrowed<'js>(ctx: &Ctx<'js>, v: qjs::JSValue) -> Value<'js> {
    // SAFETY: `v` is a live value of this context; duplicating gives the `Value` its own
    // reference.
    unsafe { Value::from_raw(ctx.clone(), qjs::JS_DupValue(ctx.as_raw().as_ptr(), v)) }
}

/// A coordinate: small integers directly, anything else through the checked conversion.
fn coordinate<'js>(ctx: &Ctx<'js>, v: qjs::JSValue, name: &str) -> rquickjs::Result<i32> {
    // SAFETY: reading the tag and payload of a live value.
    unsafe {
        if qjs::JS_VALUE_GET_TAG(v) == qjs::JS_TAG_INT {
            return Ok(qjs::JS_VALUE_GET_INT(v));
        }
    }
    api::integer(ctx, &borrowed(ctx, v), name)
}

/// `[r, g, b]` or `[r, g, b, a]` read straight from a plain array when every component is an
/// integer 0-255; `None` sends the value to the checked conversion (which reports errors).
fn array_color(ctx: &Ctx<'_>, v: qjs::JSValue) -> rquickjs::Result<Option<Rgba>> {
    let raw = ctx.as_raw().as_ptr();
    // SAFETY: `v` is a live value of the context `raw`; every value read back is freed.
    unsafe {
        if !qjs::JS_IsArray(v) {
            return Ok(None);
        }
        let mut len = 0i64;
        if qjs::JS_GetLength(raw, v, &mut len) < 0 {
            return Err(rquickjs::Error::Exception);
        }
        if len != 3 && len != 4 {
            return Ok(None);
        }
        let mut c = [255u8; 4];
        for (i, slot) in c.iter_mut().enumerate().take(len as usize) {
            let item = qjs::JS_GetPropertyUint32(raw, v, i as u32);
            let tag = qjs::JS_VALUE_GET_TAG(item);
            if tag == qjs::JS_TAG_EXCEPTION {
                return Err(rquickjs::Error::Exception);
            }
            if tag != qjs::JS_TAG_INT {
                qjs::JS_FreeValue(raw, item);
                return Ok(None);
            }
            match u8::try_from(qjs::JS_VALUE_GET_INT(item)) {
                Ok(b) => *slot = b,
                Err(_) => return Ok(None),
            }
        }
        Ok(Some(c))
    }
}
