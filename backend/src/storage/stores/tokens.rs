//! Store `auth_tokens` (mod_tokenauth): map store, user = the owner's username.
//! - Prosody 0.12: key = the token id, value = the token (`session.auth_scope`, ...).
//! - Prosody 13: key = the grant id, value = a grant that holds its tokens keyed by
//!   `sha256:` + hex(sha256(secret)): the secrets themselves are never stored.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value as Json;

use crate::storage::kinds::Map;
use crate::storage::{ProsodyVersion, StoreError};

pub(in crate::storage) const STORE: &str = "auth_tokens";

/// Lua numbers may come back with a fraction; times are whole seconds.
pub(in crate::storage) fn de_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.map(|f| f as i64))
}

/// util.json writes an empty Lua table as `[]` or `{}`: both are an empty map here.
fn de_table<'de, D: Deserializer<'de>, V: Deserialize<'de>>(d: D) -> Result<BTreeMap<String, V>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Table<V> {
        Map(BTreeMap<String, V>),
        Empty([(); 0]),
    }
    Ok(match Table::deserialize(d)? {
        Table::Map(m) => m,
        Table::Empty(_) => BTreeMap::new(),
    })
}

/// A Prosody 0.12 token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegacyToken {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, deserialize_with = "de_time", skip_serializing_if = "Option::is_none")]
    pub created: Option<i64>,
    #[serde(default, deserialize_with = "de_time", skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jid: Option<String>,
    #[serde(default)]
    pub session: LegacySession,
    #[serde(flatten)]
    pub other: BTreeMap<String, Json>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LegacySession {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_scope: Option<String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Json>,
}

/// A Prosody 13 grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    pub id: String,
    pub owner: String,
    #[serde(default, deserialize_with = "de_time", skip_serializing_if = "Option::is_none")]
    pub created: Option<i64>,
    #[serde(default, deserialize_with = "de_time", skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
    #[serde(default, deserialize_with = "de_time", skip_serializing_if = "Option::is_none")]
    pub accessed: Option<i64>,
    pub jid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Free-form; `mod_http_oauth2` keeps `oauth2_scopes` here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Json>,
    /// `sha256:<hex>` → token. None: an old-style grant without tokens.
    #[serde(default, deserialize_with = "de_tokens", skip_serializing_if = "Option::is_none")]
    pub tokens: Option<BTreeMap<String, GrantToken>>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Json>,
}

fn de_tokens<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BTreeMap<String, GrantToken>>, D::Error> {
    de_table(d).map(Some)
}

/// One token of a grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantToken {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, deserialize_with = "de_time", skip_serializing_if = "Option::is_none")]
    pub created: Option<i64>,
    #[serde(default, deserialize_with = "de_time", skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Json>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Json>,
}

impl Grant {
    /// When `token` stops being valid: the earlier of its own expiry and the grant's.
    pub fn expiry_of(&self, token: &GrantToken) -> Option<i64> {
        match (token.expires, self.expires) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A stored token, as its version keeps it.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    Legacy(LegacyToken),
    Grant(Grant),
}

/// The `auth_tokens` store of the host.
pub struct AuthTokens<'a> {
    pub(in crate::storage) map: Map<'a, Json>,
    pub(in crate::storage) version: ProsodyVersion,
}

impl AuthTokens<'_> {
    fn decode(&self, user: &str, key: &str, j: Json) -> Result<Stored, StoreError> {
        let what = |e: serde_json::Error| StoreError(format!("auth_tokens of {user:?}, key {key:?}: {e}"));
        Ok(match self.version {
            ProsodyVersion::V0_12 => Stored::Legacy(serde_json::from_value(j).map_err(what)?),
            ProsodyVersion::V13 => Stored::Grant(serde_json::from_value(j).map_err(what)?),
        })
    }

    /// A 0.12 token by id, or a 13 grant by id.
    pub fn get(&self, user: &str, id: &str) -> Result<Option<Stored>, StoreError> {
        match self.map.get(user, id)? {
            Some(j) => self.decode(user, id, j).map(Some),
            None => Ok(None),
        }
    }

    pub fn put(&self, user: &str, id: &str, t: &Stored) -> Result<(), StoreError> {
        let j = match t {
            Stored::Legacy(l) => serde_json::to_value(l),
            Stored::Grant(g) => serde_json::to_value(g),
        }
        .map_err(|e| StoreError(format!("auth_tokens: {e}")))?;
        self.map.set(user, id, &j)
    }

    pub fn delete(&self, user: &str, id: &str) -> Result<bool, StoreError> {
        self.map.delete(user, id)
    }

    /// Every token (0.12) or grant (13) of the host: (owner's username, id, token).
    pub fn every(&self) -> Result<Vec<(String, String, Stored)>, StoreError> {
        self.map.every()?.into_iter().map(|(u, k, j)| self.decode(&u, &k, j).map(|t| (u, k, t))).collect()
    }
}
