//! Fresh script contexts with the costly built-ins created on first use.
//!
//! **Why.** Every script gets a fresh context, and creating and later collecting one is most of
//! what a short script costs. Counted with callgrind (create, drop and collect one context):
//! `Context::full` is ≈ 1 008 k instructions, the base objects ≈ 486 k, typed arrays alone
//! ≈ 243 k, `Map`/`Set`/`WeakMap`/`WeakSet` ≈ 70 k and `Date` ≈ 58 k, while few voxel scripts
//! touch any of those three groups. So a script context is built with everything
//! `Context::full` has except those groups, and each of their global names (`Int8Array`, `Map`,
//! `Date`, ...) starts as an accessor whose first read creates the whole group, exactly as
//! `Context::full` would have, before returning the value. Scripts see the same globals and the
//! same objects; only `Object.getOwnPropertyDescriptor(globalThis, name)` shows an accessor
//! until the group is first used.
//!
//! **Why unsafe here.** rquickjs can only add intrinsics while it creates a context; adding one
//! later, and making accessors that know which global they stand for, takes the QuickJS C API.
//!
//! Semantics kept: assigning or deleting one of these globals before use, or redefining it, is
//! remembered and survives the group's creation (QuickJS itself leaves a non-configurable
//! redefinition alone), and a global object that cannot be extended still gets them. One
//! difference remains: after `Object.freeze(globalThis)` or `Object.seal(globalThis)` a group
//! not used before cannot be created any more, and reading its globals throws a `TypeError`
//! naming the cause (a frozen global in a voxel script is rare; an abort or a hang is not an
//! option).

#![allow(unsafe_code)]

use std::ffi::{CStr, c_int};
use std::ptr::NonNull;

use rquickjs::context::intrinsic::{
    Eval, Json, Performance, Promise, Proxy, RegExp, RegExpCompiler, WeakRef,
};
use rquickjs::{Context, Ctx, Exception, Runtime, qjs};

/// A group of built-ins QuickJS creates together, and the globals it defines.
struct Group {
    names: &'static [&'static CStr],
    /// Globals QuickJS defines as auto-initialised properties: it aborts the process if one
    /// already exists, so they must be out of the way when the group is created.
    auto_init: &'static [&'static CStr],
    add: unsafe extern "C" fn(*mut qjs::JSContext) -> c_int,
}

const GROUPS: [Group; 4] = [
    Group {
        names: &[
            c"ArrayBuffer",
            c"SharedArrayBuffer",
            c"Uint8ClampedArray",
            c"Int8Array",
            c"Uint8Array",
            c"Int16Array",
            c"Uint16Array",
            c"Int32Array",
            c"Uint32Array",
            c"BigInt64Array",
            c"BigUint64Array",
            c"Float16Array",
            c"Float32Array",
            c"Float64Array",
            c"DataView",
            c"Atomics",
        ],
        auto_init: &[c"Atomics"],
        add: qjs::JS_AddIntrinsicTypedArrays,
    },
    Group {
        names: &[c"Map", c"Set", c"WeakMap", c"WeakSet"],
        auto_init: &[],
        add: qjs::JS_AddIntrinsicMapSet,
    },
    Group {
        names: &[c"Date"],
        auto_init: &[],
        add: qjs::JS_AddIntrinsicDate,
    },
    Group {
        names: &[c"DOMException"],
        auto_init: &[],
        add: qjs::JS_AddIntrinsicDOMException,
    },
];

thread_local! {
    /// Whether a script on this thread created `Date` since the last [`take_date_created`]:
    /// a script that can read the wall clock may give a different result on every run.
    static DATE_CREATED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a script on this thread read the global `Date` (creating its group) since the
/// last call; resets the flag.
pub(crate) fn take_date_created() -> bool {
    DATE_CREATED.with(|d| d.replace(false))
}

/// A fresh context with the globals of `Context::full`, the costly groups created on first use.
pub(crate) fn new_context(rt: &Runtime) -> rquickjs::Result<Context> {
    let context = Context::custom::<(
        Eval,
        RegExpCompiler,
        RegExp,
        Json,
        Proxy,
        Promise,
        WeakRef,
        Performance,
    )>(rt)?;
    context.with(|ctx| install(&ctx))?;
    Ok(context)
}

fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let raw = ctx.as_raw().as_ptr();
    // SAFETY: a live context on this thread. Every value created here is either handed to a
    // call that takes ownership (noted) or freed before returning.
    unsafe {
        // `Atomics.wait` could block a worker forever: it throws a TypeError instead.
        qjs::JS_SetCanBlock(qjs::JS_GetRuntime(raw), false);
        if qjs::JS_AddIntrinsicAToB(raw) < 0 {
            return Err(rquickjs::Error::Exception);
        }
        let global = qjs::JS_GetGlobalObject(raw);
        let mut result = Ok(());
        'groups: for (g, group) in GROUPS.iter().enumerate() {
            // Per group: whether it was created (extensible = not yet) and its accessors, so
            // one can tell its own accessors from whatever a script put in their place.
            let holder = qjs::JS_NewObject(raw);
            if is_exception(holder) {
                result = Err(rquickjs::Error::Exception);
                break;
            }
            for (i, name) in group.names.iter().enumerate() {
                let mut data = [holder];
                let accessor = qjs::JS_NewCFunctionData(
                    raw,
                    Some(lazy_accessor),
                    0,
                    magic(g, i),
                    1,
                    data.as_mut_ptr(),
                );
                if is_exception(accessor) {
                    result = Err(rquickjs::Error::Exception);
                    qjs::JS_FreeValue(raw, holder);
                    break 'groups;
                }
                // Takes ownership of the value.
                qjs::JS_SetPropertyUint32(raw, holder, i as u32, qjs::JS_DupValue(raw, accessor));
                let atom = qjs::JS_NewAtom(raw, name.as_ptr());
                // Takes ownership of getter and setter (the same function: QuickJS calls a
                // getter with no argument and a setter with one).
                let defined = qjs::JS_DefinePropertyGetSet(
                    raw,
                    global,
                    atom,
                    qjs::JS_DupValue(raw, accessor),
                    accessor,
                    qjs::JS_PROP_CONFIGURABLE as c_int,
                );
                qjs::JS_FreeAtom(raw, atom);
                if defined < 0 {
                    result = Err(rquickjs::Error::Exception);
                    qjs::JS_FreeValue(raw, holder);
                    break 'groups;
                }
            }
            qjs::JS_FreeValue(raw, holder);
        }
        qjs::JS_FreeValue(raw, global);
        result
    }
}

fn magic(group: usize, index: usize) -> c_int {
    ((group << 8) | index) as c_int
}

fn is_exception(v: qjs::JSValue) -> bool {
    // SAFETY: reading a tag.
    unsafe { qjs::JS_VALUE_GET_TAG(v) == qjs::JS_TAG_EXCEPTION }
}

/// Getter and setter of one lazy global. Reading creates its group and returns the global's
/// value; assigning before that makes the global a plain data property.
/// [`create_group`], noting first when the group is `Date` (see [`take_date_created`]).
///
/// # Safety
/// As for [`create_group`].
unsafe fn create_group_marked(
    raw: *mut qjs::JSContext,
    global: qjs::JSValue,
    group: &Group,
    holder: qjs::JSValue,
) -> c_int {
    if group.names.contains(&c"Date") {
        DATE_CREATED.with(|d| d.set(true));
    }
    // SAFETY: the caller's guarantees are `create_group`'s.
    unsafe { create_group(raw, global, group, holder) }
}

unsafe extern "C" fn lazy_accessor(
    raw: *mut qjs::JSContext,
    _this: qjs::JSValue,
    argc: c_int,
    argv: *mut qjs::JSValue,
    magic: c_int,
    data: *mut qjs::JSValue,
) -> qjs::JSValue {
    let (g, i) = ((magic >> 8) as usize, (magic & 0xff) as usize);
    let Some(group) = GROUPS.get(g) else {
        return qjs::JS_UNDEFINED;
    };
    let Some(name) = group.names.get(i) else {
        return qjs::JS_UNDEFINED;
    };
    // SAFETY: QuickJS calls this on the runtime's thread with a live context, `argc` arguments
    // and the one data value given at creation (the group's holder), all borrowed.
    unsafe {
        let holder = *data;
        let global = qjs::JS_GetGlobalObject(raw);
        let atom = qjs::JS_NewAtom(raw, name.as_ptr());
        let result = if argc >= 1 && !argv.is_null() {
            let value = qjs::JS_DupValue(raw, *argv);
            let flags =
                (qjs::JS_PROP_WRITABLE | qjs::JS_PROP_CONFIGURABLE | qjs::JS_PROP_THROW) as c_int;
            if qjs::JS_DefinePropertyValue(raw, global, atom, value, flags) < 0 {
                qjs::JS_EXCEPTION
            } else {
                qjs::JS_UNDEFINED
            }
        } else if create_group_marked(raw, global, group, holder) < 0 {
            qjs::JS_EXCEPTION
        } else if is_own_accessor(raw, global, atom, holder, i) {
            // Creating the group failed part-way earlier (out of memory, caught by the
            // script): reading the global again would only call this accessor again.
            qjs::JS_UNDEFINED
        } else {
            qjs::JS_GetProperty(raw, global, atom)
        };
        qjs::JS_FreeAtom(raw, atom);
        qjs::JS_FreeValue(raw, global);
        result
    }
}

/// What a script left at one of the group's globals, to put back after the group is created.
struct Kept {
    atom: qjs::JSAtom,
    /// `None`: the global was deleted.
    desc: Option<qjs::JSPropertyDescriptor>,
}

/// Creates `group` in the context once; globals a script changed keep the script's version.
/// Returns -1 with an exception pending on failure.
///
/// # Safety
/// `raw` is a live context on this thread, `global` its global object and `holder` the group's
/// holder object.
unsafe fn create_group(
    raw: *mut qjs::JSContext,
    global: qjs::JSValue,
    group: &Group,
    holder: qjs::JSValue,
) -> c_int {
    // SAFETY: see the function's contract; descriptors read are freed or handed back.
    unsafe {
        match qjs::JS_IsExtensible(raw, holder) {
            0 => return 0, // created already
            n if n < 0 => return -1,
            _ => {}
        }
        let mut kept = Vec::new();
        // A global that cannot be removed where QuickJS must put its own: one of its
        // auto-initialised properties (it would abort), or one of our accessors (frozen
        // global; it would stay and read itself forever).
        let mut stuck = None;
        for (i, name) in group.names.iter().enumerate() {
            let atom = qjs::JS_NewAtom(raw, name.as_ptr());
            let mut desc = empty_descriptor();
            let found = qjs::JS_GetOwnProperty(raw, &mut desc, global, atom);
            if found < 0 {
                qjs::JS_FreeAtom(raw, atom);
                release(raw, kept);
                return -1;
            }
            let ours = found == 1 && is_accessor_of(raw, &desc, holder, i);
            let permanent = found == 1 && desc.flags & qjs::JS_PROP_CONFIGURABLE as c_int == 0;
            if permanent && (ours || group.auto_init.contains(name)) {
                stuck.get_or_insert(*name);
            }
            if ours {
                free_descriptor(raw, &desc);
                qjs::JS_FreeAtom(raw, atom);
            } else {
                kept.push(Kept {
                    atom,
                    desc: (found == 1).then_some(desc),
                });
            }
        }
        if let Some(name) = stuck {
            let message = format!(
                "cannot create {}: the global {} was made non-configurable",
                group.names[0].to_string_lossy(),
                name.to_string_lossy()
            );
            release(raw, kept);
            let ctx = Ctx::from_raw(NonNull::new_unchecked(raw));
            Exception::throw_type(&ctx, &message);
            return -1;
        }
        // Out of QuickJS's way (what the script had there is put back below). Other globals it
        // simply redefines, which also works on a global that cannot be extended.
        for name in group.auto_init {
            let atom = qjs::JS_NewAtom(raw, name.as_ptr());
            qjs::JS_DeleteProperty(raw, global, atom, 0);
            qjs::JS_FreeAtom(raw, atom);
        }
        // Mark first: nothing below runs script code, but a second read must never create
        // the group twice.
        if qjs::JS_PreventExtensions(raw, holder) < 0 || (group.add)(raw) < 0 {
            release(raw, kept);
            if !qjs::JS_HasException(raw) {
                let ctx = Ctx::from_raw(NonNull::new_unchecked(raw));
                Exception::throw_internal(&ctx, "could not create built-in objects");
            }
            return -1;
        }
        let mut status = 0;
        for k in kept {
            let ok = match &k.desc {
                None => qjs::JS_DeleteProperty(raw, global, k.atom, 0) >= 0,
                Some(desc) => {
                    let has = if desc.flags & qjs::JS_PROP_GETSET as c_int != 0 {
                        qjs::JS_PROP_HAS_GET | qjs::JS_PROP_HAS_SET
                    } else {
                        qjs::JS_PROP_HAS_VALUE | qjs::JS_PROP_HAS_WRITABLE
                    };
                    let flags = (has | qjs::JS_PROP_HAS_CONFIGURABLE | qjs::JS_PROP_HAS_ENUMERABLE)
                        as c_int
                        | (desc.flags & qjs::JS_PROP_C_W_E as c_int);
                    let r = qjs::JS_DefineProperty(
                        raw,
                        global,
                        k.atom,
                        desc.value,
                        desc.getter,
                        desc.setter,
                        flags,
                    );
                    free_descriptor(raw, desc);
                    r >= 0
                }
            };
            qjs::JS_FreeAtom(raw, k.atom);
            if !ok {
                status = -1;
            }
        }
        status
    }
}

/// Whether `desc` is the lazy accessor number `i` of the group whose holder is `holder`.
///
/// # Safety
/// `raw` is a live context, `desc` a descriptor it filled and `holder` a group's holder.
unsafe fn is_accessor_of(
    raw: *mut qjs::JSContext,
    desc: &qjs::JSPropertyDescriptor,
    holder: qjs::JSValue,
    i: usize,
) -> bool {
    // SAFETY: per the contract; the accessor read back is freed.
    unsafe {
        if desc.flags & qjs::JS_PROP_GETSET as c_int == 0 {
            return false;
        }
        let accessor = qjs::JS_GetPropertyUint32(raw, holder, i as u32);
        let same = qjs::JS_IsStrictEqual(raw, desc.getter, accessor);
        qjs::JS_FreeValue(raw, accessor);
        same
    }
}

/// Whether the global `atom` is still the lazy accessor number `i` of `holder`'s group.
///
/// # Safety
/// `raw` is a live context, `global` its global object and `holder` a group's holder.
unsafe fn is_own_accessor(
    raw: *mut qjs::JSContext,
    global: qjs::JSValue,
    atom: qjs::JSAtom,
    holder: qjs::JSValue,
    i: usize,
) -> bool {
    // SAFETY: per the contract; the descriptor read is freed.
    unsafe {
        let mut desc = empty_descriptor();
        if qjs::JS_GetOwnProperty(raw, &mut desc, global, atom) != 1 {
            return false;
        }
        let ours = is_accessor_of(raw, &desc, holder, i);
        free_descriptor(raw, &desc);
        ours
    }
}

fn empty_descriptor() -> qjs::JSPropertyDescriptor {
    qjs::JSPropertyDescriptor {
        flags: 0,
        value: qjs::JS_UNDEFINED,
        getter: qjs::JS_UNDEFINED,
        setter: qjs::JS_UNDEFINED,
    }
}

/// Frees what `JS_GetOwnProperty` put in a descriptor.
///
/// # Safety
/// `desc` was filled by `JS_GetOwnProperty` on `raw` and is not used afterwards.
unsafe fn free_descriptor(raw: *mut qjs::JSContext, desc: &qjs::JSPropertyDescriptor) {
    // SAFETY: per the contract, each value is an owned reference.
    unsafe {
        qjs::JS_FreeValue(raw, desc.value);
        qjs::JS_FreeValue(raw, desc.getter);
        qjs::JS_FreeValue(raw, desc.setter);
    }
}

/// Frees the atoms and descriptors of globals kept aside.
///
/// # Safety
/// Every entry came from `create_group` on `raw`.
unsafe fn release(raw: *mut qjs::JSContext, kept: Vec<Kept>) {
    for k in kept {
        // SAFETY: per the contract.
        unsafe {
            if let Some(desc) = &k.desc {
                free_descriptor(raw, desc);
            }
            qjs::JS_FreeAtom(raw, k.atom);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval_json(ctx: &Ctx<'_>, source: &str) -> String {
        let v: rquickjs::Value = match ctx.eval(source) {
            Ok(v) => v,
            Err(e) => panic!("{e}: {:?}", ctx.catch()),
        };
        ctx.json_stringify(v).unwrap().unwrap().to_string().unwrap()
    }

    /// Evaluates `source` in a fresh lazy context and returns its result as JSON.
    fn eval_lazy(source: &str) -> String {
        let rt = Runtime::new().unwrap();
        let lazy = new_context(&rt).unwrap();
        lazy.with(|ctx| eval_json(&ctx, source))
    }

    const NAMES: &str = "JSON.stringify(Object.getOwnPropertyNames(globalThis).sort())";

    #[test]
    fn globals_are_those_of_a_full_context() {
        let rt = Runtime::new().unwrap();
        let full = Context::full(&rt).unwrap();
        let lazy = new_context(&rt).unwrap();
        let full_names = full.with(|ctx| eval_json(&ctx, NAMES));
        let lazy_names = lazy.with(|ctx| eval_json(&ctx, NAMES));
        assert_eq!(lazy_names, full_names);
        // And after every group is created, too.
        let touched = lazy.with(|ctx| {
            eval_json(&ctx, "[typeof Int8Array, typeof Map, typeof Date]");
            eval_json(&ctx, NAMES)
        });
        assert_eq!(touched, full_names);
    }

    #[test]
    fn lazy_built_ins_work_and_are_created_once() {
        let out = eval_lazy(
            r#"
                const getter = Object.getOwnPropertyDescriptor(globalThis, 'Set').get;
                const M = Map;
                [
                    new Uint8Array([1, 2, 300]).join(),
                    new Float64Array(new ArrayBuffer(16)).length,
                    new DataView(new ArrayBuffer(4)).byteLength,
                    Object.getPrototypeOf(Int8Array) === Object.getPrototypeOf(Float32Array),
                    Uint8Array.prototype.toString === Array.prototype.toString,
                    typeof Atomics.add,
                    new Map([[1, 'a']]).get(1),
                    new Set([1, 1, 2]).size,
                    new WeakMap() instanceof WeakMap,
                    new Date(0).toISOString(),
                    typeof Date.now(),
                    Map === M && getter() === Set,
                    Object.getOwnPropertyDescriptor(globalThis, 'Map').writable,
                    new DOMException('m', 'NotFoundError').code,
                ]
                "#,
        );
        assert_eq!(
            out,
            r#"["1,2,44",2,4,true,true,"function","a",2,true,"1970-01-01T00:00:00.000Z","number",true,true,8]"#
        );
    }

    #[test]
    fn what_a_script_did_to_a_lazy_global_survives_its_creation() {
        let out = eval_lazy(
            r#"
                Int8Array = 5;
                Atomics = 'a';
                delete globalThis.WeakSet;
                Object.defineProperty(globalThis, 'Float32Array', { get() { return 'mine' }, configurable: true });
                Object.defineProperty(globalThis, 'Set', { value: 7, configurable: false });
                [
                    typeof Uint8Array, Int8Array, Float32Array, Atomics,
                    typeof Map, typeof WeakSet, 'WeakSet' in globalThis, Set,
                    Object.getOwnPropertyDescriptor(globalThis, 'Set').configurable,
                ]
                "#,
        );
        assert_eq!(
            out,
            r#"["function",5,"mine","a","function","undefined",false,7,false]"#
        );
    }

    #[test]
    fn a_permanent_auto_initialised_global_is_an_error_not_an_abort() {
        let out = eval_lazy(
            r#"
                Object.defineProperty(globalThis, 'Atomics', { value: 1, configurable: false });
                let first, second;
                try { new Int8Array(1) } catch (e) { first = e.name + ': ' + e.message }
                try { new Int8Array(1) } catch (e) { second = e.name }
                [first, second, typeof Map]
                "#,
        );
        assert_eq!(
            out,
            r#"["TypeError: cannot create ArrayBuffer: the global Atomics was made non-configurable","TypeError","function"]"#
        );
    }

    #[test]
    fn a_frozen_global_object_gives_errors_not_a_hang() {
        let out = eval_lazy(
            r#"
                Object.freeze(globalThis);
                const out = [];
                for (const f of [() => typeof Map, () => typeof Map, () => new Date(0).getTime(), () => typeof Math]) {
                    try { out.push(f()) } catch (e) { out.push(e.name) }
                }
                out
                "#,
        );
        assert_eq!(out, r#"["TypeError","TypeError","TypeError","object"]"#);
        let out = eval_lazy(
            "Object.preventExtensions(globalThis); [typeof Map, typeof Int8Array, typeof Atomics]",
        );
        assert_eq!(out, r#"["function","function","object"]"#);
    }

    #[test]
    fn a_strict_script_can_assign_and_declare_lazy_globals() {
        let rt = Runtime::new().unwrap();
        let lazy = new_context(&rt).unwrap();
        let out = lazy.with(|ctx| {
            let mut options = rquickjs::context::EvalOptions::default();
            options.strict = true;
            let v: rquickjs::Value = ctx
                .eval_with_options(
                    "Date = 1; var Map; function Set() { return 's' } [Date, typeof Map, Set(), typeof WeakMap]",
                    options,
                )
                .unwrap();
            ctx.json_stringify(v).unwrap().unwrap().to_string().unwrap()
        });
        assert_eq!(out, r#"[1,"function","s","function"]"#);
    }
}
