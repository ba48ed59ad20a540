//! ARCHITECTURE.md's code map names every file of the binary (`src/`), the backend
//! (`backend/src/`, `backend/tests/`), the console's sources (`backend/console/`), the tests (`tests/`), the benchmarks (`bench/`,
//! `benches/`), the packaging (`contrib/`), Prosody's module (`prosody/`) and CI's
//! (`.ci/`, `.cargo/`), and no file that is gone: a newcomer reads the map first, so a
//! file without a line is a file nobody will find. (Lock files go with their manifest;
//! what git ignores is not looked at.)
//!
//! The map is an indented tree in a code block: an entry starts with its name(s)
//! (`users.rs groups.rs`, `storage/`, `engine/pg.rs`), then two spaces and what it is;
//! deeper lines without a name continue the description. A directory entry (`name/`)
//! holds the entries indented below it.

use std::collections::BTreeSet;
use std::path::Path;

/// Entries start before this column; descriptions continue at it or beyond.
const DESCRIPTION_COLUMN: usize = 20;

/// The paths the code map names, relative to the repository root.
fn mapped(architecture: &str) -> BTreeSet<String> {
    let start = architecture.find("## Code map").expect("ARCHITECTURE.md has a \"## Code map\" section");
    let block = &architecture[start..];
    let open = block.find("```\n").expect("the code map is a code block") + 4;
    let close = open + block[open..].find("```").expect("the code block ends");
    let is_name = |t: &str| {
        !t.is_empty()
            && t.chars().all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c))
            && (t.contains('.') || t.contains('/'))
    };
    let mut dirs: Vec<(usize, String)> = Vec::new();
    let mut out = BTreeSet::new();
    for line in block[open..close].lines() {
        let indent = line.len() - line.trim_start().len();
        // The names: what comes before the first run of two spaces.
        let names = line.trim_start().split("  ").next().unwrap_or("");
        let tokens: Vec<&str> = names.split(' ').collect();
        if indent >= DESCRIPTION_COLUMN || !tokens.iter().all(|t| is_name(t)) {
            continue;
        }
        while dirs.last().is_some_and(|(i, _)| *i >= indent) {
            dirs.pop();
        }
        let prefix = dirs.last().map(|(_, d)| d.clone()).unwrap_or_default();
        for t in &tokens {
            out.insert(format!("{prefix}{t}"));
        }
        if let [dir] = tokens[..] {
            if dir.ends_with('/') {
                dirs.push((indent, format!("{prefix}{dir}")));
            }
        }
    }
    out
}

/// The folders whose every file the map must name.
const MAPPED: &[&str] = &[
    "src/",
    "backend/src/",
    "backend/tests/",
    "backend/console/",
    "tests/",
    "bench/",
    "benches/",
    "contrib/",
    "prosody/",
    ".ci/",
    ".cargo/",
];

/// What git ignores (build outputs, installed packages), and lock files.
fn skipped(name: &str) -> bool {
    ["node_modules", "build", "output", "__pycache__", ".pytest_cache", "package-lock.json", "Cargo.lock", "target"]
        .contains(&name)
}

/// Every file under `dir`, relative to `root`.
fn files_under(root: &Path, dir: &str, out: &mut BTreeSet<String>) {
    let entries = std::fs::read_dir(root.join(dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
    for e in entries {
        let e = e.expect("directory entry");
        let name = e.file_name().to_string_lossy().into_owned();
        if skipped(&name) {
            continue;
        }
        let rel = format!("{dir}{name}");
        if e.file_type().expect("file type").is_dir() {
            files_under(root, &format!("{rel}/"), out);
        } else {
            out.insert(rel);
        }
    }
}

#[test]
fn the_code_map_names_every_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let map = mapped(&std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md"));
    let mut files = BTreeSet::new();
    for dir in MAPPED {
        files_under(root, dir, &mut files);
    }
    let missing: Vec<&String> = files.difference(&map).collect();
    assert!(missing.is_empty(), "ARCHITECTURE.md's code map has no line for {missing:?}");
    // Every path the map names in those folders exists (files, and folders too).
    let gone: Vec<&String> = map
        .iter()
        .filter(|p| MAPPED.iter().any(|d| p.starts_with(d)))
        .filter(|p| !root.join(p.as_str()).exists())
        .collect();
    assert!(gone.is_empty(), "ARCHITECTURE.md's code map names files that do not exist: {gone:?}");
}

#[test]
fn the_parser_reads_the_tree() {
    let doc = "## Code map\n\n```\nsrc/                      the binary\n  a.rs b.rs               two files\n                          (c.rs in a description)\n  sub/                    a folder\n    d.rs                  in it\n    e/f.rs                deeper\n  g.rs                    back up\nother/\n  h.rs                    elsewhere\n```\n";
    let m: Vec<String> = mapped(doc).into_iter().collect();
    assert_eq!(
        m,
        [
            "other/",
            "other/h.rs",
            "src/",
            "src/a.rs",
            "src/b.rs",
            "src/g.rs",
            "src/sub/",
            "src/sub/d.rs",
            "src/sub/e/f.rs"
        ]
    );
}
