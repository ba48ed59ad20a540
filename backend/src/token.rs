//! Prosody 0.12 bearer tokens (core mod_tokenauth): the token string is
//! `base64("1;" .. jid .. ";" .. token_id)`, and the token itself is the map store
//! `auth_tokens`, user = owner's username, key = token_id, a JSON value.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use serde_json::json;

use crate::error::Failure;

/// The scope a token needs to use this API.
pub const ADMIN_SCOPE: &str = "prosody:scope:admin";
pub const STORE: &str = "auth_tokens";

/// A parsed token string. Holds no secret beyond what the string holds; `Debug` hides
/// the id, so that it cannot end up in a log by accident.
#[derive(Clone, PartialEq)]
pub struct TokenRef {
    pub username: String,
    pub host: String,
    pub id: String,
}

impl std::fmt::Debug for TokenRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenRef({}@{}, id=…)", self.username, self.host)
    }
}

impl TokenRef {
    /// Parses `base64("1;user@host;id")`; None for anything else.
    pub fn parse(token: &str) -> Option<TokenRef> {
        let token = token.trim();
        if token.is_empty() || token.len() > 1024 {
            return None;
        }
        let raw = STANDARD.decode(token).or_else(|_| STANDARD_NO_PAD.decode(token)).ok()?;
        let raw = String::from_utf8(raw).ok()?;
        let mut parts = raw.splitn(3, ';');
        if parts.next()? != "1" {
            return None;
        }
        let jid = parts.next()?;
        let id = parts.next()?;
        let (username, host) = jid.split_once('@')?;
        if username.is_empty() || host.is_empty() || id.is_empty() || host.contains('/') {
            return None;
        }
        Some(TokenRef { username: username.to_string(), host: host.to_string(), id: id.to_string() })
    }

    /// The string a client sends.
    pub fn encode(&self) -> String {
        STANDARD.encode(format!("1;{}@{};{}", self.username, self.host, self.id))
    }
}

/// The stored token, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenInfo {
    pub scope: Option<String>,
    pub created: Option<i64>,
    pub expires: Option<i64>,
}

impl TokenInfo {
    pub fn from_json(v: &serde_json::Value) -> TokenInfo {
        TokenInfo {
            scope: v.pointer("/session/auth_scope").and_then(|s| s.as_str()).map(str::to_string),
            created: v.get("created").and_then(as_i64),
            expires: v.get("expires").and_then(as_i64),
        }
    }

    pub fn expired(&self, now: i64) -> bool {
        self.expires.is_some_and(|e| e < now)
    }
}

fn as_i64(v: &serde_json::Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

/// A new admin-scope token for `username@host`: the reference for the string and the
/// JSON row Prosody's mod_tokenauth writes.
pub fn mint(username: &str, host: &str, now: i64, ttl: Option<u64>) -> Result<(TokenRef, serde_json::Value), Failure> {
    let r = TokenRef { username: username.to_string(), host: host.to_string(), id: crate::ids::long()? };
    let jid = format!("{username}@{host}");
    let mut v = json!({
        "owner": jid,
        "created": now,
        "jid": jid,
        "session": {"username": username, "host": host, "auth_scope": ADMIN_SCOPE},
    });
    if let Some(ttl) = ttl {
        v["expires"] = json!(now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX)));
    }
    Ok((r, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_prosody_mints() {
        // base64("1;admin@localhost;BVnTTK3rTfOcD1ehlWXNfJiVmx_1BY2BK5_I")
        let s = STANDARD.encode("1;admin@localhost;BVnTTK3rTfOcD1ehlWXNfJiVmx_1BY2BK5_I");
        let t = TokenRef::parse(&s).unwrap();
        assert_eq!((t.username.as_str(), t.host.as_str()), ("admin", "localhost"));
        assert_eq!(t.id, "BVnTTK3rTfOcD1ehlWXNfJiVmx_1BY2BK5_I");
        assert_eq!(t.encode(), s);
        assert!(!format!("{t:?}").contains("BVnT"));
        for bad in ["", "garbage", "!!!", &STANDARD.encode("2;a@b;c"), &STANDARD.encode("1;nohost;c")] {
            assert!(TokenRef::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn minted_row_has_prosodys_shape() {
        let (r, v) = mint("admin", "localhost", 100, Some(50)).unwrap();
        assert_eq!(r.id.len(), 36);
        let info = TokenInfo::from_json(&v);
        assert_eq!(info.scope.as_deref(), Some(ADMIN_SCOPE));
        assert_eq!(info.expires, Some(150));
        assert!(info.expired(151) && !info.expired(150));
        assert_eq!(v["owner"], "admin@localhost");
    }
}
