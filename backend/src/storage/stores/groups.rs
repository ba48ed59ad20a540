//! Groups, as mod_groups_internal stores them: keyval `group_info` (user = group id;
//! `name`, `muc_jid`) and map `groups` (user = group id, key = member, value `{}`), plus
//! the group chat: a MUC room on the groups MUC host, stored as Prosody's mod_muc does
//! (keyval `config` of the room: `_data`, `_affiliation_data`, `_jid`, one key per
//! affiliated JID; map `persistent` at host level).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value as Json};

use crate::storage::kinds::{KeyVal, Map};
use crate::storage::{rows, StoreError};

pub(in crate::storage) const INFO: &str = "group_info";
pub(in crate::storage) const MEMBERS: &str = "groups";
const MUC_CONFIG: &str = "config";
const MUC_PERSISTENT: &str = "persistent";

/// A name Prosody may have stored as a number (Lua strings and numbers mix).
fn de_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Json>::deserialize(d)? {
        Some(Json::String(s)) => Some(s),
        Some(Json::Number(n)) => Some(n.to_string()),
        Some(other) => return Err(serde::de::Error::custom(format!("expected text, found {other}"))),
        None => None,
    })
}

/// A `group_info` table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupInfo {
    #[serde(default, deserialize_with = "de_text", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "de_text", skip_serializing_if = "Option::is_none")]
    pub muc_jid: Option<String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Json>,
}

/// The host's groups and their group chats.
pub struct Groups<'a> {
    pub(in crate::storage) info: KeyVal<'a, GroupInfo>,
    pub(in crate::storage) members: Map<'a, Json>,
    pub(in crate::storage) c: &'a r2d2_sqlite::rusqlite::Connection,
    pub(in crate::storage) host: &'a str,
    pub(in crate::storage) muc_host: &'a str,
}

impl Groups<'_> {
    pub fn info(&self, gid: &str) -> Result<Option<GroupInfo>, StoreError> {
        self.info.get(gid)
    }

    pub fn exists(&self, gid: &str) -> Result<bool, StoreError> {
        self.info.exists(gid)
    }

    pub fn set_info(&self, gid: &str, info: &GroupInfo) -> Result<(), StoreError> {
        self.info.set(gid, info)
    }

    /// Every group, sorted by id.
    pub fn all(&self) -> Result<Vec<(String, GroupInfo)>, StoreError> {
        self.info.every()
    }

    /// The members of a group, sorted.
    pub fn members(&self, gid: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.members.keys(gid)?.into_iter().filter(|k| !k.is_empty()).collect())
    }

    /// Every group's members (group id → sorted usernames).
    pub fn all_members(&self) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (gid, member, _) in self.members.every()? {
            if !member.is_empty() {
                out.entry(gid).or_default().push(member);
            }
        }
        Ok(out)
    }

    /// The ids of the existing groups `user` is a member of, sorted.
    pub fn of_user(&self, user: &str) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for gid in self.members.users_with(user)? {
            if self.exists(&gid)? {
                out.push(gid);
            }
        }
        Ok(out)
    }

    /// The room node of a group chat on our MUC host.
    fn room_of(&self, muc_jid: &str) -> Option<String> {
        let (node, host) = muc_jid.split_once('@')?;
        (host == self.muc_host).then(|| node.to_string())
    }

    fn member_jid(&self, user: &str) -> String {
        format!("{user}@{}", self.host)
    }

    fn room_config(&self) -> Map<'_, Json> {
        Map::new(self.c, self.muc_host, MUC_CONFIG)
    }

    /// Adds a member, and affiliates them with the group chat, as mod_groups_internal.
    pub fn add_member(&self, gid: &str, info: &GroupInfo, user: &str) -> Result<(), StoreError> {
        self.members.set(gid, user, &json!({}))?;
        if let Some(room) = info.muc_jid.as_deref().and_then(|j| self.room_of(j)) {
            self.room_config().set(&room, &self.member_jid(user), &json!("member"))?;
        }
        Ok(())
    }

    /// Removes the membership row and the group chat affiliation, if any.
    pub fn remove_member(&self, gid: &str, user: &str) -> Result<(), StoreError> {
        self.members.delete(gid, user)?;
        if let Some(room) = self.info(gid)?.and_then(|i| i.muc_jid).and_then(|j| self.room_of(&j)) {
            self.room_config().delete(&room, &self.member_jid(user))?;
        }
        Ok(())
    }

    /// Creates a persistent, members-only group chat `room@muc_host` named `name`.
    pub fn create_room(&self, room: &str, name: &str) -> Result<String, StoreError> {
        let jid = format!("{room}@{}", self.muc_host);
        let data = json!({"name": name, "persistent": true, "members_only": true, "whois": "anyone", "hidden": true});
        let config = self.room_config();
        config.set(room, "_data", &data)?;
        config.set(room, "_affiliation_data", &json!({}))?;
        config.set(room, "_jid", &json!(jid))?;
        Map::<Json>::new(self.c, self.muc_host, MUC_PERSISTENT).set("", &jid, &json!(true))?;
        Ok(jid)
    }

    /// Deletes a group, its memberships and its group chat's rows.
    pub fn delete(&self, gid: &str, info: &GroupInfo) -> Result<(), StoreError> {
        self.info.clear(gid)?;
        self.members.clear(gid)?;
        if let Some(jid) = &info.muc_jid {
            if let Some(room) = self.room_of(jid) {
                rows::purge_user(self.c, self.muc_host, &room)?;
                Map::<Json>::new(self.c, self.muc_host, MUC_PERSISTENT).delete("", jid)?;
            }
        }
        Ok(())
    }
}
