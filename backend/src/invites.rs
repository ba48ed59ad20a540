//! Invites, as core mod_invites (0.12 and 13 alike) makes them; the layout is in
//! [`crate::storage::stores::invites`]. Prosody's own mod_invites must be able to redeem
//! what we write.

use prosody_admin_api::models;
use serde_json::{json, Value as Json};
use swagger::{Nullable, OneOf2};

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::error::Failure;
use crate::paging::{Admit, JsonArray, Listing, Page};
use crate::settings::NEVER_EXPIRES;
use crate::storage::stores::invites::{decode_roles, StoredInvite};
use crate::storage::Db;
use crate::username::Username;
use crate::{groups, ids, users, Backend, Settings};
/// The name of the group a group invite creates when given neither groups nor options.
pub const DEFAULT_GROUP_NAME: &str = "Invited group";
/// Longest ttl accepted: 10 years (the spec's `maximum`).
const MAX_TTL: f64 = 315_360_000.0;

/// A validated lifetime in whole seconds.
/// A number, or a string of decimal digits as the later module accepts (`"604800"`).
pub fn ttl(raw: Option<Nullable<models::Ttl>>) -> Result<Option<i64>, Failure> {
    let bad = || Failure::BadRequest(format!("ttl must be between 1 and {MAX_TTL} seconds"));
    let t = match raw {
        None | Some(Nullable::Null) => return Ok(None),
        Some(Nullable::Present(t)) => match &*t {
            OneOf2::A(n) => *n,
            OneOf2::B(digits) => {
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                digits.parse::<f64>().map_err(|_| bad())?
            }
        },
    };
    if !t.is_finite() || !(1.0..=MAX_TTL).contains(&t) {
        return Err(bad());
    }
    Ok(Some(t.round() as i64))
}

/// Longest note, in characters (the spec's `maxLength`).
const MAX_NOTE: usize = 1023;
/// Most roles on one invite (the spec's `maxItems`).
const MAX_INVITE_ROLES: usize = 16;

/// Roles and note of an account or group invite, validated (the roles' fit with the
/// database's Prosody version is checked against it, in [`create_checked`]).
#[derive(Default)]
struct Extras {
    /// In the order given: on 13 the first is the primary role.
    roles: Vec<String>,
    note: Option<String>,
    /// The client's `additional_data`, checked (no reserved key, bounded).
    additional: Option<AdditionalData>,
}

/// A client's `additional_data` as the spec bounds it.
type AdditionalData = BTreeMap<String, Json>;

/// The keys of mod_invites' `additional_data` that the module itself sets and answers
/// apart: never taken from, nor answered in, the free-form data.
const RESERVED: [&str; 5] = ["groups", "roles", "source", "note", "allow_reset"];
const MAX_ADDITIONAL_KEYS: usize = 64;
const MAX_ADDITIONAL_DEPTH: usize = 8;
const MAX_ADDITIONAL_BYTES: usize = 16 * 1024;

fn depth(v: &Json) -> usize {
    match v {
        Json::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Json::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Checks a client's `additional_data`: an object (or null: none), without the reserved
/// keys, at most 64 keys, 8 levels and 16 KiB of JSON.
fn additional_data(raw: Option<Nullable<AdditionalData>>) -> Result<Option<AdditionalData>, Failure> {
    let data = match raw {
        None | Some(Nullable::Null) => return Ok(None),
        Some(Nullable::Present(d)) => d,
    };
    if let Some(k) = data.keys().find(|k| RESERVED.contains(&k.as_str())) {
        return Err(Failure::BadRequest(format!(
            "additional_data: {k:?} is set by its own field (groups, roles, note) or by the server (source, allow_reset)"
        )));
    }
    if data.len() > MAX_ADDITIONAL_KEYS {
        return Err(Failure::BadRequest(format!("additional_data: more than {MAX_ADDITIONAL_KEYS} keys")));
    }
    if data.values().map(depth).max().unwrap_or(0) + 1 > MAX_ADDITIONAL_DEPTH {
        return Err(Failure::BadRequest(format!("additional_data: nested deeper than {MAX_ADDITIONAL_DEPTH}")));
    }
    let bytes = serde_json::to_vec(&data).map_err(|e| Failure::BadRequest(format!("additional_data: {e}")))?;
    if bytes.len() > MAX_ADDITIONAL_BYTES {
        return Err(Failure::BadRequest(format!("additional_data: more than {MAX_ADDITIONAL_BYTES} bytes as JSON")));
    }
    Ok((!data.is_empty()).then_some(data))
}

impl Extras {
    fn parse(
        roles: Option<Nullable<Vec<String>>>,
        note: Option<Nullable<String>>,
        additional: Option<Nullable<AdditionalData>>,
    ) -> Result<Extras, Failure> {
        let roles: Vec<String> = match roles {
            None | Some(Nullable::Null) => Vec::new(),
            Some(Nullable::Present(r)) => r,
        };
        // The spec bounds the list as sent, duplicates included.
        if roles.len() > MAX_INVITE_ROLES {
            return Err(Failure::BadRequest(format!("more than {MAX_INVITE_ROLES} roles")));
        }
        let roles = dedup(roles);
        if let Some(r) = roles.iter().find(|r| r.is_empty() || r.chars().count() > 1023 || *r == "_default") {
            return Err(Failure::BadRequest(format!("invalid role name {r:?}")));
        }
        let note = match note {
            None | Some(Nullable::Null) => None,
            Some(Nullable::Present(n)) if n.chars().count() > MAX_NOTE => {
                return Err(Failure::BadRequest(format!("note longer than {MAX_NOTE} characters")))
            }
            Some(Nullable::Present(n)) => Some(n),
        };
        Ok(Extras { roles, note, additional: additional_data(additional)? })
    }
}

/// Characters of a JID kept as is in an `xmpp:` URI (RFC 5122's unreserved set plus '@').
fn uri_escape(jid: &str) -> String {
    let mut out = String::with_capacity(jid.len());
    for b in jid.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@!$&'()*+,=".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What kind of invite to create.
pub enum Kind {
    /// Register an account (optionally with a fixed username), joining `groups`.
    Account { username: Option<Username>, groups: Vec<String> },
    /// A reusable group invite.
    Group { groups: Vec<String> },
    /// Reset the password of an existing account.
    Reset { username: Username },
}

/// Builds and stores the invite the way mod_invites' `create_invite` does.
fn create(
    db: &Db,
    s: &Settings,
    kind: &Kind,
    extras: &Extras,
    expires: i64,
    source: &str,
    now: i64,
) -> Result<models::Invite, Failure> {
    let host = db.host().to_string();
    let token = ids::medium()?;
    let (jid, additional, reusable) = match kind {
        Kind::Account { username, groups } => {
            let jid = match username {
                Some(u) => format!("{u}@{host}"),
                None => host.clone(),
            };
            let mut a = json!({"source": source});
            if !groups.is_empty() {
                a["groups"] = json!(groups);
            }
            (jid, a, false)
        }
        Kind::Group { groups } => (host.clone(), json!({"groups": groups, "source": source}), true),
        Kind::Reset { username } => {
            (format!("{username}@{host}"), json!({"allow_reset": username.as_str(), "source": source}), false)
        }
    };
    // The client's free-form data first, then the module's own keys (never among it).
    let mut additional = match (&extras.additional, additional) {
        (Some(data), Json::Object(mut own)) => {
            let mut all: serde_json::Map<String, Json> = data.clone().into_iter().collect();
            all.append(&mut own);
            Json::Object(all)
        }
        (_, own) => own,
    };
    if !extras.roles.is_empty() {
        additional["roles"] = db.invites().encode_roles(&extras.roles);
    }
    if let Some(n) = &extras.note {
        additional["note"] = json!(n);
    }
    let uri = format!("xmpp:{}?register;preauth={token}", uri_escape(&jid));
    let invite = StoredInvite {
        kind: "register".into(),
        jid,
        token,
        allow_registration: Some(true),
        uri: Some(uri),
        created_at: Some(now),
        expires: Some(expires),
        additional_data: Some(additional),
        reusable: reusable.then_some(true),
        inviter: None,
        other: Default::default(),
    };
    db.invites().put(&invite)?;
    Ok(to_model(s, &invite))
}

/// The API view of a stored invite.
fn to_model(s: &Settings, v: &StoredInvite) -> models::Invite {
    let add = v.additional_data.as_ref();
    let groups = add
        .and_then(|a| a.get("groups"))
        .and_then(|g| g.as_array())
        .map(|g| g.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let uri = v.uri.clone().unwrap_or_default();
    let mut m = models::Invite::new(
        v.token.clone(),
        v.kind.clone(),
        v.reusable.unwrap_or(false),
        v.jid.clone(),
        v.token.clone(),
        uri.clone(),
        v.created_at.unwrap_or(0),
        v.expires.unwrap_or(NEVER_EXPIRES),
        groups,
        add.and_then(|a| a.get("allow_reset")).is_some_and(|r| !r.is_null() && r != &json!(false)),
        free_form(add),
    );
    m.inviter = Some(v.inviter.clone().map(Nullable::Present).unwrap_or(Nullable::Null));
    m.source = Some(
        add.and_then(|a| a.get("source"))
            .and_then(|x| x.as_str())
            .map(|x| Nullable::Present(x.to_string()))
            .unwrap_or(Nullable::Null),
    );
    m.landing_page = Some(crate::landing::landing_page(s, v).map(Nullable::Present).unwrap_or(Nullable::Null));
    m.roles = Some(add.and_then(|a| a.get("roles")).map(decode_roles).unwrap_or_default());
    m.note = Some(
        add.and_then(|a| a.get("note"))
            .and_then(|x| x.as_str())
            .map(|x| Nullable::Present(x.to_string()))
            .unwrap_or(Nullable::Null),
    );
    m
}

/// What an invite's `additional_data` holds besides the keys answered apart: null when
/// nothing (as the later module leaves it out when empty).
fn free_form(add: Option<&Json>) -> Nullable<AdditionalData> {
    let rest: AdditionalData = match add {
        Some(Json::Object(o)) => {
            o.iter().filter(|(k, _)| !RESERVED.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
        }
        _ => AdditionalData::new(),
    };
    if rest.is_empty() {
        Nullable::Null
    } else {
        Nullable::Present(rest)
    }
}

/// Every stored invite, oldest first, expired ones included: they stay in the table (as
/// with Prosody), and callers filter them out by time.
pub fn all(db: &Db, s: &Settings) -> Result<Vec<models::Invite>, Failure> {
    let mut out: Vec<models::Invite> = db.invites().all()?.iter().map(|i| to_model(s, i)).collect();
    out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

/// Every stored invite, oldest first, and where each id is in the list.
pub struct AllInvites {
    pub list: Vec<models::Invite>,
    pub by_id: HashMap<String, usize>,
}

/// An invite's place in the listing order (creation time, then id), as a string that
/// sorts the same way: zero-padded time (times are positive), then the id.
fn sort_key(i: &models::Invite) -> String {
    format!("{:020}:{}", i.created_at.max(0), i.id)
}

pub fn get(db: &Db, s: &Settings, id: &str, now: i64) -> Result<models::Invite, Failure> {
    db.invites()
        .get(id)?
        .map(|i| to_model(s, &i))
        .filter(|i| i.expires >= now)
        .ok_or_else(|| Failure::NotFound(format!("invite {id:?} not found")))
}

fn require_groups(db: &Db, gids: &[String]) -> Result<(), Failure> {
    for g in gids {
        if !db.groups().exists(g)? {
            return Err(Failure::group_not_found(g));
        }
    }
    Ok(())
}

/// A validated request to create an invite.
pub struct NewInvite {
    kind: Kind,
    ttl: Option<i64>,
    extras: Extras,
    /// For a group invite without groups: the group to create first (name, create_muc).
    new_group: Option<(String, bool, Option<String>)>,
}

impl NewInvite {
    pub fn account(body: Option<models::NewAccountInvite>) -> Result<NewInvite, Failure> {
        let body = body.unwrap_or_else(models::NewAccountInvite::new);
        let username = match body.username {
            None | Some(Nullable::Null) => None,
            Some(Nullable::Present(u)) => Some(Username::for_new_account(&u)?),
        };
        let groups = group_ids(body.groups)?;
        let extras = Extras::parse(body.roles, body.note, body.additional_data)?;
        Ok(NewInvite { kind: Kind::Account { username, groups }, ttl: ttl(body.ttl)?, extras, new_group: None })
    }

    pub fn group(body: Option<models::NewGroupInvite>) -> Result<NewInvite, Failure> {
        let body = body.unwrap_or_else(models::NewGroupInvite::new);
        let groups = group_ids(body.groups)?;
        // No existing group: a new one, from group_options as a template if given.
        let new_group = if groups.is_empty() {
            let (name, muc, id) = match body.group_options {
                Some(o) => (o.name, o.create_muc.unwrap_or(false), o.id),
                None => (DEFAULT_GROUP_NAME.to_string(), false, None),
            };
            groups::check_name(&name)?;
            if let Some(id) = &id {
                groups::check_id(id)?;
            }
            Some((name, muc, id))
        } else {
            None
        };
        let extras = Extras::parse(body.roles, body.note, body.additional_data)?;
        Ok(NewInvite { kind: Kind::Group { groups }, ttl: ttl(body.ttl)?, extras, new_group })
    }

    pub fn reset(body: models::NewResetInvite) -> Result<NewInvite, Failure> {
        Ok(NewInvite {
            kind: Kind::Reset { username: Username::lookup(&body.username)? },
            ttl: ttl(body.ttl)?,
            extras: Extras { additional: additional_data(body.additional_data)?, ..Extras::default() },
            new_group: None,
        })
    }
}

/// Most groups on one invite, and the longest id (the spec's bounds).
const MAX_INVITE_GROUPS: usize = 64;
const MAX_GROUP_ID: usize = 1023;

/// A list of group ids as sent: bounded as the spec says, then without duplicates.
fn group_ids(raw: Option<Nullable<Vec<String>>>) -> Result<Vec<String>, Failure> {
    let ids = match raw {
        None | Some(Nullable::Null) => return Ok(Vec::new()),
        Some(Nullable::Present(g)) => g,
    };
    if ids.len() > MAX_INVITE_GROUPS {
        return Err(Failure::BadRequest(format!("more than {MAX_INVITE_GROUPS} groups")));
    }
    if ids.iter().any(|g| g.chars().count() > MAX_GROUP_ID) {
        return Err(Failure::BadRequest(format!("group id longer than {MAX_GROUP_ID} characters")));
    }
    Ok(dedup(ids))
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|g| seen.insert(g.clone()));
    v
}

/// Checks the invite against the database and stores it, in one transaction.
fn create_checked(
    db: &Db,
    s: &Settings,
    mut req: NewInvite,
    source: &str,
    now: i64,
) -> Result<models::Invite, Failure> {
    if let Some(r) = req.extras.roles.iter().find(|r| !s.knows_role(r)) {
        return Err(Failure::BadRequest(format!("unknown role {r:?}: the server knows {}", s.known_roles())));
    }
    let expires = match (&req.kind, req.ttl) {
        (_, Some(t)) => now + t,
        (Kind::Account { .. }, None) => now + s.account_invite_ttl,
        (Kind::Reset { .. }, None) => now + s.reset_invite_ttl,
        (Kind::Group { .. }, None) => NEVER_EXPIRES,
    };
    match &mut req.kind {
        Kind::Account { username, groups } => {
            if let Some(u) = username {
                if !db.holds_user(u.as_str()) {
                    return Err(Failure::Conflict(format!(
                        "user {u}: a name too long for this server's storage (Prosody's flat files): it can never \
                         be registered"
                    )));
                }
                if db.accounts().exists(u.as_str())? {
                    return Err(Failure::Conflict(format!("user {u} already exists")));
                }
            }
            require_groups(db, groups)?;
        }
        Kind::Group { groups } => {
            if let Some((name, muc, id)) = req.new_group.take() {
                groups.push(groups::create(db, &name, muc, id.as_deref())?.id);
            } else {
                require_groups(db, groups)?;
            }
        }
        Kind::Reset { username } => users::require(db, username)?,
    }
    create(db, s, &req.kind, &req.extras, expires, source, now)
}

impl Backend {
    /// Every stored invite (expired ones too), oldest first, with an index by id: from
    /// memory between commits.
    async fn all_invites(&self) -> Result<Arc<AllInvites>, Failure> {
        let gen = self.store().generation();
        if let Some(a) = self.caches().invites.get(&(), gen) {
            return Ok(a);
        }
        let b = self.clone();
        let list = self.store().read(move |db| all(db, b.settings())).await?;
        let by_id = list.iter().enumerate().map(|(n, i)| (i.id.clone(), n)).collect();
        let a = Arc::new(AllInvites { list, by_id });
        self.caches().invites.insert((), gen, a.clone());
        Ok(a)
    }

    /// Hands `emit` the pending invites of a page, oldest first; returns the next page's
    /// cursor when more follow, and the last second the answer holds (the earliest
    /// expiry among the invites on it).
    async fn each_invite(
        &self,
        page: &Page,
        mut emit: impl FnMut(&models::Invite) -> Result<(), Failure>,
    ) -> Result<(Option<String>, Option<i64>), Failure> {
        let all = self.all_invites().await?;
        let now = crate::now()?;
        let (mut taken, mut last, mut until) = (0, None::<&models::Invite>, None::<i64>);
        for i in all.list.iter().filter(|i| i.expires >= now) {
            // The sort key (a string) is only needed to compare with a cursor.
            let key = if page.after.is_some() { sort_key(i) } else { String::new() };
            match page.admit(taken, &key) {
                Admit::Before => continue,
                Admit::Beyond => return Ok((last.map(|l| Page::cursor(&sort_key(l))), until)),
                Admit::Take => {}
            }
            taken += 1;
            until = Some(until.map_or(i.expires, |u| u.min(i.expires)));
            emit(i)?;
            last = Some(i);
        }
        Ok((None, until))
    }

    /// A page of pending invites, and the next page's cursor.
    pub async fn list_invites(&self, page: Page) -> Result<(Vec<models::Invite>, Option<String>), Failure> {
        let mut out = Vec::new();
        let (next, _) = self
            .each_invite(&page, |i| {
                out.push(i.clone());
                Ok(())
            })
            .await?;
        Ok((out, next))
    }

    /// A page of pending invites written straight into its JSON body, valid until the
    /// first invite on it expires.
    pub async fn list_invites_json(&self, page: Page) -> Result<Listing, Failure> {
        let mut arr = JsonArray::default();
        let (next, valid_until) = self.each_invite(&page, |i| arr.push(i)).await?;
        Ok(Listing { body: arr.finish(), next, valid_until })
    }

    /// A pending invite: from memory when the invites are there (between commits), else
    /// one row (a miss does not load every invite for one).
    pub async fn get_invite(&self, id: String) -> Result<models::Invite, Failure> {
        let now = crate::now()?;
        let gen = self.store().generation();
        if let Some(all) = self.caches().invites.get(&(), gen) {
            return all
                .by_id
                .get(&id)
                .and_then(|n| all.list.get(*n))
                .filter(|i| i.expires >= now)
                .cloned()
                .ok_or_else(|| Failure::NotFound(format!("invite {id:?} not found")));
        }
        let b = self.clone();
        self.store().read(move |db| get(db, b.settings(), &id, now)).await
    }

    /// Creates an invite on behalf of `caller` (its `source` is `caller@host/admin_api`).
    pub async fn create_invite(&self, req: NewInvite, caller: &str) -> Result<models::Invite, Failure> {
        let b = self.clone();
        let now = crate::now()?;
        let source = format!("{caller}@{}/admin_api", self.settings().host);
        self.write(move |db| create_checked(db, b.settings(), req, &source, now)).await
    }

    /// Revokes an invite (expired ones too: the row is removed either way).
    pub async fn delete_invite(&self, id: String) -> Result<(), Failure> {
        self.store()
            .write(move |db| {
                if db.invites().delete(&id)? {
                    Ok(())
                } else {
                    Err(Failure::NotFound(format!("invite {id:?} not found")))
                }
            })
            .await
    }
}
