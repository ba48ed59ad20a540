//! Groups, as mod_groups_internal stores them: `group_info` (user = group id; keys
//! `name`, `muc_jid`) and `groups` (user = group id, key = member, value `{}`), plus
//! the group chat's room rows on the groups MUC host.

use std::collections::HashMap;

use prosody_admin_api::models;
use r2d2_sqlite::rusqlite::Connection;
use serde_json::json;
use swagger::Nullable;

use crate::error::Failure;
use crate::store;
use crate::username::Username;
use crate::values::Value;
use crate::{ids, users, Backend, Settings};

pub const GROUP_INFO: &str = "group_info";
pub const GROUPS: &str = "groups";
const MUC_CONFIG: &str = "config";
const MUC_PERSISTENT: &str = "persistent";
/// Characters (not bytes): the spec's `maxLength`.
const MAX_NAME: usize = 1023;

#[derive(Default)]
struct Info {
    name: String,
    muc_jid: Option<String>,
}

impl Info {
    /// Takes one `group_info` row.
    fn set(&mut self, key: &str, v: &Value) {
        match key {
            "name" => self.name = v.to_text().unwrap_or_default(),
            "muc_jid" => self.muc_jid = v.to_text(),
            _ => {}
        }
    }
}

fn info(c: &Connection, s: &Settings, gid: &str) -> Result<Option<Info>, Failure> {
    let rows = store::kv_all(c, &s.host, gid, GROUP_INFO)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut i = Info::default();
    for (k, v) in rows {
        i.set(&k, &v);
    }
    Ok(Some(i))
}

fn require(c: &Connection, s: &Settings, gid: &str) -> Result<Info, Failure> {
    info(c, s, gid)?.ok_or_else(|| Failure::NotFound(format!("group {gid:?} not found")))
}

pub fn exists(c: &Connection, s: &Settings, gid: &str) -> Result<bool, Failure> {
    Ok(store::kv_exists(c, &s.host, gid, GROUP_INFO)?)
}

fn members(c: &Connection, s: &Settings, gid: &str) -> Result<Vec<String>, Failure> {
    Ok(store::kv_all(c, &s.host, gid, GROUPS)?.into_iter().map(|(k, _)| k).filter(|k| !k.is_empty()).collect())
}

fn to_model(gid: String, i: Info, members: Vec<String>) -> models::Group {
    let mut g = models::Group::new(gid, i.name, members);
    g.muc_jid = Some(match i.muc_jid {
        Some(j) => Nullable::Present(j),
        None => Nullable::Null,
    });
    g
}

/// The ids of the existing groups `user` is a member of, sorted.
pub fn of_user(c: &Connection, s: &Settings, user: &str) -> Result<Vec<String>, Failure> {
    let mut out = Vec::new();
    for gid in store::users_with_key(c, &s.host, GROUPS, user)? {
        if exists(c, s, &gid)? {
            out.push(gid);
        }
    }
    Ok(out)
}

pub fn list(c: &Connection, s: &Settings) -> Result<Vec<models::Group>, Failure> {
    let mut infos: Vec<(String, Info)> = Vec::new();
    for (gid, key, v) in store::store_rows(c, &s.host, GROUP_INFO)? {
        if infos.last().map(|(g, _)| g != &gid).unwrap_or(true) {
            infos.push((gid.clone(), Info::default()));
        }
        if let Some((_, i)) = infos.last_mut() {
            i.set(&key, &v);
        }
    }
    let mut members: HashMap<String, Vec<String>> = HashMap::new();
    for (gid, member, _) in store::store_rows(c, &s.host, GROUPS)? {
        if !member.is_empty() {
            members.entry(gid).or_default().push(member);
        }
    }
    Ok(infos
        .into_iter()
        .map(|(gid, i)| {
            let m = members.remove(&gid).unwrap_or_default();
            to_model(gid, i, m)
        })
        .collect())
}

pub fn get(c: &Connection, s: &Settings, gid: &str) -> Result<models::Group, Failure> {
    let i = require(c, s, gid)?;
    let m = members(c, s, gid)?;
    Ok(to_model(gid.to_string(), i, m))
}

/// Validates a new group's name (the spec requires it; non-blank, bounded).
pub fn check_name(name: &str) -> Result<(), Failure> {
    if name.trim().is_empty() {
        return Err(Failure::BadRequest("group name must not be blank".into()));
    }
    if name.chars().count() > MAX_NAME {
        return Err(Failure::BadRequest(format!("group name longer than {MAX_NAME} characters")));
    }
    // It is also the group chat's name, which Prosody sends in XML.
    if name.chars().any(users::xml_forbidden) {
        return Err(Failure::BadRequest("group name contains characters XML cannot carry".into()));
    }
    Ok(())
}

/// Creates a group (and its group chat): 12-char base64url id, like util.id.short().
pub fn create(c: &Connection, s: &Settings, name: &str, create_muc: bool) -> Result<models::Group, Failure> {
    check_name(name)?;
    let mut gid = ids::short()?;
    while exists(c, s, &gid)? {
        gid = ids::short()?;
    }
    store::kv_set(c, &s.host, &gid, GROUP_INFO, "name", &Value::String(name.to_string()))?;
    if create_muc {
        // jid.prep lower-cases the node, as mod_groups_internal's room ids are.
        let room = ids::short()?.to_lowercase();
        let jid = format!("{room}@{}", s.groups_muc_host);
        let m = &s.groups_muc_host;
        let data = json!({"name": name, "persistent": true, "members_only": true, "whois": "anyone", "hidden": true});
        store::kv_set(c, m, &room, MUC_CONFIG, "_data", &Value::Json(data))?;
        store::kv_set(c, m, &room, MUC_CONFIG, "_affiliation_data", &Value::Json(json!({})))?;
        store::kv_set(c, m, &room, MUC_CONFIG, "_jid", &Value::String(jid.clone()))?;
        store::kv_set(c, m, "", MUC_PERSISTENT, &jid, &Value::Boolean(true))?;
        store::kv_set(c, &s.host, &gid, GROUP_INFO, "muc_jid", &Value::String(jid))?;
    }
    get(c, s, &gid)
}

/// The room node of a group chat on the configured MUC host.
fn room_of(s: &Settings, muc_jid: &str) -> Option<String> {
    let (node, host) = muc_jid.split_once('@')?;
    (host == s.groups_muc_host).then(|| node.to_string())
}

/// Deletes a group, its memberships and its group chat's rows.
pub fn delete(c: &Connection, s: &Settings, gid: &str) -> Result<(), Failure> {
    let i = require(c, s, gid)?;
    store::kv_clear(c, &s.host, gid, GROUP_INFO)?;
    store::kv_clear(c, &s.host, gid, GROUPS)?;
    if let Some(jid) = &i.muc_jid {
        if let Some(room) = room_of(s, jid) {
            store::purge_user(c, &s.groups_muc_host, &room)?;
            store::kv_delete(c, &s.groups_muc_host, "", MUC_PERSISTENT, jid)?;
        }
    }
    Ok(())
}

pub fn add_member(c: &Connection, s: &Settings, gid: &str, user: &Username) -> Result<(), Failure> {
    let i = require(c, s, gid)?;
    users::require(c, s, user)?;
    store::kv_set(c, &s.host, gid, GROUPS, user.as_str(), &Value::Json(json!({})))?;
    if let Some(room) = i.muc_jid.as_deref().and_then(|j| room_of(s, j)) {
        let member_jid = format!("{user}@{}", s.host);
        store::kv_set(c, &s.groups_muc_host, &room, MUC_CONFIG, &member_jid, &Value::String("member".into()))?;
    }
    Ok(())
}

pub fn remove_member(c: &Connection, s: &Settings, gid: &str, user: &Username) -> Result<(), Failure> {
    require(c, s, gid)?;
    users::require(c, s, user)?;
    remove_member_rows(c, s, gid, user.as_str())
}

/// The membership row and the group chat affiliation, if any.
pub fn remove_member_rows(c: &Connection, s: &Settings, gid: &str, user: &str) -> Result<(), Failure> {
    store::kv_delete(c, &s.host, gid, GROUPS, user)?;
    if let Some(room) = info(c, s, gid)?.and_then(|i| i.muc_jid).and_then(|j| room_of(s, &j)) {
        store::kv_delete(c, &s.groups_muc_host, &room, MUC_CONFIG, &format!("{user}@{}", s.host))?;
    }
    Ok(())
}

impl Backend {
    pub async fn list_groups(&self) -> Result<Vec<models::Group>, Failure> {
        let b = self.clone();
        self.store().read(move |c| list(c, b.settings())).await
    }

    pub async fn get_group(&self, gid: String) -> Result<models::Group, Failure> {
        let b = self.clone();
        self.store().read(move |c| get(c, b.settings(), &gid)).await
    }

    pub async fn create_group(&self, name: String, create_muc: bool) -> Result<models::Group, Failure> {
        check_name(&name)?;
        let b = self.clone();
        self.store().write(move |c| create(c, b.settings(), &name, create_muc)).await
    }

    pub async fn delete_group(&self, gid: String) -> Result<(), Failure> {
        let b = self.clone();
        self.store().write(move |c| delete(c, b.settings(), &gid)).await
    }

    pub async fn add_group_member(&self, gid: String, user: Username) -> Result<(), Failure> {
        let b = self.clone();
        self.store().write(move |c| add_member(c, b.settings(), &gid, &user)).await
    }

    pub async fn remove_group_member(&self, gid: String, user: Username) -> Result<(), Failure> {
        let b = self.clone();
        self.store().write(move |c| remove_member(c, b.settings(), &gid, &user)).await
    }
}
