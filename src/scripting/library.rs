//! The script library: the `.js` files of the script directories, registered by name with the
//! parameters their header declares, so a client (or an agent, through MCP) can list them and
//! run one by name with checked arguments (`goxel.list_scripts`, `goxel.run_script`).
//!
//! A script's name is its path inside its script directory without `.js` (`tower.js` is
//! `tower`, `trees/oak.js` is `trees/oak`); the first directory that has a name wins. The
//! header is the run of `//` comment lines the file starts with:
//!
//! ```js
//! // A hollow cube of one colour.
//! // @param size int(1..64) = 8 "edge length in voxels"
//! // @param color color = "#c08040" "wall colour"
//! // @param label string "required: no default"
//! ```
//!
//! Plain comment lines are the description (or `// @description ...`); each `@param` line
//! is `NAME TYPE[(MIN..MAX)] [= DEFAULT] [DESCRIPTION]`, the default a JSON value. The format
//! is in `docs/scripting.md`. A header that does not parse keeps the script listed (under
//! `invalid`, with the line and what is wrong) but not runnable.
//!
//! Files are re-read when they change: `run_script` checks its one file's size, mtime and
//! inode (one `stat`), `list_scripts` walks the directories. Nothing watches in the
//! background, so no thread or lock sits on a request's path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// Most files one walk of the script directories registers.
pub const MAX_LIBRARY_SCRIPTS: usize = 1000;

/// How deep the walk goes below a script directory.
const MAX_DEPTH: usize = 8;

/// What a parameter accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// A whole number (JSON integer, or a number without a fraction).
    Int,
    /// Any finite number.
    Number,
    /// `true` or `false`.
    Bool,
    /// A string.
    String,
    /// A colour in any RPC form: `[r,g,b]`, `[r,g,b,a]`, `"#RRGGBB"`, `"#RRGGBBAA"`, `{r,g,b,a}`.
    Color,
    /// A JSON array.
    Array,
    /// A JSON object.
    Object,
    /// Any JSON value.
    Any,
}

impl ParamType {
    const NAMES: &'static str = "int, number, bool, string, color, array, object, any";

    fn parse(s: &str) -> Option<ParamType> {
        Some(match s {
            "int" => ParamType::Int,
            "number" => ParamType::Number,
            "bool" => ParamType::Bool,
            "string" => ParamType::String,
            "color" => ParamType::Color,
            "array" => ParamType::Array,
            "object" => ParamType::Object,
            "any" => ParamType::Any,
            _ => return None,
        })
    }

    /// The header's name of the type.
    pub fn name(self) -> &'static str {
        match self {
            ParamType::Int => "int",
            ParamType::Number => "number",
            ParamType::Bool => "bool",
            ParamType::String => "string",
            ParamType::Color => "color",
            ParamType::Array => "array",
            ParamType::Object => "object",
            ParamType::Any => "any",
        }
    }
}

/// One declared parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// The key in `args`.
    pub name: String,
    /// What it accepts.
    pub ty: ParamType,
    /// Inclusive bounds of an `int` or `number`.
    pub range: Option<(f64, f64)>,
    /// The value when `args` leaves it out; `None`: required.
    pub default: Option<Value>,
    /// What it is for.
    pub description: String,
}

/// What a script's header declares.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScriptMeta {
    /// What the script does.
    pub description: String,
    /// Its parameters, in header order.
    pub params: Vec<Param>,
}

/// A header that does not parse: the 1-based line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("header line {line}: {message}")]
pub struct HeaderError {
    /// 1-based line in the file.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Reads the header of `source`.
pub fn parse_header(source: &str) -> Result<ScriptMeta, HeaderError> {
    let mut meta = ScriptMeta::default();
    let mut plain: Vec<&str> = Vec::new();
    let mut described = false;
    for (i, line) in source.lines().enumerate() {
        let line_no = i + 1;
        let Some(comment) = line.trim_start().strip_prefix("//") else {
            if line.trim().is_empty() && meta.params.is_empty() && plain.is_empty() {
                continue;
            }
            break;
        };
        let text = comment.trim();
        let err = |message: String| HeaderError {
            line: line_no,
            message,
        };
        let Some(tag) = text.strip_prefix('@') else {
            if !text.is_empty() && !described && meta.params.is_empty() {
                plain.push(text);
            }
            continue;
        };
        let (tag, rest) = tag.split_once(char::is_whitespace).unwrap_or((tag, ""));
        match tag {
            "description" => {
                meta.description = rest.trim().to_string();
                described = true;
            }
            "param" => {
                let param = parse_param(rest.trim()).map_err(err)?;
                if meta.params.iter().any(|p| p.name == param.name) {
                    return Err(err(format!("parameter '{}' is declared twice", param.name)));
                }
                meta.params.push(param);
            }
            other => {
                return Err(err(format!(
                    "unknown tag '@{other}' (expected @description or @param)"
                )));
            }
        }
    }
    if !described {
        meta.description = plain.join(" ");
    }
    Ok(meta)
}

/// `NAME TYPE[(MIN..MAX)] [= DEFAULT] [DESCRIPTION]`.
fn parse_param(text: &str) -> Result<Param, String> {
    let (name, rest) = text
        .split_once(char::is_whitespace)
        .ok_or_else(|| format!("@param needs a name and a type, got '{text}'"))?;
    if !is_identifier(name) {
        return Err(format!(
            "parameter name '{name}' is not a JavaScript identifier"
        ));
    }
    let rest = rest.trim_start();
    let type_end = rest
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(rest.len());
    let (type_text, rest) = rest.split_at(type_end);
    let (type_name, range) = match type_text.split_once('(') {
        Some((t, bounds)) => {
            let bounds = bounds
                .strip_suffix(')')
                .ok_or_else(|| format!("parameter '{name}': unclosed range in '{type_text}'"))?;
            let (lo, hi) = bounds.split_once("..").ok_or_else(|| {
                format!("parameter '{name}': a range is (MIN..MAX), got '({bounds})'")
            })?;
            let parse = |s: &str| {
                s.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| format!("parameter '{name}': range bound '{s}' is not a number"))
            };
            let (lo, hi) = (parse(lo)?, parse(hi)?);
            if lo > hi {
                return Err(format!("parameter '{name}': range {lo}..{hi} is empty"));
            }
            (t, Some((lo, hi)))
        }
        None => (type_text, None),
    };
    let ty = ParamType::parse(type_name).ok_or_else(|| {
        format!(
            "parameter '{name}': unknown type '{type_name}' (expected one of {})",
            ParamType::NAMES
        )
    })?;
    if range.is_some() && !matches!(ty, ParamType::Int | ParamType::Number) {
        return Err(format!(
            "parameter '{name}': only int and number take a range"
        ));
    }
    let mut param = Param {
        name: name.to_string(),
        ty,
        range,
        default: None,
        description: String::new(),
    };
    let mut rest = rest.trim_start();
    if let Some(after) = rest.strip_prefix('=') {
        let after = after.trim_start();
        let mut values = serde_json::Deserializer::from_str(after).into_iter::<Value>();
        let default = match values.next() {
            Some(Ok(v)) => v,
            _ => {
                return Err(format!(
                    "parameter '{name}': the default after '=' must be a JSON value"
                ));
            }
        };
        let used = values.byte_offset();
        param.default = Some(
            check_value(&param, &default)
                .map_err(|why| format!("parameter '{name}': default {default}: {why}"))?,
        );
        rest = after[used..].trim_start();
    }
    param.description = match serde_json::from_str::<String>(rest) {
        Ok(quoted) => quoted,
        Err(_) => rest.trim().to_string(),
    };
    Ok(param)
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// Checks one value against a parameter; the value as the script gets it (an integral number
/// given as `4.0` becomes `4`).
fn check_value(param: &Param, v: &Value) -> Result<Value, String> {
    let in_range = |n: f64| match param.range {
        Some((lo, hi)) if n < lo || n > hi => Err(format!("must be in {lo}..{hi}, got {n}")),
        _ => Ok(()),
    };
    match param.ty {
        ParamType::Int => {
            let n = v.as_f64().ok_or("must be an integer")?;
            if n.fract() != 0.0 || n.abs() > 9_007_199_254_740_991.0 {
                return Err(format!("must be an integer, got {v}"));
            }
            in_range(n)?;
            Ok(json!(n as i64))
        }
        ParamType::Number => {
            let n = v.as_f64().ok_or("must be a number")?;
            in_range(n)?;
            Ok(v.clone())
        }
        ParamType::Bool if v.is_boolean() => Ok(v.clone()),
        ParamType::Bool => Err("must be true or false".into()),
        ParamType::String if v.is_string() => Ok(v.clone()),
        ParamType::String => Err("must be a string".into()),
        ParamType::Array if v.is_array() => Ok(v.clone()),
        ParamType::Array => Err("must be an array".into()),
        ParamType::Object if v.is_object() => Ok(v.clone()),
        ParamType::Object => Err("must be an object".into()),
        ParamType::Color => {
            let raw = serde_json::value::to_raw_value(v).map_err(|e| e.to_string())?;
            crate::rpc::parse_color(&raw, &param.name)
                .map(|_| v.clone())
                .map_err(|_| {
                    "must be a colour: [r,g,b], [r,g,b,a], \"#RRGGBB\", \"#RRGGBBAA\" or {r,g,b,a}"
                        .to_string()
                })
        }
        ParamType::Any => Ok(v.clone()),
    }
}

/// Why `args` does not fit a script's parameters: the field (`args.NAME`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError {
    /// `args` or `args.NAME`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl ScriptMeta {
    /// Checks `args` (an object, or absent) against the parameters and returns the object the
    /// script sees as `args`: every parameter, defaults filled in.
    pub fn check_args(&self, args: Option<&Value>) -> Result<Map<String, Value>, ArgError> {
        let empty = Map::new();
        let given = match args {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(m)) => m,
            Some(_) => {
                return Err(ArgError {
                    field: "args".into(),
                    message: "must be an object of parameter names to values".into(),
                });
            }
        };
        for key in given.keys() {
            if !self.params.iter().any(|p| &p.name == key) {
                let known: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
                return Err(ArgError {
                    field: format!("args.{key}"),
                    message: if known.is_empty() {
                        "unknown parameter: the script takes none".into()
                    } else {
                        format!("unknown parameter (the script takes: {})", known.join(", "))
                    },
                });
            }
        }
        let mut out = Map::new();
        for p in &self.params {
            let value = match (given.get(&p.name), &p.default) {
                (Some(v), _) => check_value(p, v).map_err(|message| ArgError {
                    field: format!("args.{}", p.name),
                    message,
                })?,
                (None, Some(d)) => d.clone(),
                (None, None) => {
                    return Err(ArgError {
                        field: format!("args.{}", p.name),
                        message: format!("required ({} parameter with no default)", p.ty.name()),
                    });
                }
            };
            out.insert(p.name.clone(), value);
        }
        Ok(out)
    }

    /// The parameters as a JSON Schema object (draft 2020-12 vocabulary), for clients that
    /// build forms or tool descriptions from it.
    pub fn schema(&self) -> Value {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for p in &self.params {
            let mut s = match p.ty {
                ParamType::Int => json!({ "type": "integer" }),
                ParamType::Number => json!({ "type": "number" }),
                ParamType::Bool => json!({ "type": "boolean" }),
                ParamType::String => json!({ "type": "string" }),
                ParamType::Array => json!({ "type": "array" }),
                ParamType::Object => json!({ "type": "object" }),
                ParamType::Any => json!({}),
                ParamType::Color => json!({ "anyOf": [
                    { "type": "array", "items": { "type": "integer", "minimum": 0, "maximum": 255 },
                      "minItems": 3, "maxItems": 4 },
                    { "type": "string", "pattern": "^#([0-9a-fA-F]{6}|[0-9a-fA-F]{8})$" },
                    { "type": "object", "required": ["r", "g", "b"], "properties": {
                        "r": { "type": "integer", "minimum": 0, "maximum": 255 },
                        "g": { "type": "integer", "minimum": 0, "maximum": 255 },
                        "b": { "type": "integer", "minimum": 0, "maximum": 255 },
                        "a": { "type": "integer", "minimum": 0, "maximum": 255 } } },
                ] }),
            };
            if let Some((lo, hi)) = p.range {
                s["minimum"] = json!(lo);
                s["maximum"] = json!(hi);
            }
            if !p.description.is_empty() {
                s["description"] = json!(p.description);
            }
            match &p.default {
                Some(d) => s["default"] = d.clone(),
                None => required.push(json!(p.name)),
            }
            properties.insert(p.name.clone(), s);
        }
        json!({
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        })
    }
}

/// What identifies a file's version without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let inode = 0;
    m.is_file().then(|| Stamp {
        len: m.len(),
        modified: m.modified().ok(),
        inode,
    })
}

/// One registered script.
#[derive(Debug, Clone)]
pub struct LibraryScript {
    /// Its name: the path inside its directory, without `.js`.
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// Its source, as read.
    pub source: Arc<str>,
    /// SHA-256 of the source: what the result cache keys on.
    pub digest: [u8; 32],
    /// The header, or why it does not parse (the file is then listed but not runnable).
    pub meta: Result<ScriptMeta, String>,
    stamp: Stamp,
}

/// Why `run_script` cannot find or use a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// No script of that name in the library.
    NotFound,
    /// The file exists but cannot be used (header, size, encoding); the message says why.
    Unusable(String),
}

/// The registered scripts of the script directories.
#[derive(Debug)]
pub struct Library {
    dirs: Vec<PathBuf>,
    max_script_bytes: usize,
    scripts: BTreeMap<String, LibraryScript>,
    /// Files that could not be read at all, by path, with why.
    unreadable: BTreeMap<PathBuf, String>,
}

impl Library {
    /// An empty library over `dirs` (read on first use).
    pub fn new(dirs: Vec<PathBuf>, max_script_bytes: usize) -> Library {
        Library {
            dirs,
            max_script_bytes,
            scripts: BTreeMap::new(),
            unreadable: BTreeMap::new(),
        }
    }

    /// Walks the directories: registers new files, re-reads changed ones, drops deleted ones.
    pub fn refresh(&mut self) {
        let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
        for dir in &self.dirs {
            let Ok(root) = dir.canonicalize() else {
                continue;
            };
            walk(&root, &root, 0, &mut found);
        }
        self.scripts.retain(|name, _| found.contains_key(name));
        self.unreadable.clear();
        for (name, path) in found {
            self.load(&name, &path);
        }
    }

    /// Reads `path` as `name` unless the registered version is still current.
    fn load(&mut self, name: &str, path: &Path) {
        let Some(now) = stamp(path) else {
            self.scripts.remove(name);
            return;
        };
        if let Some(s) = self.scripts.get(name)
            && s.stamp == now
            && s.path == path
        {
            return;
        }
        if now.len > self.max_script_bytes as u64 {
            self.insert_broken(
                name,
                path,
                now,
                format!(
                    "script is {} bytes, over the limit of {}",
                    now.len, self.max_script_bytes
                ),
            );
            return;
        }
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(source) => {
                    let digest = Sha256::digest(source.as_bytes()).into();
                    let meta = parse_header(&source).map_err(|e| e.to_string());
                    self.scripts.insert(
                        name.to_string(),
                        LibraryScript {
                            name: name.to_string(),
                            path: path.to_path_buf(),
                            source: source.into(),
                            digest,
                            meta,
                            stamp: now,
                        },
                    );
                }
                Err(_) => self.insert_broken(name, path, now, "the file is not UTF-8".into()),
            },
            Err(e) => {
                self.scripts.remove(name);
                self.unreadable
                    .insert(path.to_path_buf(), format!("cannot read: {e}"));
            }
        }
    }

    fn insert_broken(&mut self, name: &str, path: &Path, stamp: Stamp, why: String) {
        self.scripts.insert(
            name.to_string(),
            LibraryScript {
                name: name.to_string(),
                path: path.to_path_buf(),
                source: "".into(),
                digest: [0; 32],
                meta: Err(why),
                stamp,
            },
        );
    }

    /// The current version of script `name`: its one file is checked (a `stat`) and re-read
    /// if it changed; a name not registered makes the directories be walked again.
    pub fn get(&mut self, name: &str) -> Result<&LibraryScript, LookupError> {
        match self.scripts.get(name).map(|s| (s.path.clone(), s.stamp)) {
            Some((path, old)) => match stamp(&path) {
                Some(now) if now == old => {}
                Some(_) => self.load(name, &path),
                None => self.refresh(),
            },
            None => self.refresh(),
        }
        let script = self.scripts.get(name).ok_or(LookupError::NotFound)?;
        match &script.meta {
            Ok(_) => Ok(script),
            Err(why) => Err(LookupError::Unusable(why.clone())),
        }
    }

    /// `goxel.list_scripts`' reply: the runnable scripts and the ones that are not.
    pub fn listing(&mut self) -> Value {
        self.refresh();
        let mut scripts = Vec::new();
        let mut invalid = Vec::new();
        for s in self.scripts.values() {
            match &s.meta {
                Ok(meta) => scripts.push(json!({
                    "name": s.name,
                    "description": meta.description,
                    "parameters": meta.schema(),
                    "path": s.path.display().to_string(),
                })),
                Err(why) => invalid.push(json!({
                    "name": s.name,
                    "path": s.path.display().to_string(),
                    "error": why,
                })),
            }
        }
        for (path, why) in &self.unreadable {
            invalid.push(json!({ "name": null, "path": path.display().to_string(), "error": why }));
        }
        json!({
            "scripts": scripts,
            "invalid": invalid,
            "script_dirs": self.dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>(),
        })
    }
}

/// Collects `*.js` files under `dir` by name (first directory wins), skipping hidden entries.
fn walk(root: &Path, dir: &Path, depth: usize, found: &mut BTreeMap<String, PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if found.len() >= MAX_LIBRARY_SCRIPTS {
            return;
        }
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        if file_name.starts_with('.') {
            continue;
        }
        // Symlinks are followed only when they stay inside the directory.
        let Ok(real) = entry.path().canonicalize() else {
            continue;
        };
        if !real.starts_with(root) {
            continue;
        }
        if real.is_dir() {
            if depth < MAX_DEPTH {
                walk(root, &entry.path(), depth + 1, found);
            }
        } else if let Some(stem) = file_name.strip_suffix(".js") {
            let Ok(rel) = entry
                .path()
                .parent()
                .unwrap_or(root)
                .strip_prefix(root)
                .map(Path::to_path_buf)
            else {
                continue;
            };
            let mut name = String::new();
            for part in rel.components() {
                name.push_str(&part.as_os_str().to_string_lossy());
                name.push('/');
            }
            name.push_str(stem);
            found.entry(name).or_insert(real);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_declares_description_and_typed_parameters() {
        let meta = parse_header(
            "// A hollow cube.\n// Of one colour.\n// @param size int(1..64) = 8 \"edge length\"\n\
             // @param color color = \"#c08040\" wall colour\n// @param label string\ngoxel;",
        )
        .unwrap();
        assert_eq!(meta.description, "A hollow cube. Of one colour.");
        assert_eq!(meta.params.len(), 3);
        assert_eq!(meta.params[0].range, Some((1.0, 64.0)));
        assert_eq!(meta.params[0].default, Some(json!(8)));
        assert_eq!(meta.params[0].description, "edge length");
        assert_eq!(meta.params[1].description, "wall colour");
        assert_eq!(meta.params[2].default, None);
        let schema = meta.schema();
        assert_eq!(schema["required"], json!(["label"]));
        assert_eq!(schema["properties"]["size"]["maximum"], json!(64.0));
    }

    #[test]
    fn malformed_headers_name_the_line() {
        for (src, line, needle) in [
            ("// @param size integer = 4", 1, "unknown type 'integer'"),
            ("// ok\n// @parm x int", 2, "unknown tag '@parm'"),
            ("// @param size int = \"four\"", 1, "must be an integer"),
            ("// @param 3d int", 1, "not a JavaScript identifier"),
            ("// @param a int\n// @param a int", 2, "declared twice"),
            ("// @param a int(5..1)", 1, "is empty"),
            ("// @param a string(1..2)", 1, "only int and number"),
            ("// @param c color = [1,2]", 1, "must be a colour"),
        ] {
            let e = parse_header(src).unwrap_err();
            assert_eq!(e.line, line, "{src}: {e}");
            assert!(e.message.contains(needle), "{src}: {e}");
        }
    }

    #[test]
    fn args_are_checked_and_defaults_filled_in() {
        let meta = parse_header("// @param size int(1..10) = 4\n// @param name string\n").unwrap();
        let args = meta.check_args(Some(&json!({"name": "x"}))).unwrap();
        assert_eq!(Value::Object(args), json!({"size": 4, "name": "x"}));
        let args = meta
            .check_args(Some(&json!({"name": "x", "size": 5.0})))
            .unwrap();
        assert_eq!(args["size"], json!(5));
        for (args, field, needle) in [
            (
                json!({"name": "x", "sise": 1}),
                "args.sise",
                "unknown parameter",
            ),
            (
                json!({"name": "x", "size": "big"}),
                "args.size",
                "must be an integer",
            ),
            (
                json!({"name": "x", "size": 11}),
                "args.size",
                "must be in 1..10",
            ),
            (json!({}), "args.name", "required"),
            (json!([1]), "args", "must be an object"),
        ] {
            let e = meta.check_args(Some(&args)).unwrap_err();
            assert_eq!(e.field, field, "{args}");
            assert!(e.message.contains(needle), "{args}: {}", e.message);
        }
    }
}
