//! Users: accounts, their PEP nickname, roles and groups.

use prosody_admin_api::models;
use serde_json::json;
use swagger::Nullable;

use crate::error::Failure;
use crate::storage::kinds::Item;
use crate::storage::stores::roles::RoleSet;
use crate::storage::Db;
use crate::storage::NICK_NODE;
use crate::username::Username;
use crate::values::Value;
use crate::xml;
use crate::{Backend, Settings};

const MAX_ROLES: usize = 64;
/// Characters (not bytes): the spec's `maxLength`.
const MAX_TEXT: usize = 1023;
/// The item id of singleton PEP nodes.
const CURRENT: &str = "current";

pub fn require(db: &Db, user: &Username) -> Result<(), Failure> {
    if db.accounts().exists(user.as_str())? {
        Ok(())
    } else {
        Err(Failure::NotFound(format!("user {user} not found")))
    }
}

fn nick_of(v: Option<Value>) -> Option<String> {
    match v {
        Some(Value::Xml(x)) => xml::nick_text(&x),
        _ => None,
    }
}

pub fn nick(db: &Db, user: &str) -> Result<Option<String>, Failure> {
    Ok(nick_of(db.pep().item(user, NICK_NODE, CURRENT)?.map(|i| i.value)))
}

/// Publishes the nick as mod_pep does for the admin API: the node (created once, open
/// access) and the item `current` (with = '', because the module publishes as the
/// server).
pub fn set_nick(db: &Db, user: &str, nick: Option<&str>, now: i64) -> Result<(), Failure> {
    let pep = db.pep();
    match nick {
        Some(text) => {
            pep.ensure_node(user, NICK_NODE, json!({"_defaults_only": true, "access_model": "open"}))?;
            let item = Item { when: now, with: String::new(), value: Value::Xml(xml::nick_element(text)) };
            pep.put_item(user, NICK_NODE, CURRENT, &item)?;
        }
        None => {
            pep.delete_item(user, NICK_NODE, CURRENT)?;
        }
    }
    Ok(())
}

fn to_model(username: String, display_name: Option<String>, roles: Vec<String>, groups: Vec<String>) -> models::User {
    let mut u = models::User::new();
    u.username = Some(username);
    u.display_name = Some(match display_name {
        Some(d) => Nullable::Present(d),
        None => Nullable::Null,
    });
    u.roles = Some(roles);
    u.groups = Some(groups);
    u
}

pub fn get(db: &Db, s: &Settings, user: &Username) -> Result<models::User, Failure> {
    require(db, user)?;
    let name = user.as_str();
    let roles = db.roles().of(name)?.names(s.is_config_admin(name));
    Ok(to_model(name.to_string(), nick(db, name)?, roles, db.groups().of_user(name)?))
}

/// Every account, sorted by username, in four queries whatever the number of users.
pub fn list(db: &Db, s: &Settings) -> Result<Vec<models::User>, Failure> {
    let mut out = Vec::new();
    db.list_accounts(|u| {
        let roles = u.roles.names(s.is_config_admin(&u.name));
        out.push(to_model(u.name, nick_of(u.nick), roles, u.groups));
    })?;
    Ok(out)
}

/// What a PUT may change, validated before any write.
#[derive(Debug)]
pub struct Update {
    /// None: unchanged; Some(None): remove; Some(Some(n)): set.
    pub display_name: Option<Option<String>>,
    /// Sorted, without duplicates.
    pub roles: Option<Vec<String>>,
}

impl Update {
    pub fn from_body(path_user: &Username, body: models::User) -> Result<Update, Failure> {
        if let Some(name) = &body.username {
            let same = Username::parse(name).map(|n| n == *path_user).unwrap_or(false);
            if !same {
                return Err(Failure::BadRequest(format!(
                    "username in body ({name:?}) differs from the one in the path ({path_user:?})"
                )));
            }
        }
        let display_name = match body.display_name {
            None => None,
            Some(Nullable::Null) => Some(None),
            Some(Nullable::Present(d)) => {
                if d.chars().count() > MAX_TEXT {
                    return Err(Failure::BadRequest(format!("display_name longer than {MAX_TEXT} characters")));
                }
                if d.chars().any(xml::forbidden) {
                    return Err(Failure::BadRequest("display_name contains characters XML cannot carry".into()));
                }
                Some(Some(d))
            }
        };
        if let Some(roles) = &body.roles {
            if roles.len() > MAX_ROLES {
                return Err(Failure::BadRequest(format!("more than {MAX_ROLES} roles")));
            }
            for r in roles {
                // `_default` is Prosody 13's key for the primary role, not a role.
                if r.is_empty() || r.chars().count() > MAX_TEXT || r == "_default" {
                    return Err(Failure::BadRequest(format!("invalid role name {r:?}")));
                }
            }
        }
        let mut roles = body.roles;
        if let Some(r) = roles.as_mut() {
            r.sort();
            r.dedup();
        }
        Ok(Update { display_name, roles })
    }
}

pub fn update(
    db: &Db,
    s: &Settings,
    user: &Username,
    up: &Update,
    caller: &str,
    now: i64,
) -> Result<models::User, Failure> {
    require(db, user)?;
    let name = user.as_str();
    if let Some(d) = &up.display_name {
        set_nick(db, name, d.as_deref(), now)?;
    }
    if let Some(names) = &up.roles {
        let roles = RoleSet::from_names(db.version(), names);
        // The caller may not take the admin role from their own account: that would
        // revoke the token in use (config admins stay admins whatever is stored).
        if name == caller && !roles.is_admin(s.is_config_admin(name)) {
            return Err(Failure::Conflict(format!(
                "these roles would take the admin role from {user}, the account of the token in use; use another admin's token"
            )));
        }
        db.roles().set(name, &roles)?;
    }
    get(db, s, user)
}

/// Deletes the account as Prosody's `delete_user` does (every row of the user on this
/// host, both tables), and also the user's group memberships (rows of other "users",
/// the groups) and group chat affiliations, which Prosody leaves behind.
pub fn delete(db: &Db, user: &Username) -> Result<(), Failure> {
    require(db, user)?;
    let name = user.as_str();
    let groups = db.groups();
    for gid in groups.of_user(name)? {
        groups.remove_member(&gid, name)?;
    }
    db.purge_user(name)?;
    Ok(())
}

impl Backend {
    pub async fn list_users(&self) -> Result<Vec<models::User>, Failure> {
        let b = self.clone();
        self.store().read(move |db| list(db, b.settings())).await
    }

    pub async fn get_user(&self, user: Username) -> Result<models::User, Failure> {
        let b = self.clone();
        self.store().read(move |db| get(db, b.settings(), &user)).await
    }

    /// Updates a user; the caller may not take the admin role from their own account.
    pub async fn update_user(&self, user: Username, up: Update, caller: &str) -> Result<models::User, Failure> {
        let b = self.clone();
        let now = crate::now()?;
        let caller = caller.to_string();
        self.store().write(move |db| update(db, b.settings(), &user, &up, &caller, now)).await
    }

    /// Deletes an account; not the caller's own (that would revoke the token in use and
    /// could lock the last admin out).
    pub async fn delete_user(&self, user: Username, caller: &str) -> Result<(), Failure> {
        if user.as_str() == caller {
            return Err(Failure::Conflict(format!(
                "{user} is the account of the token in use; use another admin's token"
            )));
        }
        self.store().write(move |db| delete(db, &user)).await
    }

    pub async fn user_groups(&self, user: Username) -> Result<Vec<String>, Failure> {
        self.store()
            .read(move |db| {
                require(db, &user)?;
                Ok(db.groups().of_user(user.as_str())?)
            })
            .await
    }
}
