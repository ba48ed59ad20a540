//! Bearer token strings, as Prosody's mod_tokenauth makes them.
//! - Prosody 0.12: `base64("1;" .. jid .. ";" .. token_id)`; the token is the row
//!   `auth_tokens[username][token_id]`.
//! - Prosody 13: `"secret-token:" .. base64("2;" .. grant_id .. ";" .. secret .. ";" .. jid)`
//!   with an 18-byte random secret; the grant `auth_tokens[username][grant_id]` holds
//!   the token under `"sha256:" .. hex(sha256(secret))`.
//!
//! Parsed forms hold the secret parts, and their `Debug` hides them, so that they cannot
//! end up in a log by accident.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use sha2::{Digest, Sha256};

/// The scope a 0.12 token needs to use this API.
pub const ADMIN_SCOPE: &str = "prosody:scope:admin";
const SECRET_PREFIX: &str = "secret-token:";
/// Prosody 13's secret length, in bytes (`random.bytes(18)`).
pub const SECRET_LEN: usize = 18;
/// Longer strings are not tokens (and are not decoded).
const MAX_LEN: usize = 2048;

fn b64(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s).or_else(|_| STANDARD_NO_PAD.decode(s)).ok()
}

fn split_jid(jid: &str) -> Option<(String, String)> {
    let (username, host) = jid.split_once('@')?;
    if username.is_empty() || host.is_empty() || host.contains('/') {
        return None;
    }
    Some((username.to_string(), host.to_string()))
}

/// A Prosody 0.12 token string.
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
        if token.is_empty() || token.len() > MAX_LEN {
            return None;
        }
        let raw = String::from_utf8(b64(token)?).ok()?;
        let mut parts = raw.splitn(3, ';');
        if parts.next()? != "1" {
            return None;
        }
        let (username, host) = split_jid(parts.next()?)?;
        let id = parts.next()?;
        if id.is_empty() {
            return None;
        }
        Some(TokenRef { username, host, id: id.to_string() })
    }

    /// The string a client sends.
    pub fn encode(&self) -> String {
        STANDARD.encode(format!("1;{}@{};{}", self.username, self.host, self.id))
    }
}

/// A Prosody 13 `secret-token:` string.
#[derive(Clone, PartialEq)]
pub struct SecretToken {
    pub grant_id: String,
    pub username: String,
    pub host: String,
    secret: [u8; SECRET_LEN],
}

impl std::fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretToken({}@{}, grant={}, secret=…)", self.username, self.host, self.grant_id)
    }
}

impl SecretToken {
    pub fn new(grant_id: &str, username: &str, host: &str, secret: [u8; SECRET_LEN]) -> SecretToken {
        SecretToken { grant_id: grant_id.into(), username: username.into(), host: host.into(), secret }
    }

    /// Parses as mod_tokenauth's `parse_token`: `^2;([^;]+);(.{18});(.+)$` over bytes.
    pub fn parse(token: &str) -> Option<SecretToken> {
        let token = token.trim();
        if token.len() > MAX_LEN {
            return None;
        }
        let raw = b64(token.strip_prefix(SECRET_PREFIX)?)?;
        let rest = raw.strip_prefix(b"2;")?;
        let semi = rest.iter().position(|&b| b == b';')?;
        let (id, rest) = (&rest[..semi], &rest[semi + 1..]);
        if id.is_empty() || rest.len() < SECRET_LEN + 2 || rest[SECRET_LEN] != b';' {
            return None;
        }
        let mut secret = [0u8; SECRET_LEN];
        secret.copy_from_slice(&rest[..SECRET_LEN]);
        let jid = std::str::from_utf8(&rest[SECRET_LEN + 1..]).ok()?;
        let (username, host) = split_jid(jid)?;
        Some(SecretToken { grant_id: String::from_utf8(id.to_vec()).ok()?, username, host, secret })
    }

    /// The string a client sends.
    pub fn encode(&self) -> String {
        let mut raw = Vec::with_capacity(64);
        raw.extend_from_slice(b"2;");
        raw.extend_from_slice(self.grant_id.as_bytes());
        raw.push(b';');
        raw.extend_from_slice(&self.secret);
        raw.push(b';');
        raw.extend_from_slice(format!("{}@{}", self.username, self.host).as_bytes());
        format!("{SECRET_PREFIX}{}", STANDARD.encode(raw))
    }

    /// See [`Bearer::public_id`].
    pub fn public_id(&self) -> String {
        format!("grant:{}", self.grant_id)
    }

    /// The grant's key for this token: `sha256:` + lowercase hex of sha256(secret).
    pub fn hash_key(&self) -> String {
        let digest = Sha256::digest(self.secret);
        let mut out = String::with_capacity(7 + 64);
        out.push_str("sha256:");
        for b in digest {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }
}

/// A bearer string of either format.
#[derive(Debug, Clone, PartialEq)]
pub enum Bearer {
    V012(TokenRef),
    V13(SecretToken),
}

impl Bearer {
    pub fn parse(token: &str) -> Option<Bearer> {
        if token.trim_start().starts_with(SECRET_PREFIX) {
            SecretToken::parse(token).map(Bearer::V13)
        } else {
            TokenRef::parse(token).map(Bearer::V012)
        }
    }

    pub fn username(&self) -> &str {
        match self {
            Bearer::V012(t) => &t.username,
            Bearer::V13(t) => &t.username,
        }
    }

    pub fn host(&self) -> &str {
        match self {
            Bearer::V012(t) => &t.host,
            Bearer::V13(t) => &t.host,
        }
    }

    /// Which token this is, safe to record (the audit log): Prosody 13's grant id (the
    /// secret is apart from it); for 0.12, whose token id *is* the secret, the first 16
    /// hex digits of sha256 of the token string.
    pub fn public_id(&self) -> String {
        match self {
            Bearer::V13(t) => t.public_id(),
            Bearer::V012(t) => {
                let digest = Sha256::digest(t.encode().as_bytes());
                let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
                format!("sha256:{hex}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_prosody_012_mints() {
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
    fn parses_what_prosody_13_mints() {
        // Minted by Prosody 13.0.1's mod_tokenauth (create_grant + create_token); its
        // grant stored the token under this hash.
        let s = "secret-token:Mjt1UUJPWnFPSmJLaHA7lSe4uQk/2BOwDrrbkQp554OKO2FsaWNlQGxvY2FsaG9zdA==";
        let t = SecretToken::parse(s).unwrap();
        assert_eq!((t.grant_id.as_str(), t.username.as_str(), t.host.as_str()), ("uQBOZqOJbKhp", "alice", "localhost"));
        assert_eq!(t.hash_key(), "sha256:e88d7efc73ace4291ef7b556176ecb061a24b0a5339e88148040ac8f952d23b0");
        assert_eq!(t.encode(), s);
        assert!(!format!("{t:?}").contains("lSe4"));
        assert_eq!(Bearer::V13(t.clone()).public_id(), "grant:uQBOZqOJbKhp");
        assert!(matches!(Bearer::parse(s), Some(Bearer::V13(_))));
        for bad in ["secret-token:", "secret-token:!!!", &format!("secret-token:{}", STANDARD.encode("2;id;short;a@b"))]
        {
            assert!(Bearer::parse(bad).is_none(), "{bad}");
        }
    }
}
