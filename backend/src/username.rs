//! Usernames (JID node parts), validated once at the edge so that the rest of the code
//! only ever sees a prepared name.

use crate::error::Failure;

/// A nodeprep'd username: what Prosody stores in the `user` column for an account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Username(String);

/// RFC 7622 limits each JID part to 1023 octets.
const MAX_LEN: usize = 1023;

impl Username {
    /// Applies nodeprep (RFC 3920 Appendix A, as Prosody's `jid.prep`); rejects names
    /// that nodeprep refuses, that come out empty, or that are too long.
    pub fn parse(raw: &str) -> Result<Username, Failure> {
        if raw.is_empty() {
            return Err(Failure::BadRequest("username must not be empty".into()));
        }
        let prepped = stringprep::nodeprep(raw).map_err(|_| {
            Failure::BadRequest(format!("invalid username {raw:?}: not a valid JID node (nodeprep failed)"))
        })?;
        if prepped.is_empty() {
            return Err(Failure::BadRequest("username must not be empty".into()));
        }
        if prepped.len() > MAX_LEN {
            return Err(Failure::BadRequest(format!("username longer than {MAX_LEN} bytes")));
        }
        Ok(Username(prepped.into_owned()))
    }

    /// A username from a path, to look an account up: as [`Username::parse`], except
    /// that a name nodeprep refuses for reasons the spec's pattern cannot state
    /// (Unicode tables, bidi) names no account that can exist: 404, not 400.
    pub fn lookup(raw: &str) -> Result<Username, Failure> {
        match Username::parse(raw) {
            Err(Failure::BadRequest(_)) if Self::fits_pattern(raw) => Err(Failure::user_not_found(raw)),
            other => other,
        }
    }

    /// A username for an account to be registered: as [`Username::parse`], except that
    /// a name nodeprep refuses beyond what the spec's pattern states can never be
    /// registered: 409, not 400.
    pub fn for_new_account(raw: &str) -> Result<Username, Failure> {
        match Username::parse(raw) {
            Err(Failure::BadRequest(t)) if Self::fits_pattern(raw) => {
                Err(Failure::Conflict(format!("{t}: no account can have this name")))
            }
            other => other,
        }
    }

    /// The spec's `UsernameString` pattern and length: no ASCII control, space or any of
    /// `"&'/:<>@`, 1 to 1023 characters.
    fn fits_pattern(raw: &str) -> bool {
        let n = raw.chars().count();
        (1..=MAX_LEN).contains(&n) && !raw.chars().any(|c| c <= ' ' || c == '\x7f' || "\"&'/:<>@".contains(c))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Username;

    #[test]
    fn nodeprep_rules() {
        assert_eq!(Username::parse("Alice").unwrap().as_str(), "alice");
        assert_eq!(Username::parse("jürgen").unwrap().as_str(), "jürgen");
        for bad in ["", "a@b", "a/b", "a b", "a\"b", "a:b", "a<b", &"x".repeat(1024)] {
            assert!(Username::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    /// The spec's `UsernameString` pattern states nodeprep's ASCII rules: for every ASCII
    /// character, the pattern and the server agree.
    #[test]
    fn spec_pattern_agrees_with_nodeprep_on_ascii() {
        let spec = crate::contract::spec_json().unwrap();
        let pattern = spec["components"]["schemas"]["UsernameString"]["pattern"].as_str().unwrap();
        let re = regex::Regex::new(pattern).unwrap();
        for c in (0u8..128).map(char::from) {
            let s = format!("a{c}b");
            assert_eq!(re.is_match(&s), Username::parse(&s).is_ok(), "{s:?}");
        }
    }
}
