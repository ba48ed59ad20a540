//! Prosody 13's account lifecycle stores: `account_activity` (mod_account_activity:
//! keyval per user, `timestamp` of the last login or logout) and `accounts_cleanup`
//! (mod_user_account_management: keyval per user while a self-requested deletion is
//! pending: `deleted_at`, `pending_until`). Prosody 0.12 has neither (empty stores).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::tokens::de_time;
use crate::storage::kinds::KeyVal;
use crate::storage::StoreError;
use crate::values::Value;

pub(in crate::storage) const ACTIVITY: &str = "account_activity";
pub(in crate::storage) const CLEANUP: &str = "accounts_cleanup";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    #[serde(default, deserialize_with = "de_time", skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Json>,
}

/// A pending deletion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletionRequest {
    #[serde(default, deserialize_with = "de_time")]
    pub deleted_at: Option<i64>,
    #[serde(default, deserialize_with = "de_time")]
    pub pending_until: Option<i64>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Json>,
}

impl DeletionRequest {
    /// From a listing's rows.
    pub(in crate::storage) fn from_rows(rows: Vec<(String, Value)>) -> Option<DeletionRequest> {
        if rows.is_empty() {
            return None;
        }
        let table: serde_json::Map<String, Json> =
            rows.into_iter().filter_map(|(k, v)| v.to_json().map(|j| (k, j))).collect();
        serde_json::from_value(Json::Object(table)).ok()
    }
}

pub struct Lifecycle<'a> {
    pub(in crate::storage) activity: KeyVal<'a, Activity>,
    pub(in crate::storage) cleanup: KeyVal<'a, DeletionRequest>,
}

impl Lifecycle<'_> {
    pub fn last_active(&self, user: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.activity.get(user)?.and_then(|a| a.timestamp))
    }

    /// Accounts whose last recorded activity is at `since` or later.
    pub fn active_since(&self, since: i64) -> Result<i64, StoreError> {
        self.activity.count_at_least("timestamp", since)
    }

    pub fn deletion_request(&self, user: &str) -> Result<Option<DeletionRequest>, StoreError> {
        self.cleanup.get(user)
    }
}
