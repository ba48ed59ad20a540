//! Groups (mod_groups_internal): a name, members, and optionally a group chat. The
//! layout is in [`crate::storage::stores::groups`].

use prosody_admin_api::models;
use swagger::Nullable;

use crate::error::{App, Failure};
use crate::live::{GroupChange, Step};
use crate::paging::{Admit, JsonArray, Listing, Page};
use crate::storage::stores::groups::{Chat, GroupInfo};
use crate::storage::Db;
use crate::username::Username;
use crate::{ids, xml, Backend};

/// Characters (not bytes): the spec's `maxLength`.
const MAX_NAME: usize = 1023;

fn require(db: &Db, gid: &str) -> Result<GroupInfo, Failure> {
    db.groups().info(gid)?.ok_or_else(|| Failure::group_not_found(gid))
}

fn chat_model(c: Chat) -> models::GroupChat {
    models::GroupChat::new(c.id, c.jid, c.name, c.deleted)
}

fn to_model(db: &Db, gid: String, i: GroupInfo, members: Vec<String>) -> Result<models::Group, Failure> {
    let chats = db.groups().chats(&i)?.into_iter().map(chat_model).collect();
    let mut g = models::Group::new(gid, i.name.unwrap_or_default(), members);
    g.chats = Some(chats);
    g.muc_jid = Some(match i.muc_jid {
        Some(j) => Nullable::Present(j),
        None => Nullable::Null,
    });
    Ok(g)
}

/// Hands `emit` the groups of a page, in id order; returns the next page's cursor when
/// more follow.
fn each(
    db: &Db,
    page: &Page,
    mut emit: impl FnMut(models::Group) -> Result<(), Failure>,
) -> Result<Option<String>, Failure> {
    let groups = db.groups();
    let mut members = groups.all_members()?;
    let mut taken = 0;
    let mut last = None;
    for (gid, i) in groups.all()? {
        match page.admit(taken, &gid) {
            Admit::Before => continue,
            Admit::Beyond => return Ok(last.map(|k: String| Page::cursor(&k))),
            Admit::Take => {}
        }
        taken += 1;
        let m = members.remove(&gid).unwrap_or_default();
        if page.limit.is_some() {
            last = Some(gid.clone());
        }
        emit(to_model(db, gid, i, m)?)?;
    }
    Ok(None)
}

/// A page of groups as models, and the next page's cursor.
pub fn list(db: &Db, page: &Page) -> Result<(Vec<models::Group>, Option<String>), Failure> {
    let mut out = Vec::new();
    let next = each(db, page, |g| {
        out.push(g);
        Ok(())
    })?;
    Ok((out, next))
}

/// A page of groups written straight into its JSON body.
pub fn list_json(db: &Db, page: &Page) -> Result<Listing, Failure> {
    let mut arr = JsonArray::default();
    let next = each(db, page, |g| arr.push(&g))?;
    Ok(Listing { body: arr.finish(), next, valid_until: None })
}

pub fn get(db: &Db, gid: &str) -> Result<models::Group, Failure> {
    let i = require(db, gid)?;
    let m = db.groups().members(gid)?;
    to_model(db, gid.to_string(), i, m)
}

/// Validates a new group's name (the spec requires it; non-blank, bounded).
pub fn check_name(name: &str) -> Result<(), Failure> {
    if name.trim().is_empty() {
        return Err(Failure::App(App::GroupNameRequired, "group name must not be blank".into()));
    }
    if name.chars().count() > MAX_NAME {
        return Err(Failure::BadRequest(format!("group name longer than {MAX_NAME} characters")));
    }
    // It is also the group chat's name, which Prosody sends in XML.
    if name.chars().any(xml::forbidden) {
        return Err(Failure::BadRequest("group name contains characters XML cannot carry".into()));
    }
    Ok(())
}

/// Most characters of a chosen group id (the spec's bound).
const MAX_CHOSEN_ID: usize = 64;

/// Checks a group id a client chose: 1 to 64 of `[A-Za-z0-9_-]` (what util.id makes,
/// and what a JID node and a file name carry unchanged).
pub fn check_id(id: &str) -> Result<(), Failure> {
    let ok = !id.is_empty()
        && id.len() <= MAX_CHOSEN_ID
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !ok {
        return Err(Failure::BadRequest(format!("group id {id:?}: 1 to {MAX_CHOSEN_ID} letters, digits, '_' or '-'")));
    }
    Ok(())
}

/// Creates a group (and its group chat): with the id the client chose (409 when in
/// use), else a 12-char base64url id, like util.id.short().
pub fn create(db: &Db, name: &str, create_muc: bool, chosen: Option<&str>) -> Result<models::Group, Failure> {
    check_name(name)?;
    let groups = db.groups();
    let gid = match chosen {
        Some(id) => {
            check_id(id)?;
            if groups.exists(id)? {
                return Err(Failure::Conflict(format!("group id {id:?} is in use")));
            }
            id.to_string()
        }
        None => {
            let mut gid = ids::short()?;
            while groups.exists(&gid)? {
                gid = ids::short()?;
            }
            gid
        }
    };
    let mut info = GroupInfo { name: Some(name.to_string()), ..GroupInfo::default() };
    if create_muc {
        let room = new_room(db)?;
        info.muc_jid = Some(groups.create_room(&room, name)?);
    }
    groups.set_info(&gid, &info)?;
    get(db, &gid)
}

/// Deletes a group, its memberships and its group chats (whose rooms Prosody is told of).
pub fn delete(db: &Db, gid: &str) -> Result<GroupChange, Failure> {
    let i = require(db, gid)?;
    db.groups().delete(gid, &i)?;
    Ok(GroupChange::Deleted { gid: gid.to_string(), rooms: i.chat_jids() })
}

/// Renames a group (and its original chat: the room Prosody is told of, if any).
pub fn rename(db: &Db, gid: &str, name: &str) -> Result<Option<GroupChange>, Failure> {
    check_name(name)?;
    let i = require(db, gid)?;
    db.groups().rename(gid, &i, name)?;
    Ok(i.muc_jid.map(|room| GroupChange::RoomRenamed { room, name: name.to_string() }))
}

/// A room node for a new chat: util.id.short(), lower-cased as jid.prep does.
fn new_room(db: &Db) -> Result<String, Failure> {
    loop {
        let room = ids::short()?.to_lowercase();
        if !db.groups().room_taken(&room)? {
            return Ok(room);
        }
    }
}

/// Adds a chat; its members are the group's members, and each gets the room's mediated
/// invitation (XEP-0249) as mod_groups_internal sends it, through their offline store:
/// Prosody delivers it at their next login.
pub fn add_chat(db: &Db, gid: &str, name: &str, now: i64) -> Result<(models::GroupChat, GroupChange), Failure> {
    check_name(name)?;
    let i = require(db, gid)?;
    let room = new_room(db)?;
    let chat = db.groups().add_chat(gid, &i, &room, name)?;
    for member in db.groups().members(gid)? {
        let to = format!("{member}@{}", db.host());
        db.offline().append(&member, &ids::uuid()?, now, xml::conference_invite(&to, &chat.jid)?)?;
    }
    let change = GroupChange::ChatAdded { gid: gid.to_string(), room: chat.jid.clone(), name: name.to_string() };
    Ok((chat_model(chat), change))
}

pub fn remove_chat(db: &Db, gid: &str, chat_id: &str) -> Result<GroupChange, Failure> {
    let i = require(db, gid)?;
    match db.groups().remove_chat(gid, &i, chat_id)? {
        Some(room) => Ok(GroupChange::ChatRemoved { gid: gid.to_string(), room }),
        None => Err(Failure::NotFound(format!("group {gid:?} has no chat {chat_id:?}"))),
    }
}

pub fn add_member(db: &Db, gid: &str, user: &Username) -> Result<GroupChange, Failure> {
    let i = require(db, gid)?;
    crate::users::require(db, user)?;
    db.groups().add_member(gid, &i, user.as_str())?;
    Ok(GroupChange::MemberAdded { gid: gid.to_string(), user: user.as_str().to_string(), rooms: i.chat_jids() })
}

pub fn remove_member(db: &Db, gid: &str, user: &Username) -> Result<GroupChange, Failure> {
    let i = require(db, gid)?;
    crate::users::require(db, user)?;
    db.groups().remove_member(gid, user.as_str())?;
    Ok(GroupChange::MemberRemoved { gid: gid.to_string(), user: user.as_str().to_string(), rooms: i.chat_jids() })
}

impl Backend {
    pub async fn list_groups(&self, page: Page) -> Result<(Vec<models::Group>, Option<String>), Failure> {
        self.store().read(move |db| list(db, &page)).await
    }

    pub async fn list_groups_json(&self, page: Page) -> Result<Listing, Failure> {
        self.store().read(move |db| list_json(db, &page)).await
    }

    pub async fn get_group(&self, gid: String) -> Result<models::Group, Failure> {
        self.store().read(move |db| get(db, &gid)).await
    }

    pub async fn create_group(&self, name: String, create_muc: bool) -> Result<models::Group, Failure> {
        self.create_group_with_id(None, name, create_muc).await
    }

    /// A group with the id the client chose (None: a new one).
    pub async fn create_group_with_id(
        &self,
        id: Option<String>,
        name: String,
        create_muc: bool,
    ) -> Result<models::Group, Failure> {
        check_name(&name)?;
        if let Some(id) = &id {
            check_id(id)?;
        }
        self.write(move |db| create(db, &name, create_muc, id.as_deref())).await
    }

    pub async fn delete_group(&self, gid: String) -> Result<(), Failure> {
        let change = self.write(move |db| delete(db, &gid)).await?;
        self.tell_prosody(Step::Group(change)).await;
        Ok(())
    }

    pub async fn rename_group(&self, gid: String, name: String) -> Result<(), Failure> {
        check_name(&name)?;
        if let Some(change) = self.write(move |db| rename(db, &gid, &name)).await? {
            self.tell_prosody(Step::Group(change)).await;
        }
        Ok(())
    }

    pub async fn add_group_chat(&self, gid: String, name: String) -> Result<models::GroupChat, Failure> {
        check_name(&name)?;
        let now = crate::now()?;
        let (chat, change) = self.write(move |db| add_chat(db, &gid, &name, now)).await?;
        self.tell_prosody(Step::Group(change)).await;
        Ok(chat)
    }

    pub async fn remove_group_chat(&self, gid: String, chat_id: String) -> Result<(), Failure> {
        let change = self.write(move |db| remove_chat(db, &gid, &chat_id)).await?;
        self.tell_prosody(Step::Group(change)).await;
        Ok(())
    }

    pub async fn add_group_member(&self, gid: String, user: Username) -> Result<(), Failure> {
        let change = self.write(move |db| add_member(db, &gid, &user)).await?;
        self.tell_prosody(Step::Group(change)).await;
        Ok(())
    }

    pub async fn remove_group_member(&self, gid: String, user: Username) -> Result<(), Failure> {
        let change = self.write(move |db| remove_member(db, &gid, &user)).await?;
        self.tell_prosody(Step::Group(change)).await;
        Ok(())
    }
}
