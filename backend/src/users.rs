//! Users: accounts, their PEP nickname, roles and groups.

use prosody_admin_api::models;
use serde_json::json;
use swagger::Nullable;

use crate::error::{App, Failure};
use crate::paging::{Admit, JsonArray, Listing, Page};
use crate::storage::kinds::Item;
use crate::storage::stores::activity::DeletionRequest;
use crate::storage::stores::roles::RoleSet;
use crate::storage::{Db, ProsodyVersion, UserRecord, CURRENT, NICK_NODE};
use crate::username::Username;
use crate::values::Value;
use crate::xml;
use crate::{Backend, Settings};
use std::collections::HashSet;

const MAX_ROLES: usize = 64;
/// Characters (not bytes): the spec's `maxLength`.
const MAX_TEXT: usize = 1023;

pub fn require(db: &Db, user: &Username) -> Result<(), Failure> {
    if db.accounts().exists(user.as_str())? {
        Ok(())
    } else {
        Err(Failure::user_not_found(user))
    }
}

fn nick_of(v: Option<Value>) -> Option<String> {
    match v {
        Some(Value::Xml(x)) => xml::nick_text(&x),
        _ => None,
    }
}

/// Publishes the nick as mod_pep does for the admin API: the node (created once, open
/// access) and the item `current` (with = '', because the module publishes as the
/// server).
pub fn set_nick(db: &Db, user: &str, nick: Option<&str>, now: i64) -> Result<(), Failure> {
    let pep = db.pep();
    match nick {
        Some(text) => {
            pep.ensure_node(user, NICK_NODE, json!({"_defaults_only": true, "access_model": "open"}))?;
            let item = Item { when: now, with: String::new(), value: Value::Xml(xml::nick_element(text)?) };
            pep.put_item(user, NICK_NODE, CURRENT, &item)?;
        }
        None => {
            pep.delete_item(user, NICK_NODE, CURRENT)?;
        }
    }
    Ok(())
}

fn avatar_info(v: Option<Value>) -> Vec<models::AvatarInfo> {
    let Some(Value::Xml(x)) = v else { return Vec::new() };
    xml::avatar_infos(&x)
        .unwrap_or_default()
        .into_iter()
        .map(|a| {
            let mut m = models::AvatarInfo::new();
            let n = |v: Option<i64>| Some(v.map(Nullable::Present).unwrap_or(Nullable::Null));
            m.bytes = n(a.bytes);
            m.width = n(a.width);
            m.height = n(a.height);
            m.hash = Some(a.id.map(Nullable::Present).unwrap_or(Nullable::Null));
            m.r#type = Some(a.media_type.map(Nullable::Present).unwrap_or(Nullable::Null));
            m
        })
        .collect()
}

/// Who is online now, where the live path can tell: their `last_active` is now, as
/// Prosody 13's mod_account_activity answers it while an account has a session.
pub struct Presence {
    pub online: Option<HashSet<String>>,
    pub now: i64,
}

impl Presence {
    fn last_active(&self, name: &str, stored: Option<i64>) -> Option<i64> {
        match &self.online {
            Some(o) if o.contains(name) => Some(self.now),
            _ => stored,
        }
    }
}

fn to_model(s: &Settings, v: UserRecord, presence: &Presence) -> models::User {
    let config_admin = s.is_config_admin(&v.name);
    let mut u = models::User::new();
    u.jid = Some(format!("{}@{}", v.name, s.host));
    u.display_name = Some(match nick_of(v.nick) {
        Some(d) => Nullable::Present(d),
        None => Nullable::Null,
    });
    u.roles = Some(v.roles.names(config_admin));
    // The primary role in effect, built-in or custom. 0.12 has no primary role: absent.
    u.role = v.roles.effective_primary(config_admin).map(|r| Nullable::Present(r.to_string()));
    // As the later module: a field that says nothing is absent (listings of many
    // accounts stay small). 0.12 has no secondary roles: every role is in `roles`.
    u.secondary_roles = v.roles.effective_primary(false).map(|_| v.roles.secondary_names());
    u.groups = Some(v.groups);
    u.enabled = Some(v.enabled);
    u.last_active = presence.last_active(&v.name, v.last_active).map(Nullable::Present);
    let avatars = avatar_info(v.avatar);
    u.avatar_info = (!avatars.is_empty()).then_some(avatars);
    // Shown while the account is disabled pending deletion.
    u.deletion_request = match v.deletion_request.filter(|_| !v.enabled) {
        Some(DeletionRequest { deleted_at: Some(d), pending_until: Some(p), .. }) => {
            Some(Nullable::Present(models::UserDeletionRequest::new(d, p)))
        }
        _ => None,
    };
    u.username = Some(v.name);
    u
}

pub fn get(db: &Db, s: &Settings, user: &Username, presence: &Presence) -> Result<models::User, Failure> {
    let record = db.user(user.as_str())?.ok_or_else(|| Failure::user_not_found(user))?;
    Ok(to_model(s, record, presence))
}

/// Every account, sorted by username, in one query per store whatever the number of users.
/// Hands `emit` the users of a page, in username order; returns the next page's cursor
/// when more follow.
fn each(
    db: &Db,
    s: &Settings,
    page: &Page,
    presence: &Presence,
    mut emit: impl FnMut(models::User) -> Result<(), Failure>,
) -> Result<Option<String>, Failure> {
    let (mut taken, mut last, mut more, mut failed) = (0, None, false, None);
    db.list_accounts(page.after.as_deref().unwrap_or(""), page.fetch(), |u| {
        if failed.is_some() || more {
            return;
        }
        match page.admit(taken, &u.name) {
            Admit::Before => {}
            Admit::Beyond => more = true,
            Admit::Take => {
                taken += 1;
                // Only a limited page can have a next one, named after its last item.
                if page.limit.is_some() {
                    last = Some(u.name.clone());
                }
                if let Err(e) = emit(to_model(s, u, presence)) {
                    failed = Some(e);
                }
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(last.filter(|_| more).map(|k| Page::cursor(&k)))
}

/// A page of users as models, and the next page's cursor.
pub fn list(
    db: &Db,
    s: &Settings,
    page: &Page,
    presence: &Presence,
) -> Result<(Vec<models::User>, Option<String>), Failure> {
    let mut out = Vec::new();
    let next = each(db, s, page, presence, |u| {
        out.push(u);
        Ok(())
    })?;
    Ok((out, next))
}

/// A page of users written straight into its JSON body (no list of models).
/// Presence is news for a second: a page that shows it is served from the cache no
/// longer than that.
pub fn list_json(db: &Db, s: &Settings, page: &Page, presence: &Presence) -> Result<Listing, Failure> {
    let mut arr = JsonArray::default();
    let next = each(db, s, page, presence, |u| arr.push(&u))?;
    let valid_until = presence.online.as_ref().map(|_| presence.now + crate::PRESENCE_TTL);
    Ok(Listing { body: arr.finish(), next, valid_until })
}

/// What a PUT may change, validated before any write.
#[derive(Debug)]
pub struct Update {
    /// None: unchanged; Some(None): remove; Some(Some(n)): set.
    pub display_name: Option<Option<String>>,
    /// Sorted, without duplicates.
    pub roles: Option<Vec<String>>,
    /// The primary role to set (Prosody 13).
    pub role: Option<String>,
    pub enabled: Option<bool>,
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
        let role = match body.role {
            None | Some(Nullable::Null) => None,
            // One the server knows: checked against its settings before the write.
            Some(Nullable::Present(r)) => Some(r),
        };
        let mut roles = body.roles;
        if let Some(r) = roles.as_mut() {
            r.sort();
            r.dedup();
        }
        Ok(Update { display_name, roles, role, enabled: body.enabled })
    }

    /// A PATCH: only `enabled`.
    pub fn enabled(enabled: bool) -> Update {
        Update { display_name: None, roles: None, role: None, enabled: Some(enabled) }
    }
}

/// The enabled admins of the host: configured admins with an account, and accounts whose
/// stored roles make them admins, minus disabled accounts.
fn enabled_admins(db: &Db, s: &Settings) -> Result<Vec<String>, Failure> {
    let mut names: Vec<String> = s
        .admins
        .iter()
        .filter_map(|jid| jid.split_once('@').filter(|(_, h)| *h == s.host).map(|(n, _)| n.to_string()))
        .collect();
    names.extend(db.roles().admins()?);
    names.sort();
    names.dedup();
    let mut out = Vec::new();
    for n in names {
        if db.accounts().get(&n)?.is_some_and(|a| a.enabled()) {
            out.push(n);
        }
    }
    Ok(out)
}

pub fn update(
    db: &Db,
    s: &Settings,
    user: &Username,
    up: &Update,
    caller: &str,
    now: i64,
) -> Result<models::User, Failure> {
    let name = user.as_str();
    let Some(account) = db.accounts().get(name)? else {
        return Err(Failure::user_not_found(user));
    };
    let config_admin = s.is_config_admin(name);
    // Everything is checked before anything is written.
    let old_roles = db.roles().of(name)?;
    let mut roles = match &up.roles {
        Some(names) => RoleSet::from_names(db.version(), names),
        None => old_roles.clone(),
    };
    if let Some(r) = &up.role {
        if db.version() == ProsodyVersion::V0_12 {
            return Err(Failure::BadRequest("Prosody 0.12 has no primary role: set `roles` instead of `role`".into()));
        }
        roles.set_primary(r);
    }
    let was_enabled = account.enabled();
    let enabled = up.enabled.unwrap_or(was_enabled);
    if enabled != was_enabled && !db.accounts().can_disable() {
        return Err(Failure::BadRequest(format!(
            "Prosody {}'s accounts cannot be disabled (Prosody 13 can)",
            db.version()
        )));
    }
    let was_admin = was_enabled && old_roles.is_admin(config_admin);
    let is_admin = enabled && roles.is_admin(config_admin);
    if was_admin && !is_admin {
        // Removing the caller's own admin role, or disabling the caller, would revoke the
        // token in use; removing the last admin would leave nobody to administer.
        if name == caller {
            return Err(Failure::Conflict(format!(
                "this would take the admin role from {user} or disable it, the account of the token in use; \
                 use another admin's token"
            )));
        }
        if enabled_admins(db, s)?.iter().all(|a| a == name) {
            return Err(Failure::App(App::CannotRemoveOnlyAdmin, format!("{user} is the last enabled admin")));
        }
    }
    // A token is good for a role its account may assume (13 checks it on every use):
    // the account of the token in use may gain roles, but lose none with that token, or
    // the token would die mid-session (e.g. admin to operator).
    let kept = roles.names(config_admin);
    if name == caller && old_roles.names(config_admin).iter().any(|r| !kept.contains(r)) {
        return Err(Failure::Conflict(format!(
            "{user} is the account of the token in use: it cannot give up a role with that token (the token would \
             stop working); use another admin's token"
        )));
    }
    if !enabled && name == caller {
        return Err(Failure::Conflict(format!("{user} is the account of the token in use: it cannot disable itself")));
    }
    if let Some(d) = &up.display_name {
        set_nick(db, name, d.as_deref(), now)?;
    }
    if up.roles.is_some() || up.role.is_some() {
        db.roles().set(name, &roles)?;
    }
    if enabled != was_enabled {
        db.accounts().set_enabled(name, enabled, now)?;
    }
    get(db, s, user, &Presence { online: None, now })
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
    pub async fn list_users(&self, page: Page) -> Result<(Vec<models::User>, Option<String>), Failure> {
        let b = self.clone();
        let presence = self.presence().await?;
        self.store().read(move |db| list(db, b.settings(), &page, &presence)).await
    }

    pub async fn list_users_json(&self, page: Page) -> Result<Listing, Failure> {
        let b = self.clone();
        let presence = self.presence().await?;
        self.store().read(move |db| list_json(db, b.settings(), &page, &presence)).await
    }

    pub async fn get_user(&self, user: Username) -> Result<models::User, Failure> {
        let b = self.clone();
        let presence = self.presence().await?;
        self.store().read(move |db| get(db, b.settings(), &user, &presence)).await
    }

    /// Until when a cached answer that shows presence may be served (None: presence is
    /// not shown, the answer changes only with a commit).
    pub fn presence_valid_until(&self) -> Option<i64> {
        self.presence_source()?;
        crate::now().ok().map(|now| now + crate::PRESENCE_TTL)
    }

    /// Where presence comes from: the live path, on Prosody 13 (whose
    /// mod_account_activity answers "now" for an account with a session).
    fn presence_source(&self) -> Option<&std::sync::Arc<crate::live::Live>> {
        self.live().filter(|_| self.store().version() == ProsodyVersion::V13)
    }

    /// Who has a session now: one question to Prosody's admin socket (Prosody 13, with
    /// the live path configured); without an answer, the stored times stand.
    pub async fn presence(&self) -> Result<Presence, Failure> {
        let now = crate::now()?;
        let Some(live) = self.presence_source() else {
            return Ok(Presence { online: None, now });
        };
        let online = match live.online(&self.settings().host).await {
            Ok(o) => Some(o),
            Err(e) => {
                log::debug!("presence: the stored times stand ({e})");
                None
            }
        };
        Ok(Presence { online, now })
    }

    /// Updates a user; the caller may not take the admin role from their own account.
    pub async fn update_user(&self, user: Username, up: Update, caller: &str) -> Result<models::User, Failure> {
        if let Some(r) = up.role.as_deref().filter(|r| !self.settings().knows_role(r)) {
            return Err(Failure::BadRequest(format!(
                "unknown role {r:?}: the server knows {}",
                self.settings().known_roles()
            )));
        }
        let b = self.clone();
        let now = crate::now()?;
        let caller = caller.to_string();
        let name = user.as_str().to_string();
        let (disabled, role_changed) = (up.enabled == Some(false), up.role.is_some() || up.roles.is_some());
        let out = self.write(move |db| update(db, b.settings(), &user, &up, &caller, now)).await?;
        // A running Prosody hears of it as of its own change.
        if disabled {
            self.tell_prosody(crate::live::Step::User(crate::live::UserEvent::Disabled, name)).await;
        } else if role_changed && self.store().version() == crate::ProsodyVersion::V13 {
            self.tell_prosody(crate::live::Step::User(crate::live::UserEvent::RoleChanged, name)).await;
        }
        Ok(out)
    }

    /// Deletes an account; not the caller's own (that would revoke the token in use and
    /// could lock the last admin out).
    pub async fn delete_user(&self, user: Username, caller: &str) -> Result<(), Failure> {
        if user.as_str() == caller {
            return Err(Failure::Conflict(format!(
                "{user} is the account of the token in use; use another admin's token"
            )));
        }
        let name = user.as_str().to_string();
        self.write(move |db| delete(db, &user)).await?;
        self.tell_prosody(crate::live::Step::User(crate::live::UserEvent::Deleted, name)).await;
        Ok(())
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
