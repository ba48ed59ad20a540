//! Regenerates `generated/` from `api-spec/openapi.yaml`.
//!
//! This file is the build script **of the generated crate** (`generated/Cargo.toml`
//! says `build = "../build.rs"`): a build script of the root package would run too late,
//! after `generated` was already compiled from stale sources in the same build.
//!
//! Contract:
//! * `generated/.stamp` records a hash of everything generation depends on (spec,
//!   template overrides, generator version and options). Stamp matches: nothing to do,
//!   no Java needed.
//! * Stamp differs (or `PROSODY_ADMIN_REGENERATE=1`, as `make generate` sets): run
//!   openapi-generator and replace `generated/` in this same `cargo build`.
//! * Stamp differs and the generator is missing: fail with a message naming `make tools`.
//!
//! std only: the generator rewrites `generated/Cargo.toml`, so this script cannot have
//! build-dependencies of its own. The same functions are used by the drift test
//! (`tests/generation.rs` includes this file as a module).
#![allow(dead_code)]

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The pinned generator (PyPI `openapi-generator-cli`, which bundles the jar).
pub const GENERATOR_VERSION: &str = "7.26.0";
/// Options passed to `openapi-generator-cli generate`.
pub const GENERATOR_ARGS: &[&str] = &[
    "generate",
    "-g",
    "rust-server",
    "--additional-properties=packageName=prosody_admin_api,hideGenerationTimestamp=true",
    // JSON objects of free-form keys as BTreeMap: their keys serialize in one order
    // (a HashMap's differs from one map to the next), so equal data is equal bytes.
    "--type-mappings=map=std::collections::BTreeMap",
];
/// Files and directories the generator emits that we do not keep.
const DROPPED: &[&str] = &[".cargo", ".gitignore"];
const STAMP: &str = ".stamp";
/// Appended to the generated crate's manifest.
const CLIPPY_LINTS: &str = "\n[lints.clippy]\nall = { level = \"allow\", priority = -1 }\n";
/// Written into the generated crate: rustfmt leaves generator output as it is.
const RUSTFMT_TOML: &str =
    "# Written by build.rs: generator output is not reformatted.\ndisable_all_formatting = true\n";
const TOOLS_HINT: &str = "run `make tools` (installs the pinned openapi-generator-cli into .tools/venv), \
or set PROSODY_ADMIN_GENERATOR to an openapi-generator-cli executable";

fn main() {
    // CARGO_MANIFEST_DIR is generated/; the repository root is its parent.
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let root = manifest_dir.parent().map(Path::to_path_buf).unwrap_or_default();
    let spec = root.join("api-spec");
    println!("cargo:rerun-if-changed={}", spec.display());
    println!("cargo:rerun-if-env-changed=PROSODY_ADMIN_REGENERATE");
    println!("cargo:rerun-if-env-changed=PROSODY_ADMIN_GENERATOR");

    let wanted = match stamp_for(&root) {
        Ok(s) => s,
        Err(e) => fail(&format!("cannot read api-spec/: {e}")),
    };
    let current = fs::read_to_string(manifest_dir.join(STAMP)).unwrap_or_default();
    let forced = std::env::var("PROSODY_ADMIN_REGENERATE").map(|v| v == "1").unwrap_or(false);
    if current.trim() == wanted.trim() && !forced {
        return;
    }
    // Past tense: cargo replays this warning on later builds until the script reruns.
    println!("cargo:warning=generated/ was regenerated from api-spec/ (openapi-generator {GENERATOR_VERSION})");
    if let Err(e) = regenerate(&root, &manifest_dir) {
        fail(&e);
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("\nerror: prosody-admin code generation: {msg}\n");
    std::process::exit(1);
}

/// The stamp: generator version, options, and an FNV-1a hash of the spec and the
/// template overrides (std has no stable cryptographic hash; collisions do not matter
/// here, since the drift test compares the real output).
pub fn stamp_for(root: &Path) -> io::Result<String> {
    let mut h = Fnv::new();
    h.write(GENERATOR_VERSION.as_bytes());
    for a in GENERATOR_ARGS {
        h.write(a.as_bytes());
    }
    h.write(&fs::read(root.join("api-spec/openapi.yaml"))?);
    for t in template_files(root)? {
        h.write(t.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default().as_bytes());
        h.write(&fs::read(&t)?);
    }
    Ok(format!("openapi-generator {GENERATOR_VERSION}; api-spec hash {:016x}\n", h.0))
}

fn template_files(root: &Path) -> io::Result<Vec<PathBuf>> {
    let dir = root.join("api-spec/templates");
    let mut files = Vec::new();
    if dir.is_dir() {
        for e in fs::read_dir(&dir)? {
            files.push(e?.path());
        }
    }
    files.sort();
    Ok(files)
}

struct Fnv(u64);
impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        // Length prefix, so that ("ab","c") and ("a","bc") differ.
        for b in (bytes.len() as u64).to_le_bytes().iter().chain(bytes) {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Where the generator is: `PROSODY_ADMIN_GENERATOR`, else the repo-local venv.
pub fn generator(root: &Path) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PROSODY_ADMIN_GENERATOR") {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let p = root.join(".tools/venv/bin/openapi-generator-cli");
    p.is_file().then_some(p)
}

/// Generates the crate from `root`'s spec into `out` (which is replaced), post-processed
/// exactly as the committed `generated/` is.
pub fn generate_into(root: &Path, out: &Path) -> Result<(), String> {
    let gen = generator(root)
        .ok_or_else(|| format!("openapi-generator-cli {GENERATOR_VERSION} was not found: {TOOLS_HINT}"))?;
    let tmp = out.with_extension("tmp");
    let _ = fs::remove_dir_all(&tmp);
    let output = Command::new(&gen)
        .args(GENERATOR_ARGS)
        .arg("-i")
        .arg(root.join("api-spec/openapi.yaml"))
        .arg("-t")
        .arg(root.join("api-spec/templates"))
        .arg("-o")
        .arg(&tmp)
        .output()
        .map_err(|e| format!("cannot run {}: {e}; {TOOLS_HINT}", gen.display()))?;
    if !output.status.success() {
        return Err(format!(
            "openapi-generator failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let version = fs::read_to_string(tmp.join(".openapi-generator/VERSION")).unwrap_or_default();
    if version.trim() != GENERATOR_VERSION {
        return Err(format!(
            "openapi-generator is version {:?}, this repository pins {GENERATOR_VERSION}: {TOOLS_HINT}",
            version.trim()
        ));
    }
    postprocess(root, &tmp).map_err(|e| format!("post-processing generated code: {e}"))?;
    let _ = fs::remove_dir_all(out);
    fs::rename(&tmp, out).map_err(|e| format!("cannot move {} to {}: {e}", tmp.display(), out.display()))
}

fn postprocess(root: &Path, dir: &Path) -> io::Result<()> {
    for d in DROPPED {
        let p = dir.join(d);
        if p.is_dir() {
            fs::remove_dir_all(&p)?;
        } else if p.exists() {
            fs::remove_file(&p)?;
        }
    }
    // The generator rewrites Cargo.toml: put this script back in charge of the crate.
    let manifest = dir.join("Cargo.toml");
    let text = fs::read_to_string(&manifest)?;
    let mut text = text.replacen("[package]\n", "[package]\nbuild = \"../build.rs\"\n", 1);
    // Generator output is not ours to restyle: clippy's lints stay off it even when our
    // own lint run (`cargo clippy -- -D warnings`) reaches this path dependency.
    text.push_str(CLIPPY_LINTS);
    fs::write(&manifest, text)?;
    // Generator output is never reformatted by hand: `cargo fmt --all` (and plain
    // `cargo fmt --check`, which reaches path dependencies) leave this crate alone.
    fs::write(dir.join("rustfmt.toml"), RUSTFMT_TOML)?;
    fs::write(dir.join(STAMP), stamp_for(root)?)
}

/// Regenerates the committed `generated/` in place.
fn regenerate(root: &Path, generated: &Path) -> Result<(), String> {
    generate_into(root, generated)
}
