//! Store `accounts` (mod_auth_internal_hashed): one keyval table per user with the
//! SCRAM-SHA-1 keys; Prosody 13 adds `created`, `updated` (also the time of the last
//! password change: tokens granted before it are void) and `disabled`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::scram::Credentials;
use crate::storage::kinds::KeyVal;
use crate::storage::{ProsodyVersion, StoreError};

pub(in crate::storage) const STORE: &str = "accounts";

/// An `accounts` table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Account {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iteration_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_key: Option<String>,
    /// A plaintext password (mod_auth_internal_plain, or before rehashing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Prosody 13: when the account was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<i64>,
    /// Prosody 13: last change of password or enabled state (`password_updated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<i64>,
    /// Prosody 13: `true` while the account is disabled (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_meta: Option<Json>,
    /// Fields of other modules or versions, kept as they are.
    #[serde(flatten)]
    pub other: BTreeMap<String, Json>,
}

impl Account {
    pub fn enabled(&self) -> bool {
        self.disabled != Some(true)
    }

    /// When tokens granted earlier stop being valid (Prosody 13's `password_updated`).
    pub fn password_updated(&self) -> Option<i64> {
        self.updated
    }

    fn set_credentials(&mut self, cred: &Credentials) {
        self.salt = Some(cred.salt.clone());
        self.iteration_count = Some(i64::from(cred.iteration_count));
        self.stored_key = Some(cred.stored_key.clone());
        self.server_key = Some(cred.server_key.clone());
        self.password = None;
    }
}

/// The `accounts` store of the host.
pub struct Accounts<'a> {
    pub(in crate::storage) kv: KeyVal<'a, Account>,
    pub(in crate::storage) version: ProsodyVersion,
}

impl Accounts<'_> {
    pub fn get(&self, user: &str) -> Result<Option<Account>, StoreError> {
        self.kv.get(user)
    }

    /// `user_exists`: the account has at least one row.
    pub fn exists(&self, user: &str) -> Result<bool, StoreError> {
        self.kv.exists(user)
    }

    /// Every account of the host, sorted.
    pub fn users(&self) -> Result<Vec<String>, StoreError> {
        self.kv.users()
    }

    /// Whether the host has any account.
    pub fn any(&self) -> Result<bool, StoreError> {
        self.kv.any()
    }

    /// `create_user`, as the profile's Prosody writes it.
    pub fn create(&self, user: &str, cred: &Credentials, now: i64) -> Result<(), StoreError> {
        let mut a = Account::default();
        a.set_credentials(cred);
        if self.version == ProsodyVersion::V13 {
            a.created = Some(now);
            a.updated = Some(now);
        }
        self.kv.set(user, &a)
    }

    /// `set_password`: new salt and keys, other fields kept; 13 also moves `updated`,
    /// which voids the tokens granted before.
    pub fn set_password(&self, user: &str, cred: &Credentials, now: i64) -> Result<bool, StoreError> {
        let Some(mut a) = self.kv.get(user)? else { return Ok(false) };
        a.set_credentials(cred);
        if self.version == ProsodyVersion::V13 {
            a.updated = Some(now);
        }
        self.kv.set(user, &a)?;
        Ok(true)
    }

    /// Whether this layout can disable accounts (Prosody 13).
    pub fn can_disable(&self) -> bool {
        self.version == ProsodyVersion::V13
    }

    /// `enable`/`disable` as Prosody 13 does them; `Ok(false)` when the account does not
    /// exist. An error on a layout that cannot disable accounts.
    pub fn set_enabled(&self, user: &str, enabled: bool, now: i64) -> Result<bool, StoreError> {
        if !self.can_disable() {
            return Err(StoreError(format!("Prosody {}'s accounts cannot be disabled", self.version)));
        }
        let Some(mut a) = self.kv.get(user)? else { return Ok(false) };
        if enabled {
            a.disabled = None;
            a.disabled_meta = None;
        } else {
            a.disabled = Some(true);
        }
        a.updated = Some(now);
        self.kv.set(user, &a)?;
        Ok(true)
    }
}
