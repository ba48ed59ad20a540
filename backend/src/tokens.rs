//! Bearer token administration for the command line: create, list, revoke.

use crate::error::Failure;
use crate::token::{self, TokenInfo, TokenRef, STORE};
use crate::username::Username;
use crate::values::Value;
use crate::{store, users, Backend};

/// A token as listed (never with its secret id).
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub owner: String,
    pub scope: Option<String>,
    pub created: Option<i64>,
    pub expires: Option<i64>,
}

impl Backend {
    /// Mints an admin-scope token for an existing account; returns the token string.
    pub fn create_token(&self, user: &Username, ttl: Option<u64>) -> Result<String, Failure> {
        let s = self.settings().clone();
        self.store().write_blocking(|c| {
            users::require(c, &s, user)?;
            let (r, v) = token::mint(user.as_str(), &s.host, crate::now(), ttl)?;
            store::kv_set(c, &s.host, user.as_str(), STORE, &r.id, &Value::Json(v))?;
            Ok(r.encode())
        })
    }

    pub fn list_tokens(&self) -> Result<Vec<Listed>, Failure> {
        let s = self.settings().clone();
        self.store().read_blocking(|c| {
            Ok(store::store_rows(c, &s.host, STORE)?
                .into_iter()
                .filter_map(|(user, _, v)| {
                    let info = TokenInfo::from_json(v.as_json()?);
                    Some(Listed { owner: format!("{user}@{}", s.host), scope: info.scope, created: info.created, expires: info.expires })
                })
                .collect())
        })
    }

    /// Revokes a token given as the string clients send; false when it did not exist.
    pub fn revoke_token(&self, token: &str) -> Result<bool, Failure> {
        let t = TokenRef::parse(token).ok_or_else(|| Failure::BadRequest("not a Prosody bearer token".into()))?;
        let host = self.settings().host.clone();
        self.store().write_blocking(|c| Ok(store::kv_delete(c, &host, &t.username, STORE, &t.id)?))
    }
}
