//! Lua data as Prosody's flat-file storage keeps it (`storage = "internal"`): the values
//! of `.dat` files (`return <value>;`) and `.list` items (`item(<value>);`).
//!
//! Writing ([`serialize`]) follows util.serialization's default output, byte for byte
//! where it matters (see `../shared/reference/prosody-internal-storage.md` §B): tables
//! with one entry a line, tab-indented; positional entries bare, every other key as
//! `[key] = `; strings in double quotes with every byte outside printable ASCII (and
//! `"`, `'`, `\`) escaped (named escapes, else `\ddd`); integers `%d`, floats `%.18g`,
//! infinities and NaN as `(1/0)`, `(-1/0)`, `(0/0)`.
//!
//! Reading ([`load`]) is what Prosody does: the file is a Lua chunk, run by a real Lua
//! 5.4 (mlua, vendored) with an empty environment, text chunks only, bounded in time and
//! memory; whatever it returns is the data. A file whose chunk does anything else than
//! build a value (calls a function it cannot reach, loops) is an error, never data.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use mlua::{HookTriggers, Lua as Vm, LuaOptions, StdLib, Value, VmState};

/// A Lua value as storage holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum LuaValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Lua strings are bytes: UTF-8 or not, NUL included.
    Str(Vec<u8>),
    /// Entries in the order they are written: the positional ones (1, 2, ...) first.
    Table(Vec<(LuaValue, LuaValue)>),
}

impl LuaValue {
    pub fn str(s: &str) -> LuaValue {
        LuaValue::Str(s.as_bytes().to_vec())
    }

    /// The value of a string key of a table.
    pub fn get(&self, key: &str) -> Option<&LuaValue> {
        match self {
            LuaValue::Table(entries) => {
                entries.iter().find(|(k, _)| matches!(k, LuaValue::Str(s) if s == key.as_bytes())).map(|(_, v)| v)
            }
            _ => None,
        }
    }
}

/// A stored file that is not data.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError(pub String);

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Deeper tables are refused on both sides, as util.serialization refuses them.
const MAX_DEPTH: usize = 127;

// ---------------------------------------------------------------------------------
// Writing

/// `return <value>;\n`: a `.dat` file.
pub fn dat_file(v: &LuaValue) -> Result<Vec<u8>, LoadError> {
    let mut out = b"return ".to_vec();
    serialize_into(v, 1, &mut out)?;
    out.extend_from_slice(b";\n");
    Ok(out)
}

/// `item(<value>);\n`: one item of a `.list` file.
pub fn list_item(v: &LuaValue) -> Result<Vec<u8>, LoadError> {
    let mut out = b"item(".to_vec();
    serialize_into(v, 1, &mut out)?;
    out.extend_from_slice(b");\n");
    Ok(out)
}

/// A value as util.serialization writes it (`depth` 1: the top-level table).
pub fn serialize(v: &LuaValue) -> Result<Vec<u8>, LoadError> {
    let mut out = Vec::new();
    serialize_into(v, 1, &mut out)?;
    Ok(out)
}

fn serialize_into(v: &LuaValue, depth: usize, out: &mut Vec<u8>) -> Result<(), LoadError> {
    match v {
        LuaValue::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        // `-9223372036854775808` would read back as a float (the literal overflows before
        // the minus applies); the hex literal wraps to the integer in Lua 5.4.
        LuaValue::Int(i64::MIN) => out.extend_from_slice(b"0x8000000000000000"),
        LuaValue::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        LuaValue::Float(f) => out.extend_from_slice(float(*f).as_bytes()),
        LuaValue::Str(s) => string(s, out),
        LuaValue::Table(entries) => {
            if depth > MAX_DEPTH {
                return Err(LoadError("table nested too deep to store".into()));
            }
            if entries.is_empty() {
                out.extend_from_slice(b"{}");
                return Ok(());
            }
            out.push(b'{');
            let mut next_index = 1i64;
            for (k, val) in entries {
                out.push(b'\n');
                out.extend(std::iter::repeat_n(b'\t', depth));
                if *k == LuaValue::Int(next_index) {
                    next_index += 1;
                } else {
                    out.push(b'[');
                    serialize_into(k, depth + 1, out)?;
                    out.extend_from_slice(b"] = ");
                }
                serialize_into(val, depth + 1, out)?;
                out.push(b';');
            }
            out.push(b'\n');
            out.extend(std::iter::repeat_n(b'\t', depth - 1));
            out.push(b'}');
        }
    }
    Ok(())
}

/// How a string literal escapes its bytes: the one escaper of the repo, for data files
/// and for the values sent to Prosody's admin socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// As util.serialization writes strings (named escapes, `\ddd` outside printable
    /// ASCII): Prosody's data files byte for byte.
    Serialization,
    /// Every byte outside `[A-Za-z0-9]` as `\ddd`: no text can end the literal or read
    /// as anything but data, whatever surrounds it (the admin socket's chunks).
    Opaque,
}

/// A Lua string literal (double-quoted) of `s`.
pub fn literal(s: &[u8], escape: Escape) -> String {
    let mut out = Vec::with_capacity(s.len() * 2 + 2);
    match escape {
        Escape::Serialization => string(s, &mut out),
        Escape::Opaque => {
            out.push(b'"');
            for &b in s {
                if b.is_ascii_alphanumeric() {
                    out.push(b);
                } else {
                    out.extend_from_slice(format!("\\{b:03}").as_bytes());
                }
            }
            out.push(b'"');
        }
    }
    // Both forms are ASCII.
    String::from_utf8_lossy(&out).into_owned()
}

fn string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s {
        match b {
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x0b => out.extend_from_slice(b"\\v"),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\'' => out.extend_from_slice(b"\\'"),
            0x00..=0x1f | 0x7f..=0xff => out.extend_from_slice(format!("\\{b:03}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// C's `%.18g`, and Lua's spellings of the infinities and NaN.
fn float(f: f64) -> String {
    if f.is_nan() {
        return "(0/0)".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "(1/0)".into() } else { "(-1/0)".into() };
    }
    const P: i32 = 18;
    // The exponent %g decides by is that of the value rounded to P digits.
    let sci = format!("{:.*e}", (P - 1) as usize, f);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let x: i32 = exp.parse().unwrap_or(0);
    if (-4..P).contains(&x) {
        let fixed = format!("{:.*}", (P - 1 - x).max(0) as usize, f);
        trim_zeros(&fixed).to_string()
    } else {
        let m = trim_zeros(mantissa);
        let mut out = String::new();
        let _ = write!(out, "{m}e{}{:02}", if x < 0 { '-' } else { '+' }, x.abs());
        out
    }
}

/// %g drops trailing zeros of the fraction, and a bare point.
fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

// ---------------------------------------------------------------------------------
// The sandbox

/// A Lua 5.4 state that runs what it is given as data, never as a way out: only the
/// standard libraries named (never `io`, `package`, `debug`, `load` of binary chunks),
/// memory bounded, and an instruction budget per run. The one sandbox of the repo:
/// Prosody's data files here, Prosody's config in the binary (`prosody_config`).
pub struct Sandbox {
    vm: Vm,
    steps: Arc<AtomicU64>,
}

impl Sandbox {
    /// `libs`: the standard libraries the chunks may use (the base library is always
    /// there); `memory`: bytes; `budget`: instructions per run, beyond which the run
    /// fails with `stop`.
    pub fn new(libs: StdLib, memory: usize, budget: u64, stop: &'static str) -> mlua::Result<Sandbox> {
        if libs & (StdLib::IO | StdLib::PACKAGE | StdLib::DEBUG) != StdLib::NONE {
            return Err(mlua::Error::runtime("io, package and debug have no place in the sandbox"));
        }
        let vm = Vm::new_with(libs, LuaOptions::default())?;
        vm.set_memory_limit(memory)?;
        let steps = Arc::new(AtomicU64::new(0));
        let counter = steps.clone();
        vm.set_hook(HookTriggers::new().every_nth_instruction(10_000), move |_, _| {
            if counter.fetch_add(10_000, Ordering::Relaxed) > budget {
                return Err(mlua::Error::runtime(stop));
            }
            Ok(VmState::Continue)
        })?;
        // A spent budget cannot be caught: `pcall` and `xpcall` raise again whatever
        // failed once it is spent (else `while true do pcall(loop) end` runs forever).
        let seen = steps.clone();
        let spent = vm.create_function(move |_, ()| Ok(seen.load(Ordering::Relaxed) > budget))?;
        vm.load(BUDGETED_PCALL).set_name("=sandbox").call::<()>((spent, stop))?;
        Ok(Sandbox { vm, steps })
    }

    /// The state, its budget renewed: call once per run.
    pub fn run(&self) -> &Vm {
        self.steps.store(0, Ordering::Relaxed);
        &self.vm
    }
}

/// `pcall`/`xpcall` that re-raise once the instruction budget is spent.
const BUDGETED_PCALL: &str = r#"local spent, stop = ...
local raw_pcall, raw_xpcall, raw_error = pcall, xpcall, error
local function pass(ok, ...)
  if not ok and spent() then raw_error(stop, 0) end
  return ok, ...
end
pcall = function(f, ...) return pass(raw_pcall(f, ...)) end
-- Once spent, a message handler is not run (one that loops would be run again for the
-- error that stops it, and again).
xpcall = function(f, handler, ...)
  local function guarded(e)
    if spent() then return stop end
    return handler(e)
  end
  return pass(raw_xpcall(f, guarded, ...))
end"#;

// ---------------------------------------------------------------------------------
// Reading

/// A data file is data: this many Lua instructions means it is not.
const MAX_INSTRUCTIONS: u64 = 50_000_000;
const MEMORY_LIMIT: usize = 512 << 20;

/// Reads Prosody's data files; one per thread (a Lua state is not shared).
pub struct Loader {
    sandbox: Sandbox,
}

impl Loader {
    pub fn new() -> Result<Loader, LoadError> {
        // Only the string library: Prosody's loader gives an empty environment, but
        // string methods work there because the string metatable is global.
        let sandbox =
            Sandbox::new(StdLib::STRING, MEMORY_LIMIT, MAX_INSTRUCTIONS, "the file does not finish: not data")
                .map_err(lua_error)?;
        Ok(Loader { sandbox })
    }

    /// A `.dat` file's value (None: the file returns nothing, as an empty file).
    pub fn load(&self, name: &str, chunk: &[u8]) -> Result<Option<LuaValue>, LoadError> {
        let vm = self.sandbox.run();
        let env = vm.create_table().map_err(lua_error)?;
        let f = vm
            .load(chunk)
            .set_name(format!("@{name}"))
            .set_mode(mlua::ChunkMode::Text)
            .set_environment(env)
            .into_function()
            .map_err(lua_error)?;
        let v: Value = f.call(()).map_err(lua_error)?;
        let out = match v {
            Value::Nil => None,
            v => Some(convert(&v, 0)?),
        };
        let _ = vm.gc_collect();
        Ok(out)
    }

    /// A `.list` file's items, in order: the chunk is run with `item` collecting them.
    pub fn load_list(&self, name: &str, chunk: &[u8]) -> Result<Vec<LuaValue>, LoadError> {
        let vm = self.sandbox.run();
        let items = vm.create_table().map_err(lua_error)?;
        let env = vm.create_table().map_err(lua_error)?;
        let sink = items.clone();
        let item = vm
            .create_function(move |_, v: Value| {
                sink.raw_push(v)?;
                Ok(())
            })
            .map_err(lua_error)?;
        env.set("item", item).map_err(lua_error)?;
        vm.load(chunk)
            .set_name(format!("@{name}"))
            .set_mode(mlua::ChunkMode::Text)
            .set_environment(env)
            .exec()
            .map_err(lua_error)?;
        let mut out = Vec::new();
        for v in items.sequence_values::<Value>() {
            out.push(convert(&v.map_err(lua_error)?, 0)?);
        }
        let _ = vm.gc_collect();
        Ok(out)
    }
}

fn lua_error(e: mlua::Error) -> LoadError {
    LoadError(e.to_string().lines().next().unwrap_or_default().to_string())
}

fn convert(v: &Value, depth: usize) -> Result<LuaValue, LoadError> {
    if depth > MAX_DEPTH {
        return Err(LoadError("table nested too deep".into()));
    }
    Ok(match v {
        Value::Boolean(b) => LuaValue::Bool(*b),
        Value::Integer(i) => LuaValue::Int(*i),
        Value::Number(n) => LuaValue::Float(*n),
        Value::String(s) => LuaValue::Str(s.as_bytes().to_vec()),
        Value::Table(t) => {
            // Positional entries first, in order; then the others as Lua iterates them.
            let n = t.raw_len();
            let mut entries = Vec::new();
            for i in 1..=n {
                let item: Value = t.raw_get(i).map_err(lua_error)?;
                entries.push((LuaValue::Int(i as i64), convert(&item, depth + 1)?));
            }
            for pair in t.pairs::<Value, Value>() {
                let (k, item) = pair.map_err(lua_error)?;
                if let Value::Integer(i) = k {
                    if i >= 1 && (i as usize) <= n {
                        continue;
                    }
                }
                entries.push((convert(&k, depth + 1)?, convert(&item, depth + 1)?));
            }
            LuaValue::Table(entries)
        }
        other => return Err(LoadError(format!("a {} is not data", other.type_name()))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(entries: Vec<(LuaValue, LuaValue)>) -> LuaValue {
        LuaValue::Table(entries)
    }

    #[test]
    fn writes_as_util_serialization() {
        let v = t(vec![
            (LuaValue::str("salt"), LuaValue::str("a\"b'\\c\né")),
            (LuaValue::str("iteration_count"), LuaValue::Int(10000)),
            (
                LuaValue::str("roles"),
                t(vec![(LuaValue::Int(1), LuaValue::str("x")), (LuaValue::Int(3), LuaValue::str("z"))]),
            ),
            (LuaValue::Bool(false), t(vec![])),
        ]);
        let got = String::from_utf8(dat_file(&v).unwrap()).unwrap();
        assert_eq!(
            got,
            "return {\n\t[\"salt\"] = \"a\\\"b\\'\\\\c\\n\\195\\169\";\n\t[\"iteration_count\"] = 10000;\n\t[\"roles\"] = {\n\t\t\"x\";\n\t\t[3] = \"z\";\n\t};\n\t[false] = {};\n};\n"
        );
        assert_eq!(float(0.1), "0.100000000000000006");
        assert_eq!(float(2.0), "2");
        assert_eq!(float(2f64.powi(63)), "9.22337203685477581e+18");
        assert_eq!(float(-0.0), "-0");
        assert_eq!(float(1795958349.214699), "1795958349.21469903");
        assert_eq!(float(1e-5), "1.00000000000000008e-05");
        assert_eq!(float(f64::INFINITY), "(1/0)");
        assert_eq!(float(f64::NAN), "(0/0)");
    }

    #[test]
    fn literals_carry_any_text_as_data() {
        let lua_string = |s: &str| literal(s.as_bytes(), Escape::Opaque);
        assert_eq!(lua_string("alice"), "\"alice\"");
        assert_eq!(lua_string("a\"b"), "\"a\\034b\"");
        for hostile in ["\"; os.exit() --", "]]", "]==]", "x\ny", "\\", "..os.exit()", "jürgen 😀", "\0"] {
            let lit = lua_string(hostile);
            let inner = &lit[1..lit.len() - 1];
            assert!(inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '\\'), "{lit}");
            // Either form reads back as the same bytes in a real Lua.
            for escape in [Escape::Opaque, Escape::Serialization] {
                let back = Loader::new()
                    .unwrap()
                    .load("t", format!("return {}", literal(hostile.as_bytes(), escape)).as_bytes());
                assert_eq!(back.unwrap(), Some(LuaValue::str(hostile)), "{escape:?} {hostile:?}");
            }
        }
    }

    #[test]
    fn reads_what_prosody_reads() {
        let l = Loader::new().unwrap();
        let v = l
            .load(
                "x.dat",
                br#"return { ["salt"] = "a".."b", ["iteration_count"] = 5000 * 2, stored_key = ("%s"):format("x"), [1] = 0x10, [2] = 1e3, [5] = 1/0, n = 'q\65\x41\u{e9}' };"#,
            )
            .unwrap()
            .unwrap();
        assert_eq!(v.get("salt"), Some(&LuaValue::str("ab")));
        assert_eq!(v.get("iteration_count"), Some(&LuaValue::Int(10000)));
        assert_eq!(v.get("stored_key"), Some(&LuaValue::str("x")));
        assert_eq!(v.get("n"), Some(&LuaValue::str("qAAé")));
        let LuaValue::Table(e) = &v else { panic!() };
        assert_eq!(e[0], (LuaValue::Int(1), LuaValue::Int(16)));
        assert_eq!(e[1], (LuaValue::Int(2), LuaValue::Float(1000.0)));
        assert!(e.contains(&(LuaValue::Int(5), LuaValue::Float(f64::INFINITY))));
        assert_eq!(l.load("e.dat", b"").unwrap(), None, "an empty file: no data");
        for bad in [&b"return os.exit(1)"[..], b"return {", b"while true do end", b"return (\"x\").rep"] {
            assert!(l.load("bad.dat", bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        // A precompiled chunk is refused (Prosody would load one; we never trust one).
        let vm = Vm::new();
        let bytecode = vm.load("return 1").into_function().unwrap().dump(true);
        assert!(l.load("bin.dat", &bytecode).is_err());
        let items = l.load_list("a.list", b"item({ [\"key\"] = \"a\"; });\nitem({ [\"key\"] = \"b\"; });\n").unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].get("key"), Some(&LuaValue::str("b")));
    }
}
