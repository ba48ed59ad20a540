//! Users: accounts (store `accounts`), their PEP nickname, roles and groups.

use prosody_admin_api::models;
use r2d2_sqlite::rusqlite::Connection;
use serde_json::json;
use swagger::Nullable;

use crate::error::Failure;
use crate::store;
use crate::username::Username;
use crate::values::Value;
use crate::xml;
use crate::{groups, Backend, Settings};

pub const ACCOUNTS: &str = "accounts";
pub const ROLES: &str = "roles";
pub const PEP: &str = "pep";
/// The archive store of the nick node's items; the item id is `current`.
pub const NICK_ARCHIVE: &str = "pep_http://jabber.org/protocol/nick";
pub const ADMIN_ROLE: &str = "prosody:admin";
const MAX_ROLES: usize = 64;
/// Characters (not bytes): the spec's `maxLength`.
const MAX_TEXT: usize = 1023;

/// Characters XML 1.0 cannot carry (the nick is published as XML).
pub fn xml_forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// `user_exists`: the account has at least one `accounts` row.
pub fn exists(c: &Connection, s: &Settings, user: &Username) -> Result<bool, Failure> {
    Ok(store::kv_exists(c, &s.host, user.as_str(), ACCOUNTS)?)
}

pub fn require(c: &Connection, s: &Settings, user: &Username) -> Result<(), Failure> {
    if exists(c, s, user)? {
        Ok(())
    } else {
        Err(Failure::NotFound(format!("user {user} not found")))
    }
}

/// The user's roles: the `roles` rows whose value is true, sorted; a configured admin
/// reports exactly `prosody:admin`, as mod_authz_internal 0.12 does.
pub fn roles(c: &Connection, s: &Settings, user: &str) -> Result<Vec<String>, Failure> {
    if s.is_config_admin(user) {
        return Ok(vec![ADMIN_ROLE.to_string()]);
    }
    Ok(store::kv_all(c, &s.host, user, ROLES)?
        .into_iter()
        .filter(|(_, v)| *v == Value::Boolean(true))
        .map(|(k, _)| k)
        .collect())
}

/// Whether the user may use this API: configured admin, or role `prosody:admin`.
pub fn is_admin(c: &Connection, s: &Settings, user: &str) -> Result<bool, Failure> {
    Ok(s.is_config_admin(user)
        || store::kv_get(c, &s.host, user, ROLES, ADMIN_ROLE)? == Some(Value::Boolean(true)))
}

pub fn nick(c: &Connection, s: &Settings, user: &str) -> Result<Option<String>, Failure> {
    Ok(store::archive_get(c, &s.host, user, NICK_ARCHIVE, "current")?.and_then(|(_, _, v)| match v {
        Value::Xml(x) => xml::nick_text(&x),
        _ => None,
    }))
}

/// Publishes the nick as mod_pep does for the admin API: the node config row (created
/// once) and the item `current` (with = '', because the module publishes as the server).
pub fn set_nick(c: &Connection, s: &Settings, user: &str, nick: Option<&str>, now: i64) -> Result<(), Failure> {
    let node = xml::NS_NICK;
    match nick {
        Some(text) => {
            if store::kv_get(c, &s.host, user, PEP, node)?.is_none() {
                let config = json!({
                    "config": {"_defaults_only": true, "access_model": "open"},
                    "name": node,
                    "affiliations": {},
                    "subscribers": {},
                });
                store::kv_set(c, &s.host, user, PEP, node, &Value::Json(config))?;
            }
            let item = Value::Xml(xml::nick_element(text));
            store::archive_put(c, &s.host, user, NICK_ARCHIVE, "current", now, "", &item)?;
        }
        None => {
            store::archive_delete(c, &s.host, user, NICK_ARCHIVE, "current")?;
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

pub fn get(c: &Connection, s: &Settings, user: &Username) -> Result<models::User, Failure> {
    require(c, s, user)?;
    let name = user.as_str();
    Ok(to_model(name.to_string(), nick(c, s, name)?, roles(c, s, name)?, groups::of_user(c, s, name)?))
}

/// Every account, sorted by username, in four queries whatever the number of users.
pub fn list(c: &Connection, s: &Settings) -> Result<Vec<models::User>, Failure> {
    let stores = store::ListingStores {
        accounts: ACCOUNTS,
        nick_archive: NICK_ARCHIVE,
        roles: ROLES,
        groups: groups::GROUPS,
        group_info: groups::GROUP_INFO,
    };
    let mut out = Vec::new();
    store::list_accounts(c, &s.host, &stores, |u| {
        let nick = match u.nick {
            Some(Value::Xml(x)) => xml::nick_text(&x),
            _ => None,
        };
        let roles = if s.is_config_admin(&u.name) { vec![ADMIN_ROLE.to_string()] } else { u.roles };
        out.push(to_model(u.name, nick, roles, u.groups));
    })?;
    Ok(out)
}

/// What a PUT may change, validated before any write.
#[derive(Debug)]
pub struct Update {
    /// None: unchanged; Some(None): remove; Some(Some(n)): set.
    pub display_name: Option<Option<String>>,
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
                if d.chars().any(xml_forbidden) {
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
                if r.is_empty() || r.chars().count() > MAX_TEXT {
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

pub fn update(c: &Connection, s: &Settings, user: &Username, up: &Update, now: i64) -> Result<models::User, Failure> {
    require(c, s, user)?;
    let name = user.as_str();
    if let Some(d) = &up.display_name {
        set_nick(c, s, name, d.as_deref(), now)?;
    }
    if let Some(roles) = &up.roles {
        store::kv_clear(c, &s.host, name, ROLES)?;
        for r in roles {
            store::kv_set(c, &s.host, name, ROLES, r, &Value::Boolean(true))?;
        }
    }
    get(c, s, user)
}

/// Deletes the account as Prosody's `delete_user` does (every row of the user on this
/// host, both tables), and also the user's group memberships (rows of other "users",
/// the groups) and group chat affiliations, which Prosody leaves behind.
pub fn delete(c: &Connection, s: &Settings, user: &Username) -> Result<(), Failure> {
    require(c, s, user)?;
    let name = user.as_str();
    for gid in groups::of_user(c, s, name)? {
        groups::remove_member_rows(c, s, &gid, name)?;
    }
    store::purge_user(c, &s.host, name)?;
    Ok(())
}

impl Backend {
    pub async fn list_users(&self) -> Result<Vec<models::User>, Failure> {
        let b = self.clone();
        self.store().read(move |c| list(c, b.settings())).await
    }

    pub async fn get_user(&self, user: Username) -> Result<models::User, Failure> {
        let b = self.clone();
        self.store().read(move |c| get(c, b.settings(), &user)).await
    }

    /// Updates a user; the caller may not take `prosody:admin` from their own account
    /// (unless configured as an admin, whose roles rows do not count).
    pub async fn update_user(&self, user: Username, up: Update, caller: &str) -> Result<models::User, Failure> {
        let own_admin_role = user.as_str() == caller && !self.settings().is_config_admin(caller);
        if own_admin_role && up.roles.as_ref().is_some_and(|r| !r.iter().any(|x| x == ADMIN_ROLE)) {
            return Err(Failure::Conflict(format!(
                "removing {ADMIN_ROLE} from {user} would revoke the token in use; use another admin's token"
            )));
        }
        let b = self.clone();
        let now = crate::now();
        self.store().write(move |c| update(c, b.settings(), &user, &up, now)).await
    }

    /// Deletes an account; not the caller's own (that would revoke the token in use and
    /// could lock the last admin out).
    pub async fn delete_user(&self, user: Username, caller: &str) -> Result<(), Failure> {
        if user.as_str() == caller {
            return Err(Failure::Conflict(format!("{user} is the account of the token in use; use another admin's token")));
        }
        let b = self.clone();
        self.store().write(move |c| delete(c, b.settings(), &user)).await
    }

    pub async fn user_groups(&self, user: Username) -> Result<Vec<String>, Failure> {
        let b = self.clone();
        self.store()
            .read(move |c| {
                require(c, b.settings(), &user)?;
                groups::of_user(c, b.settings(), user.as_str())
            })
            .await
    }
}
