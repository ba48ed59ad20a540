//! Roles (mod_authz_internal). Prosody 0.12: map store `roles`, key = role name, value
//! `true`. Prosody 13: map store `account_roles`, key `_default` = the primary role's
//! name (absent: the host's default role), every other key a secondary role (`true`).
//! Either way, admins listed in the config's `admins` are `prosody:admin`.

use std::collections::BTreeSet;

use crate::storage::kinds::Map;
use crate::storage::{ProsodyVersion, StoreError};
use crate::values::Value;

pub const ADMIN: &str = "prosody:admin";
pub const OPERATOR: &str = "prosody:operator";
/// Prosody 13's default `default_user_role` for a normal host.
pub const DEFAULT_ROLE_13: &str = "prosody:registered";
/// Prosody 13's built-in roles, most powerful first (their `priority` order).
pub const BUILTIN_13: [&str; 5] = [OPERATOR, ADMIN, "prosody:member", DEFAULT_ROLE_13, "prosody:guest"];
const PRIMARY_KEY: &str = "_default";

pub(in crate::storage) fn store_name(version: ProsodyVersion) -> &'static str {
    match version {
        ProsodyVersion::V0_12 => "roles",
        ProsodyVersion::V13 => "account_roles",
    }
}

/// An account's roles as stored, read in the profile's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleSet {
    version: ProsodyVersion,
    /// 13: the stored primary role (None: the host's default). Always None on 0.12.
    pub primary: Option<String>,
    /// 0.12: every role; 13: the secondary roles.
    pub secondary: BTreeSet<String>,
}

impl RoleSet {
    /// From the rows that say something: `true` keys, and `_default` on 13.
    pub(in crate::storage) fn from_rows(
        version: ProsodyVersion,
        rows: impl IntoIterator<Item = (String, Value)>,
    ) -> RoleSet {
        let mut r = RoleSet { version, primary: None, secondary: BTreeSet::new() };
        for (k, v) in rows {
            match (version, k.as_str(), v) {
                (ProsodyVersion::V13, PRIMARY_KEY, Value::String(p)) => r.primary = Some(p),
                (_, _, Value::Boolean(true)) if k != PRIMARY_KEY || version == ProsodyVersion::V0_12 => {
                    r.secondary.insert(k);
                }
                _ => {}
            }
        }
        r
    }

    /// The role set a list of names means (a PUT's `roles`). On 13 the most powerful
    /// built-in role among them becomes the primary role and the others secondary; the
    /// default role is not stored, as Prosody's `set_user_role` does.
    pub fn from_names(version: ProsodyVersion, names: &[String]) -> RoleSet {
        let mut secondary: BTreeSet<String> = names.iter().cloned().collect();
        let mut primary = None;
        if version == ProsodyVersion::V13 {
            if let Some(p) = BUILTIN_13.iter().find(|b| secondary.contains(**b)) {
                secondary.remove(*p);
                if *p != DEFAULT_ROLE_13 {
                    primary = Some(p.to_string());
                }
            }
        }
        RoleSet { version, primary, secondary }
    }

    /// Sets the primary role (13; one of the built-in roles, which the spec's enum
    /// ensures: Prosody cannot load a primary role it does not know), as
    /// `set_user_role`: it stops being a secondary role; the default is not stored.
    pub fn set_primary(&mut self, role: &str) {
        self.secondary.remove(role);
        self.primary = (role != DEFAULT_ROLE_13).then(|| role.to_string());
    }

    /// The secondary roles (13), or every role (0.12).
    pub fn secondary_names(&self) -> Vec<String> {
        self.secondary.iter().cloned().collect()
    }

    /// The primary role in effect on 13 (config admins are `prosody:admin`); None on 0.12,
    /// which has no primary role.
    pub fn effective_primary(&self, config_admin: bool) -> Option<String> {
        match self.version {
            ProsodyVersion::V0_12 => None,
            ProsodyVersion::V13 if config_admin => Some(ADMIN.to_string()),
            ProsodyVersion::V13 => Some(self.primary.clone().unwrap_or_else(|| DEFAULT_ROLE_13.to_string())),
        }
    }

    /// The API's `roles`: every role the account holds, sorted. 0.12: the stored roles,
    /// or exactly `prosody:admin` for a config admin (as 0.12's mod_authz_internal
    /// reports); 13: the primary role in effect and the secondary roles.
    pub fn names(&self, config_admin: bool) -> Vec<String> {
        match self.version {
            ProsodyVersion::V0_12 if config_admin => vec![ADMIN.to_string()],
            ProsodyVersion::V0_12 => self.secondary.iter().cloned().collect(),
            ProsodyVersion::V13 => {
                let mut all = self.secondary.clone();
                all.extend(self.effective_primary(config_admin));
                all.into_iter().collect()
            }
        }
    }

    /// Prosody 13's `user_can_assume_role`: the primary role in effect or a secondary.
    pub fn can_assume(&self, role: &str, config_admin: bool) -> bool {
        self.effective_primary(config_admin).as_deref() == Some(role) || self.secondary.contains(role)
    }

    /// Whether the account may administer the server: a config admin, or a holder of
    /// `prosody:admin` (0.12), or of `prosody:admin`/`prosody:operator` (13).
    pub fn is_admin(&self, config_admin: bool) -> bool {
        config_admin
            || match self.version {
                ProsodyVersion::V0_12 => self.secondary.contains(ADMIN),
                ProsodyVersion::V13 => self.can_assume(ADMIN, false) || self.can_assume(OPERATOR, false),
            }
    }
}

/// The roles store of the host.
pub struct Roles<'a> {
    pub(in crate::storage) map: Map<'a, serde_json::Value>,
    pub(in crate::storage) version: ProsodyVersion,
}

impl Roles<'_> {
    pub fn of(&self, user: &str) -> Result<RoleSet, StoreError> {
        Ok(self.decode(self.map.all(user)?))
    }

    /// One account's role rows, as this version reads them.
    fn decode(&self, rows: impl IntoIterator<Item = (String, serde_json::Value)>) -> RoleSet {
        RoleSet::from_rows(self.version, rows.into_iter().filter_map(|(k, j)| Value::from_json(j).map(|v| (k, v))))
    }

    /// Replaces the account's roles.
    pub fn set(&self, user: &str, roles: &RoleSet) -> Result<(), StoreError> {
        self.map.clear(user)?;
        if let Some(p) = &roles.primary {
            self.map.set(user, PRIMARY_KEY, &serde_json::Value::String(p.clone()))?;
        }
        for r in &roles.secondary {
            self.map.set(user, r, &serde_json::Value::Bool(true))?;
        }
        Ok(())
    }

    /// The accounts whose stored roles make them admins (configured admins aside).
    pub fn admins(&self) -> Result<Vec<String>, StoreError> {
        let rows = self.map.every()?;
        Ok(rows
            .chunk_by(|a, b| a.0 == b.0)
            .filter(|user| self.decode(user.iter().map(|(_, k, j)| (k.clone(), j.clone()))).is_admin(false))
            .map(|user| user[0].0.clone())
            .collect())
    }

    /// Makes the account an admin as this version's tools do: 0.12 `roles` row
    /// `prosody:admin`; 13 primary role `prosody:admin` (`user:set_role`).
    pub fn grant_admin(&self, user: &str) -> Result<(), StoreError> {
        match self.version {
            ProsodyVersion::V0_12 => self.map.set(user, ADMIN, &serde_json::Value::Bool(true)),
            ProsodyVersion::V13 => {
                self.map.delete(user, ADMIN)?;
                self.map.set(user, PRIMARY_KEY, &serde_json::Value::String(ADMIN.into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirteen_reads_primary_and_secondary() {
        let rows = vec![
            ("_default".to_string(), Value::String("prosody:member".into())),
            ("prosody:admin".to_string(), Value::Boolean(true)),
        ];
        let r = RoleSet::from_rows(ProsodyVersion::V13, rows);
        assert_eq!(r.names(false), ["prosody:admin", "prosody:member"]);
        assert!(r.is_admin(false) && r.can_assume(ADMIN, false) && !r.can_assume(OPERATOR, false));
        let none = RoleSet::from_rows(ProsodyVersion::V13, vec![]);
        assert_eq!(none.names(false), [DEFAULT_ROLE_13]);
        assert!(!none.is_admin(false) && none.is_admin(true));
        assert_eq!(none.names(true), [ADMIN]);
    }

    #[test]
    fn names_map_to_primary_on_13_only() {
        let names = vec!["custom".to_string(), ADMIN.to_string(), "prosody:member".to_string()];
        let r = RoleSet::from_names(ProsodyVersion::V13, &names);
        assert_eq!(r.primary.as_deref(), Some(ADMIN));
        assert_eq!(r.secondary.iter().collect::<Vec<_>>(), ["custom", "prosody:member"]);
        let d = RoleSet::from_names(ProsodyVersion::V13, &[DEFAULT_ROLE_13.to_string()]);
        assert_eq!((d.primary, d.secondary.len()), (None, 0));
        let old = RoleSet::from_names(ProsodyVersion::V0_12, &names);
        assert_eq!((old.primary.clone(), old.names(false).len()), (None, 3));
        assert!(old.is_admin(false));
    }
}
