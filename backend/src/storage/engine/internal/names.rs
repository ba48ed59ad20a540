//! Names and paths: util.datamanager's encoding of hosts, users and store names, and
//! where each store's files are.

use super::*;

// ---------------------------------------------------------------------------------
// Names and paths

/// util.datamanager's `encode`: every byte outside `[A-Za-z0-9]` as `%xx`.
pub(in crate::storage) fn encode(s: &str) -> String {
    encode_keeping(s, false)
}

/// `store_encode`: the same, keeping `_`.
pub(super) fn store_encode(s: &str) -> String {
    encode_keeping(s, true)
}

pub(super) fn encode_keeping(s: &str, underscore: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || (underscore && b == b'_') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

/// `decode`: `%xx` (either case) to the byte.
pub(super) fn decode(s: &str) -> Option<String> {
    super::super::percent_decode(s)
}

#[derive(Debug, Clone)]
pub(super) struct Paths {
    pub(super) data: PathBuf,
}

impl Paths {
    pub(super) fn store_dir(&self, at: At) -> PathBuf {
        self.data.join(encode(at.host)).join(store_encode(at.store))
    }

    pub(super) fn file(&self, at: At, user: &str, ext: &str) -> PathBuf {
        if user.is_empty() {
            self.data.join(encode(at.host)).join(format!("{}.{ext}", store_encode(at.store)))
        } else {
            self.store_dir(at).join(format!("{}.{ext}", encode(user)))
        }
    }
}
