//! Groups, as mod_groups_internal stores them: keyval `group_info` (user = group id;
//! `name`, `muc_jid` (the original single chat), `mucs` (the later chats array)) and map
//! `groups` (user = group id, key = member, value `{}`), plus the group chats: MUC rooms
//! on the groups MUC host, stored as Prosody's mod_muc does (keyval `config` of the
//! room: `_data`, `_affiliation_data`, `_jid`, one key per affiliated JID; map
//! `persistent` at host level).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value as Json};

use crate::storage::kinds::{KeyVal, Map};
use crate::storage::StoreError;

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

fn de_jids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Option::<Json>::deserialize(d)? {
        Some(Json::Array(a)) => a.into_iter().filter_map(|j| j.as_str().map(str::to_string)).collect(),
        Some(Json::Object(o)) if o.is_empty() => Vec::new(),
        None => Vec::new(),
        Some(other) => return Err(serde::de::Error::custom(format!("expected a list of JIDs, found {other}"))),
    })
}

impl GroupInfo {
    /// Every chat of the group: the later `mucs`, then the original `muc_jid` (the order
    /// mod_groups_internal lists them in).
    pub fn chat_jids(&self) -> Vec<String> {
        let mut all = self.mucs.clone();
        all.extend(self.muc_jid.clone());
        all
    }
}

/// A group chat as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Chat {
    pub id: String,
    pub jid: String,
    pub name: String,
    pub deleted: bool,
}

/// A `group_info` table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupInfo {
    #[serde(default, deserialize_with = "de_text", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "de_text", skip_serializing_if = "Option::is_none")]
    pub muc_jid: Option<String>,
    /// The later module's chats (room JIDs); an empty Lua table may come back as `{}`.
    #[serde(default, deserialize_with = "de_jids", skip_serializing_if = "Vec::is_empty")]
    pub mucs: Vec<String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Json>,
}

/// The host's groups and their group chats.
pub struct Groups<'a> {
    pub(in crate::storage) info: KeyVal<'a, GroupInfo>,
    pub(in crate::storage) members: Map<'a, Json>,
    pub(in crate::storage) c: crate::storage::engine::Conn<'a>,
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

    /// The rooms of the group's chats on our MUC host, as nodes.
    fn rooms(&self, info: &GroupInfo) -> Vec<String> {
        info.chat_jids().iter().filter_map(|j| self.room_of(j)).collect()
    }

    /// Adds a member, and affiliates them with the group's chats, as mod_groups_internal.
    pub fn add_member(&self, gid: &str, info: &GroupInfo, user: &str) -> Result<(), StoreError> {
        self.members.set(gid, user, &json!({}))?;
        for room in self.rooms(info) {
            if self.room_exists(&room)? {
                self.room_config().set(&room, &self.member_jid(user), &json!("member"))?;
            }
        }
        Ok(())
    }

    /// Removes the membership row and the group chat affiliations, if any.
    pub fn remove_member(&self, gid: &str, user: &str) -> Result<(), StoreError> {
        self.members.delete(gid, user)?;
        if let Some(info) = self.info(gid)? {
            for room in self.rooms(&info) {
                self.room_config().delete(&room, &self.member_jid(user))?;
            }
        }
        Ok(())
    }

    /// Whether a room node is in use on our MUC host (any row of it).
    pub fn room_taken(&self, room: &str) -> Result<bool, StoreError> {
        self.room_config().exists(room)
    }

    fn room_exists(&self, room: &str) -> Result<bool, StoreError> {
        Ok(self.room_config().get(room, "_jid")?.is_some())
    }

    /// The group's chats, with their rooms' names (the group's name when a room is gone).
    pub fn chats(&self, info: &GroupInfo) -> Result<Vec<Chat>, StoreError> {
        let mut out = Vec::new();
        for jid in info.chat_jids() {
            let id = jid.split_once('@').map(|(n, _)| n.to_string()).unwrap_or_else(|| jid.clone());
            let data = match self.room_of(&jid) {
                Some(room) => self.room_config().get(&room, "_data")?,
                None => None,
            };
            let name = data.as_ref().and_then(|d| d.get("name")).and_then(|n| n.as_str()).map(str::to_string);
            let destroyed =
                data.as_ref().and_then(|d| d.get("destroyed")).is_some_and(|d| !d.is_null() && d != &json!(false));
            out.push(Chat {
                id,
                jid,
                name: name.or_else(|| info.name.clone()).unwrap_or_default(),
                deleted: data.is_none() || destroyed,
            });
        }
        Ok(out)
    }

    /// `add_group_chat`: a new room whose members are the group's members; the room
    /// joins `mucs` (the original `muc_jid` moves there too, as the later module does).
    pub fn add_chat(&self, gid: &str, info: &GroupInfo, room: &str, name: &str) -> Result<Chat, StoreError> {
        let jid = self.create_room(room, name)?;
        for member in self.members(gid)? {
            self.room_config().set(room, &self.member_jid(&member), &json!("member"))?;
        }
        let mut info = info.clone();
        info.mucs.push(jid.clone());
        if let Some(old) = info.muc_jid.take() {
            info.mucs.push(old);
        }
        self.set_info(gid, &info)?;
        Ok(Chat { id: room.to_string(), jid, name: name.to_string(), deleted: false })
    }

    /// `remove_group_chat`: the chat leaves the group and its room is destroyed. The
    /// removed room's JID; None when the group has no such chat.
    pub fn remove_chat(&self, gid: &str, info: &GroupInfo, chat_id: &str) -> Result<Option<String>, StoreError> {
        let mut all = info.chat_jids();
        let Some(i) = all.iter().position(|j| j.split_once('@').is_some_and(|(n, _)| n == chat_id)) else {
            return Ok(None);
        };
        let removed = all.remove(i);
        let mut info = info.clone();
        info.mucs = all;
        info.muc_jid = None;
        self.set_info(gid, &info)?;
        self.destroy_room(&removed)?;
        Ok(Some(removed))
    }

    /// Renames the group and its original chat's room, as mod_groups_internal's `set_info`.
    pub fn rename(&self, gid: &str, info: &GroupInfo, name: &str) -> Result<(), StoreError> {
        let mut info = info.clone();
        info.name = Some(name.to_string());
        if let Some(room) = info.muc_jid.as_deref().and_then(|j| self.room_of(j)) {
            if let Some(mut data) = self.room_config().get(&room, "_data")? {
                data["name"] = json!(name);
                self.room_config().set(&room, "_data", &data)?;
            }
        }
        self.set_info(gid, &info)
    }

    /// Every row of a room of ours, and its `persistent` mark.
    fn destroy_room(&self, jid: &str) -> Result<(), StoreError> {
        if let Some(room) = self.room_of(jid) {
            self.c.purge_user(self.muc_host, &room)?;
            Map::<Json>::new(self.c, self.muc_host, MUC_PERSISTENT).delete("", jid)?;
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

    /// Deletes a group, its memberships and its group chats' rooms.
    pub fn delete(&self, gid: &str, info: &GroupInfo) -> Result<(), StoreError> {
        self.info.clear(gid)?;
        self.members.clear(gid)?;
        for jid in info.chat_jids() {
            self.destroy_room(&jid)?;
        }
        Ok(())
    }
}
