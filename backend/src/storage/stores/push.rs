//! Store `cloud_notify` (mod_cloud_notify): map store per user, key = registration id.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::tokens::de_time;
use crate::storage::kinds::Map;
use crate::storage::StoreError;

pub(in crate::storage) const STORE: &str = "cloud_notify";

/// One push registration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRegistration {
    /// The push service.
    #[serde(default)]
    pub jid: Option<String>,
    #[serde(default)]
    pub node: Option<String>,
    #[serde(default, deserialize_with = "de_time")]
    pub timestamp: Option<i64>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Json>,
}

pub struct Push<'a> {
    pub(in crate::storage) map: Map<'a, PushRegistration>,
}

impl Push<'_> {
    /// The user's registrations by id.
    pub fn of(&self, user: &str) -> Result<Vec<(String, PushRegistration)>, StoreError> {
        self.map.all(user)
    }
}
