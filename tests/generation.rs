//! The generation pipeline: generated/ is what the spec generates (drift check), and
//! build.rs regenerates it within one `cargo build` when the spec changes, or fails
//! with a message naming `make tools` when the generator is missing.
//!
//! These tests need the generator (`make tools`, which `make test` runs first).

#[path = "../build.rs"]
mod regen;

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

fn generator_present() -> bool {
    let found = regen::generator(&root()).is_some();
    assert!(found, "openapi-generator-cli is not installed: run `make tools` (make test does)");
    found
}

#[test]
fn committed_generated_code_matches_the_spec() {
    generator_present();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("generated");
    regen::generate_into(&root(), &out).unwrap();
    let committed = root().join("generated");
    let (a, b) = (files(&committed), files(&out));
    assert_eq!(a, b, "file lists differ: regenerate with `make generate`");
    let differing: Vec<&PathBuf> =
        a.iter().filter(|f| std::fs::read(committed.join(f)).unwrap() != std::fs::read(out.join(f)).unwrap()).collect();
    assert!(differing.is_empty(), "generated/ drifted from api-spec/ in {differing:?}: run `make generate` and commit");
}

/// A scratch copy of the repository's sources, sharing this build's target directory
/// (so dependencies are not compiled again).
fn scratch() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for f in ["Cargo.toml", "Cargo.lock", "build.rs"] {
        std::fs::copy(root().join(f), tmp.path().join(f)).unwrap();
    }
    for d in ["api-spec", "generated", "backend", "src", "benches"] {
        copy_dir(&root().join(d), &tmp.path().join(d));
    }
    tmp
}

fn copy_dir(from: &Path, to: &Path) {
    for f in files(from) {
        let dest = to.join(&f);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(from.join(&f), dest).unwrap();
    }
}

/// Adds `GET /ping` (operationId pingServer) to the scratch copy's spec.
fn add_operation(dir: &Path) {
    let spec = dir.join("api-spec/openapi.yaml");
    let text = std::fs::read_to_string(&spec).unwrap();
    let added = "paths:\n  /ping:\n    get:\n      operationId: pingServer\n      responses:\n        200:\n          description: pong\n";
    assert!(text.contains("\npaths:\n"));
    std::fs::write(&spec, text.replacen("\npaths:\n", &format!("\n{added}"), 1)).unwrap();
}

fn cargo_build(dir: &Path, generator: Option<&Path>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(dir)
        .args(["build", "--offline", "--bin", "prosody-admin"])
        .env("CARGO_TARGET_DIR", root().join("target/scratch"))
        .env_remove("PROSODY_ADMIN_REGENERATE")
        .env_remove("PROSODY_ADMIN_GENERATOR");
    match generator {
        Some(g) => cmd.env("PROSODY_ADMIN_GENERATOR", g),
        None => cmd.env("PROSODY_ADMIN_GENERATOR", dir.join("no-such-generator")),
    };
    cmd.output().unwrap()
}

#[test]
fn spec_change_regenerates_in_the_same_build_and_breaks_the_backend() {
    generator_present();
    let s = scratch();
    add_operation(s.path());
    let gen = regen::generator(&root()).unwrap();
    let out = cargo_build(s.path(), Some(&gen));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "build should fail: the backend lacks the new operation\n{stderr}");
    let lib = std::fs::read_to_string(s.path().join("generated/src/lib.rs")).unwrap();
    assert!(lib.contains("async fn ping_server("), "generated/ was not regenerated");
    assert!(stderr.contains("ping_server"), "the compile error should name the new method:\n{stderr}");
    assert!(stderr.contains("error[E0046]"), "expected 'not all trait items implemented':\n{stderr}");
}

#[test]
fn spec_change_without_generator_fails_naming_make_tools() {
    let s = scratch();
    add_operation(s.path());
    let out = cargo_build(s.path(), None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("make tools"), "{stderr}");
    // Nothing was regenerated.
    let lib = std::fs::read_to_string(s.path().join("generated/src/lib.rs")).unwrap();
    assert!(!lib.contains("ping_server"));
}

#[test]
fn unchanged_spec_needs_no_generator() {
    let s = scratch();
    // No generator anywhere: a build of the unchanged copy must still succeed.
    let out = Command::new(env!("CARGO"))
        .current_dir(s.path())
        .args(["build", "--offline", "--bin", "prosody-admin"])
        .env("CARGO_TARGET_DIR", root().join("target/scratch"))
        .env("PROSODY_ADMIN_GENERATOR", s.path().join("no-such-generator"))
        .env_remove("PROSODY_ADMIN_REGENERATE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn default_members_do_not_build_openssl() {
    // The generated crate's default `client-tls` feature pulls in openssl; we depend on
    // it with default-features = false. Check the real build graph (normal, build and
    // dev dependencies of the default members), not just Cargo.lock, which lists
    // optional dependencies too.
    let out = Command::new(env!("CARGO"))
        .current_dir(root())
        .args(["tree", "--offline", "-e", "normal,build,dev", "--prefix", "none", "--format", "{p}"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(tree.contains("prosody_admin_api"), "unexpected tree:\n{tree}");
    // Crates that link OpenSSL (openssl-probe, which rustls-native-certs uses to find the
    // system's CA files, is plain Rust and links nothing).
    let links = |l: &&str| {
        let name = l.split_whitespace().next().unwrap_or("");
        matches!(name, "openssl" | "openssl-sys" | "native-tls" | "tokio-native-tls" | "postgres-native-tls")
    };
    let ssl: Vec<&str> = tree.lines().filter(links).collect();
    assert!(ssl.is_empty(), "TLS crates in the build: {ssl:?}");
}
