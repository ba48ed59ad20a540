//! Store `invite_token` (core mod_invites, the same in 0.12 and 13): a map store at
//! host level (user ''), key = the token, value = the whole invite. Prosody's own
//! mod_invites must be able to redeem what we write, so the value has exactly its fields.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::tokens::de_time;
use crate::storage::kinds::Map;
use crate::storage::{ProsodyVersion, StoreError};

pub(in crate::storage) const STORE: &str = "invite_token";

/// An invite as mod_invites' `create_invite` stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredInvite {
    #[serde(rename = "type")]
    pub kind: String,
    pub jid: String,
    pub token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_registration: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, deserialize_with = "de_time", skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    #[serde(default, deserialize_with = "de_time", skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
    /// `groups`, `source`, `allow_reset`, ... (free-form: other modules add keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_data: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reusable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inviter: Option<String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Json>,
}

/// The host's invites.
pub struct Invites<'a> {
    pub(in crate::storage) map: Map<'a, Json>,
    pub(in crate::storage) version: ProsodyVersion,
}

/// The roles of `additional_data.roles`, in either version's form: 13's array (primary
/// first) in order, or 0.12's map of role → true, sorted.
pub fn decode_roles(j: &Json) -> Vec<String> {
    match j {
        Json::Array(a) => a.iter().filter_map(|r| r.as_str().map(str::to_string)).collect(),
        Json::Object(o) => o.iter().filter(|(_, v)| v.as_bool() == Some(true)).map(|(k, _)| k.clone()).collect(),
        _ => Vec::new(),
    }
}

const HOST_LEVEL: &str = "";

impl Invites<'_> {
    /// `additional_data.roles` as this version's mod_invites_register reads it: 13
    /// takes an array (the first is the primary role), 0.12 stores the value as the
    /// account's `roles` table, a map of role → true.
    pub fn encode_roles(&self, roles: &[String]) -> Json {
        match self.version {
            ProsodyVersion::V13 => Json::from(roles.to_vec()),
            ProsodyVersion::V0_12 => Json::Object(roles.iter().map(|r| (r.clone(), Json::Bool(true))).collect()),
        }
    }

    /// A row that is not an invite is not one here either (other modules share nothing
    /// with this store, but a hand-edited row must not break every listing): skipped,
    /// with a warning.
    fn decode(key: &str, j: Json) -> Option<StoredInvite> {
        match serde_json::from_value(j) {
            Ok(i) => Some(i),
            Err(e) => {
                log::warn!("invite_token row {key:?} is not an invite: {e}");
                None
            }
        }
    }

    pub fn get(&self, token: &str) -> Result<Option<StoredInvite>, StoreError> {
        Ok(self.map.get(HOST_LEVEL, token)?.and_then(|j| Self::decode(token, j)))
    }

    /// Every invite, expired ones included (they stay until Prosody's cleanup).
    pub fn all(&self) -> Result<Vec<StoredInvite>, StoreError> {
        Ok(self.map.all(HOST_LEVEL)?.into_iter().filter_map(|(k, j)| Self::decode(&k, j)).collect())
    }

    pub fn put(&self, invite: &StoredInvite) -> Result<(), StoreError> {
        let j = serde_json::to_value(invite).map_err(|e| StoreError(format!("invite_token: {e}")))?;
        self.map.set(HOST_LEVEL, &invite.token, &j)
    }

    pub fn delete(&self, token: &str) -> Result<bool, StoreError> {
        self.map.delete(HOST_LEVEL, token)
    }
}
