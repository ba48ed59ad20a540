//! Build script of the binary (package prosody-admin; the top-level build.rs is the
//! generated crate's): the commit `--version` names. PROSODY_ADMIN_COMMIT when set (the
//! Makefile and the .deb set it), else git's short hash of HEAD when built in a
//! checkout (`cargo build`, `cargo install --path .`), else "unknown" (a source tarball).

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let o = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
    let s = String::from_utf8(o.stdout).ok()?.trim().to_string();
    (o.status.success() && !s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-env-changed=PROSODY_ADMIN_COMMIT");
    println!("cargo:rerun-if-changed=src/build.rs");
    let commit = match std::env::var("PROSODY_ADMIN_COMMIT").ok().filter(|c| !c.is_empty()) {
        Some(c) => c,
        None => {
            let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into()));
            // Rebuilt when HEAD moves: HEAD itself, the branch it names, packed refs.
            if let Some(git_dir) = git(&dir, &["rev-parse", "--absolute-git-dir"]) {
                let git_dir = PathBuf::from(git_dir);
                println!("cargo:rerun-if-changed={}", git_dir.join("HEAD").display());
                println!("cargo:rerun-if-changed={}", git_dir.join("packed-refs").display());
                if let Some(r) = git(&dir, &["symbolic-ref", "-q", "HEAD"]) {
                    println!("cargo:rerun-if-changed={}", git_dir.join(r).display());
                }
            }
            git(&dir, &["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into())
        }
    };
    println!("cargo:rustc-env=PROSODY_ADMIN_COMMIT={commit}");
}
