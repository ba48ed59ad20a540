//! The layout profile: which Prosody's storage the database holds. Chosen once at start
//! ([`super::schema::prepare`]) and fixed for the life of the [`super::Store`].

use std::fmt;
use std::str::FromStr;

/// A Prosody version whose SQL layout this service speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProsodyVersion {
    /// Prosody 0.12: non-unique `prosody_index`; roles in `roles`; tokens `1;jid;id`.
    V0_12,
    /// Prosody 13: `prosody_unique_index`; roles in `account_roles`; token grants with
    /// hashed `secret-token:` secrets; accounts can be disabled.
    V13,
}

impl ProsodyVersion {
    /// What an empty database gets when nothing is configured: the current stable.
    pub const DEFAULT: ProsodyVersion = ProsodyVersion::V13;
}

impl fmt::Display for ProsodyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProsodyVersion::V0_12 => "0.12",
            ProsodyVersion::V13 => "13",
        })
    }
}

impl FromStr for ProsodyVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "0.12" | "0.12.3" | "12" => Ok(ProsodyVersion::V0_12),
            "13" | "13.0" | "13.0.1" => Ok(ProsodyVersion::V13),
            other => Err(format!("unknown Prosody version {other:?} (expected 0.12 or 13)")),
        }
    }
}
