//! Scripts as QuickJS bytecode: compile once, load into each later context.
//!
//! **Why unsafe here.** rquickjs evaluates a script from source only, and QuickJS compiles it
//! again in every fresh context. Compiling costs far more than loading the compiled form: the
//! seed's 5×5×5 cube script compiles in ≈ 9 µs and loads from bytecode in ≈ 0.9 µs; a 10 KB
//! generator compiles for hundreds of µs. Clients send the same scripts again and again, so each
//! worker keeps the bytecode of recent scripts ([`super::code_cache`]) and this module does the
//! four raw calls that needs: compile without running (`JS_Eval` with `COMPILE_ONLY`), serialise
//! (`JS_WriteObject`), load (`JS_ReadObject`) and run (`JS_EvalFunction`).
//!
//! The bytecode is written by this process from source it compiled itself and read back only by
//! it (never from a client or a file), so loading it is as safe as compiling the source. It keeps
//! the file name, line numbers and function source text, so errors, stack traces and
//! `Function.prototype.toString` are the same whichever way a script was loaded.

#![allow(unsafe_code)]

use std::ffi::CString;

use rquickjs::{Ctx, Value, qjs};

/// Flags rquickjs uses for `Ctx::eval_with_options` with default options: a global script in
/// strict mode.
const SCRIPT_FLAGS: u32 = qjs::JS_EVAL_TYPE_GLOBAL | qjs::JS_EVAL_FLAG_STRICT;

/// A compiled script, ready to run once in the context it was compiled or loaded in.
pub(crate) struct Compiled<'js>(Value<'js>);

/// Compiles `source` as the script `name` without running it. A syntax error is left pending
/// in `ctx` and returned as [`rquickjs::Error::Exception`], as evaluation would.
pub(crate) fn compile<'js>(
    ctx: &Ctx<'js>,
    source: &str,
    name: &str,
) -> rquickjs::Result<Compiled<'js>> {
    let source_c = CString::new(source)?;
    let name_c = CString::new(name)?;
    // SAFETY: NUL-terminated source of the given length and a NUL-terminated name, on a live
    // context; the result is a new reference.
    let raw = unsafe {
        qjs::JS_Eval(
            ctx.as_raw().as_ptr(),
            source_c.as_ptr(),
            source.len() as _,
            name_c.as_ptr(),
            (SCRIPT_FLAGS | qjs::JS_EVAL_FLAG_COMPILE_ONLY) as i32,
        )
    };
    owned(ctx, raw).map(Compiled)
}

/// The bytecode of `compiled`, with debug information and source text, or `None` if it cannot
/// be written (then the script is simply not cached).
pub(crate) fn serialize(ctx: &Ctx<'_>, compiled: &Compiled<'_>) -> Option<Vec<u8>> {
    let raw = ctx.as_raw().as_ptr();
    let mut len: qjs::size_t = 0;
    // SAFETY: a live context and value; on success QuickJS returns a buffer of `len` bytes that
    // we copy and free with the context's allocator.
    unsafe {
        let buf = qjs::JS_WriteObject(
            raw,
            &mut len,
            compiled.0.as_raw(),
            qjs::JS_WRITE_OBJ_BYTECODE as i32,
        );
        if buf.is_null() {
            // Clear the exception an allocation failure may have left.
            let _ = ctx.catch();
            return None;
        }
        let bytes = std::slice::from_raw_parts(buf, len as usize).to_vec();
        qjs::js_free(raw, buf.cast());
        Some(bytes)
    }
}

/// Loads bytecode written by [`serialize`] (in this process) into `ctx`.
pub(crate) fn load<'js>(ctx: &Ctx<'js>, bytecode: &[u8]) -> rquickjs::Result<Compiled<'js>> {
    // SAFETY: `bytecode` came from `serialize` in this process (see the module docs); QuickJS
    // copies what it needs and returns a new reference.
    let raw = unsafe {
        qjs::JS_ReadObject(
            ctx.as_raw().as_ptr(),
            bytecode.as_ptr(),
            bytecode.len() as _,
            qjs::JS_READ_OBJ_BYTECODE as i32,
        )
    };
    owned(ctx, raw).map(Compiled)
}

/// Runs a compiled script and returns its completion value, as evaluation would.
pub(crate) fn run<'js>(ctx: &Ctx<'js>, compiled: Compiled<'js>) -> rquickjs::Result<Value<'js>> {
    let raw = ctx.as_raw().as_ptr();
    // SAFETY: `JS_EvalFunction` takes ownership of its argument, so it gets its own reference;
    // the `Compiled` drops the other.
    let result = unsafe { qjs::JS_EvalFunction(raw, qjs::JS_DupValue(raw, compiled.0.as_raw())) };
    drop(compiled);
    owned(ctx, result)
}

/// Wraps a new reference; an exception value means the exception is pending in `ctx`.
fn owned<'js>(ctx: &Ctx<'js>, raw: qjs::JSValue) -> rquickjs::Result<Value<'js>> {
    // SAFETY: reading the tag of a value QuickJS just returned.
    if unsafe { qjs::JS_VALUE_GET_TAG(raw) } == qjs::JS_TAG_EXCEPTION {
        return Err(rquickjs::Error::Exception);
    }
    // SAFETY: `raw` is a new reference owned from here on by the `Value`.
    Ok(unsafe { Value::from_raw(ctx.clone(), raw) })
}
