//! Prosody's flat-file values written here load in Lua to the same value: in our own
//! sandboxed Lua (every case) and in the system's `lua5.4` (Debian's binary, the Lua
//! Prosody runs on; `make test` installs it), including hostile strings (quotes, `]]`,
//! newlines, NUL, bytes ≥ 0x80, invalid UTF-8), integers at the edges, and floats.

use std::collections::BTreeMap;
use std::io::Write;

use backend::lua::{dat_file, Loader, LuaValue};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

fn hostile() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        Just(b"]]".to_vec()),
        Just(b"]==]\n[[x]]".to_vec()),
        Just(b"\"'\\\0\r\n\t".to_vec()),
        Just("jürgen 😀".as_bytes().to_vec()),
        Just(vec![0xff, 0xfe, 0x80, 0x00]),
        Just(b"..os.exit()".to_vec()),
    ]
}

fn leaf() -> impl Strategy<Value = LuaValue> {
    prop_oneof![
        any::<bool>().prop_map(LuaValue::Bool),
        any::<i64>().prop_map(LuaValue::Int),
        prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0), Just(-1)].prop_map(LuaValue::Int),
        any::<f64>().prop_map(LuaValue::Float),
        prop_oneof![
            Just(0.1),
            Just(2.0),
            Just(-0.0),
            Just(1e300),
            Just(5e-324),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY)
        ]
        .prop_map(LuaValue::Float),
        hostile().prop_map(LuaValue::Str),
    ]
}

fn key() -> impl Strategy<Value = LuaValue> {
    prop_oneof![
        hostile().prop_map(LuaValue::Str),
        (-5i64..100).prop_map(LuaValue::Int),
        any::<bool>().prop_map(LuaValue::Bool),
    ]
}

fn value() -> impl Strategy<Value = LuaValue> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        (proptest::collection::vec(inner.clone(), 0..4), proptest::collection::vec((key(), inner), 0..5)).prop_map(
            |(array, keyed)| {
                let mut entries: Vec<(LuaValue, LuaValue)> =
                    array.into_iter().enumerate().map(|(i, v)| (LuaValue::Int(i as i64 + 1), v)).collect();
                for (k, v) in keyed {
                    if !entries.iter().any(|(e, _)| *e == k) {
                        entries.push((k, v));
                    }
                }
                LuaValue::Table(entries)
            },
        )
    })
}

/// What Lua reads back: a float written without a point or exponent (`2`, `-0`) is an
/// integer in Lua 5.4 (as in Prosody's files).
fn as_read(v: &LuaValue) -> LuaValue {
    match v {
        LuaValue::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e18 => LuaValue::Int(*f as i64),
        LuaValue::Table(e) => LuaValue::Table(e.iter().map(|(k, v)| (as_read(k), as_read(v))).collect()),
        other => other.clone(),
    }
}

/// A canonical text of a value: floats as their bits, strings as hex, tables with their
/// entries sorted (the same as the Lua script below prints).
fn canon(v: &LuaValue) -> String {
    match v {
        LuaValue::Bool(b) => b.to_string(),
        LuaValue::Int(i) => format!("i{i}"),
        LuaValue::Float(f) if f.is_nan() => "nan".into(),
        LuaValue::Float(f) => format!("f{:016x}", f.to_bits()),
        LuaValue::Str(s) => format!("s{}", s.iter().map(|b| format!("{b:02x}")).collect::<String>()),
        LuaValue::Table(e) => {
            let sorted: BTreeMap<String, String> = e.iter().map(|(k, v)| (canon(k), canon(v))).collect();
            format!("{{{}}}", sorted.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","))
        }
    }
}

const CANON_LUA: &str = r#"
local function canon(v)
  local t = type(v)
  if t == "boolean" then return tostring(v)
  elseif math.type(v) == "integer" then return "i" .. string.format("%d", v)
  elseif t == "number" then
    if v ~= v then return "nan" end
    return "f" .. string.format("%016x", string.unpack("<i8", string.pack("<d", v)) & 0xffffffffffffffff)
  elseif t == "string" then return "s" .. (v:gsub(".", function(c) return string.format("%02x", c:byte()) end))
  elseif t == "table" then
    local parts = {}
    for k, x in pairs(v) do parts[#parts + 1] = { canon(k), canon(x) } end
    table.sort(parts, function(a, b) return a[1] < b[1] end)
    for i, p in ipairs(parts) do parts[i] = p[1] .. "=" .. p[2] end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  error("unexpected " .. t)
end
for i = 1, #arg do
  local f = assert(loadfile(arg[i], "t", {}))
  io.write(canon(f()), "\n")
end
"#;

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn values_round_trip_in_our_lua(v in value()) {
        let loader = Loader::new().unwrap();
        let file = dat_file(&v).unwrap();
        let back = loader.load("t.dat", &file).unwrap().unwrap();
        prop_assert_eq!(canon(&back), canon(&as_read(&v)), "{}", String::from_utf8_lossy(&file));
    }
}

#[test]
fn values_load_in_system_lua54() {
    let dir = tempfile::tempdir().unwrap();
    let mut runner = TestRunner::deterministic();
    let strategy = value();
    let mut files = Vec::new();
    let mut want = Vec::new();
    for i in 0..400 {
        let v = strategy.new_tree(&mut runner).unwrap().current();
        let path = dir.path().join(format!("v{i}.dat"));
        std::fs::File::create(&path).unwrap().write_all(&dat_file(&v).unwrap()).unwrap();
        files.push(path);
        want.push(canon(&as_read(&v)));
    }
    let script = dir.path().join("canon.lua");
    std::fs::write(&script, CANON_LUA).unwrap();
    let out = std::process::Command::new("lua5.4")
        .arg(&script)
        .args(&files)
        .output()
        .expect("lua5.4 (Debian's lua5.4 package; `make test` installs it)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect();
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "v{i}.dat: {}", String::from_utf8_lossy(&std::fs::read(&files[i]).unwrap()));
    }
}
