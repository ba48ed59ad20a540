//! The live path through Prosody's admin socket (mod_admin_socket: what `prosodyctl
//! shell` talks to): after a change is committed to storage, Prosody is told what its own
//! path would have told itself, so that it acts as it does for its own changes (mod_c2s
//! ends the sessions of a disabled or deleted account, with its own stream error), and
//! live state (sessions) is read from the running server.
//!
//! Protocol (both 0.12 and 13): an XML stream `xmlns='xmpp:prosody.im/admin'`; each
//! `<repl-input>` whose text starts with `>` is a Lua chunk run inside Prosody; the answer
//! is `<repl-result>Result: <value></repl-result>` (`type='error'` on failure). One
//! connection per call, closed after it.
//!
//! Safety: the socket runs code inside Prosody. Only fixed chunks are sent; every value
//! (usernames, hosts, bodies) goes in as a Lua string literal with every byte outside
//! `[A-Za-z0-9]` escaped as `\ddd` ([`lua_string`]): no text a client sends can end the
//! literal or become code. A call is bounded ([`TIMEOUT`]) and tried again once on a
//! failed connection; a write never fails because the live step did not run (its
//! outcome is logged and counted).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// The longest one call to Prosody may take (connect, send, answer).
pub const TIMEOUT: Duration = Duration::from_secs(2);
/// How old the last contact may be before [`Live::status`] tries again.
pub const FRESH: Duration = Duration::from_secs(5);
/// Longest answer read.
const MAX_ANSWER: usize = 4 << 20;

/// A Lua string literal of `s`, every byte but `[A-Za-z0-9]` as a decimal escape (the
/// repo's one escaper, [`crate::lua::literal`]).
fn lua_string(s: &str) -> String {
    crate::lua::literal(s.as_bytes(), crate::lua::Escape::Opaque)
}

/// Prosody's admin socket, and how the live path fares.
pub struct Live {
    path: PathBuf,
    /// Calls go one at a time.
    conn: tokio::sync::Mutex<()>,
    up: AtomicBool,
    /// Unix time of the last call's end (0: none yet).
    checked_at: AtomicI64,
    last_error: Mutex<Option<String>>,
    /// One probe at a time from [`Live::status`]; others take the last known state.
    probing: tokio::sync::Mutex<()>,
    pub calls: AtomicU64,
    pub failures: AtomicU64,
}

/// What [`Live::status`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub up: bool,
    /// Unix time of the last contact attempt (None: none yet).
    pub checked_at: Option<i64>,
    /// Why the last call failed, when it did.
    pub error: Option<String>,
}

struct Conn {
    stream: UnixStream,
    buf: String,
}

impl Live {
    /// The admin socket's path.
    pub fn socket(&self) -> &std::path::Path {
        &self.path
    }

    pub fn new(path: PathBuf) -> Live {
        Live {
            path,
            conn: tokio::sync::Mutex::new(()),
            up: AtomicBool::new(false),
            checked_at: AtomicI64::new(0),
            last_error: Mutex::new(None),
            probing: tokio::sync::Mutex::new(()),
            calls: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Whether the last call reached Prosody.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Runs a Lua chunk inside Prosody; the text of its result (after `Result: `).
    /// Bounded by [`TIMEOUT`]; a failed connection is made again once.
    pub async fn lua(&self, chunk: &str) -> Result<String, String> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let out = tokio::time::timeout(TIMEOUT, self.call(chunk))
            .await
            .unwrap_or_else(|_| Err(format!("no answer from {} within {TIMEOUT:?}", self.path.display())));
        self.up.store(out.is_ok(), Ordering::Relaxed);
        self.checked_at.store(crate::now().unwrap_or(0), Ordering::Relaxed);
        if out.is_err() {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut e) = self.last_error.lock() {
            *e = out.as_ref().err().cloned();
        }
        out
    }

    /// Whether the live path is up: the last contact's outcome, refreshed by a probe
    /// when older than [`FRESH`] (one probe at a time, bounded by [`TIMEOUT`]).
    pub async fn status(&self) -> Status {
        let checked = self.checked_at.load(Ordering::Relaxed);
        let stale = checked == 0 || crate::now().unwrap_or(0) - checked >= FRESH.as_secs() as i64;
        if stale {
            if let Ok(_one) = self.probing.try_lock() {
                self.probe().await;
            }
        }
        let checked = self.checked_at.load(Ordering::Relaxed);
        Status {
            up: self.is_up(),
            checked_at: (checked != 0).then_some(checked),
            error: self.last_error.lock().ok().and_then(|e| e.clone()),
        }
    }

    /// One connection per call, closed after it (a local socket costs little; a held
    /// one would keep Prosody 0.12 from shutting down), one call at a time; a failed
    /// connection is tried again once.
    async fn call(&self, chunk: &str) -> Result<String, String> {
        let _one_at_a_time = self.conn.lock().await;
        let mut last = String::new();
        for _ in 0..2 {
            let mut c = match self.connect().await {
                Ok(c) => c,
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            let out = exchange(&mut c, chunk).await;
            let _ = c.stream.write_all(b"</stream:stream>").await;
            let _ = c.stream.shutdown().await;
            match out {
                Ok((true, text)) => return Ok(text),
                Ok((false, text)) => return Err(format!("Prosody: {text}")),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    async fn connect(&self) -> Result<Conn, String> {
        let mut stream = UnixStream::connect(&self.path).await.map_err(|e| format!("{}: {e}", self.path.display()))?;
        let header = "<?xml version='1.0'?><stream:stream xmlns='xmpp:prosody.im/admin' \
                      xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
        stream.write_all(header.as_bytes()).await.map_err(|e| e.to_string())?;
        Ok(Conn { stream, buf: String::new() })
    }

    /// Fires one of Prosody's user events (`user-disabled`, `user-deleted`,
    /// `user-password-changed`, `user-role-changed`) as its usermanager does after its own
    /// change: its modules then act as for their own (mod_c2s closes the sessions).
    pub async fn user_event(&self, event: UserEvent, username: &str, host: &str) -> Result<(), String> {
        let (name, extra) = match event {
            UserEvent::Disabled => ("user-disabled", ""),
            UserEvent::Deleted => ("user-deleted", ""),
            UserEvent::PasswordChanged => ("user-password-changed", ""),
            // 13 passes the new role object.
            UserEvent::RoleChanged => {
                ("user-role-changed", "; role = prosody.hosts[h] and prosody.hosts[h].authz.get_user_role(u, h)")
            }
        };
        let chunk = format!(
            "local u, h = {}, {}; prosody.events.fire_event({}, {{ username = u, host = h{extra} }}); return true",
            lua_string(username),
            lua_string(host),
            lua_string(name)
        );
        self.lua(&chunk).await.map(|_| ())
    }

    /// Sends a headline message `from` the host to every session online on `host`, as
    /// mod_announce does; how many sessions it reached.
    pub async fn announce_online(&self, host: &str, from: &str, body: &str) -> Result<i64, String> {
        let chunk = format!(
            "local st = require \"util.stanza\"; local h, from, body = {}, {}, {};\n{ANNOUNCE_LUA}",
            lua_string(host),
            lua_string(from),
            lua_string(body)
        );
        let n = self.lua(&chunk).await?;
        n.trim().parse().map_err(|_| format!("unexpected answer {n:?}"))
    }

    /// Applies a committed group change to the running Prosody (see [`GroupChange`]):
    /// `host` is the VirtualHost, `muc_host` the groups' MUC component. What was done,
    /// in words (`rooms=… invitations=… rosters=yes|no-module`).
    pub async fn group_change(&self, change: &GroupChange, host: &str, muc_host: &str) -> Result<String, String> {
        let (op, gid, user, name, rooms) = change.parts();
        let rooms = rooms.iter().map(|r| lua_string(r)).collect::<Vec<_>>().join(", ");
        let chunk = format!(
            "local op, h, mh, gid, u, name, rooms = {}, {}, {}, {}, {}, {}, {{ {rooms} }};\n{GROUP_LUA}",
            lua_string(op),
            lua_string(host),
            lua_string(muc_host),
            lua_string(gid),
            lua_string(user),
            lua_string(name),
        );
        self.lua(&chunk).await
    }

    /// Whether Prosody answers on the socket now (a call that does nothing).
    pub async fn probe(&self) -> bool {
        self.lua("return true").await.is_ok()
    }

    /// The accounts of `host` with at least one session now (one call, whatever their
    /// number).
    pub async fn online(&self, host: &str) -> Result<std::collections::HashSet<String>, String> {
        let chunk = format!("local h = {};\n{ONLINE_LUA}", lua_string(host));
        let answer = self.lua(&chunk).await?;
        let names: Vec<String> =
            serde_json::from_str(answer.trim()).map_err(|e| format!("unexpected answer to the online list: {e}"))?;
        Ok(names.into_iter().collect())
    }

    /// Ends the sessions of `username`@`host` (or only the one of `resource`) as an
    /// administrator's kick (stream error `policy-violation`); how many it ended.
    pub async fn end_sessions(&self, username: &str, host: &str, resource: Option<&str>) -> Result<i64, String> {
        let r = resource.map_or_else(|| "nil".to_string(), lua_string);
        let chunk = format!("local u, h, r = {}, {}, {r};\n{END_LUA}", lua_string(username), lua_string(host));
        let n = self.lua(&chunk).await?;
        n.trim().parse().map_err(|_| format!("unexpected answer {n:?}"))
    }

    /// The sessions of an account, as the later module's debug info shows them (JSON).
    pub async fn sessions(&self, username: &str, host: &str) -> Result<String, String> {
        let chunk = format!("local u, h = {}, {};\n{SESSIONS_LUA}", lua_string(username), lua_string(host));
        self.lua(&chunk).await
    }
}

/// A change to groups, committed, for Prosody's live state: loaded rooms on the MUC host
/// (kept true whether or not mod_groups_internal is loaded, else Prosody would write its
/// stale copy back at the room's next save), and, where mod_groups_internal is loaded on
/// the host, its effects: roster subscriptions pushed to online members (its `sync`),
/// mediated invitations (XEP-0249) routed by Prosody, and its events (`group-user-added`,
/// `group-user-removed`, `group-chat-added`, `group-chat-removed`) for the modules that
/// hook them (mod_groups_muc_bookmarks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupChange {
    /// `user` joined group `gid`, whose chats are `rooms`.
    MemberAdded { gid: String, user: String, rooms: Vec<String> },
    /// `user` left group `gid`, whose chats are `rooms`.
    MemberRemoved { gid: String, user: String, rooms: Vec<String> },
    /// The group's original chat `room` is now named `name`.
    RoomRenamed { room: String, name: String },
    /// Chat `room` named `name` was added to group `gid`.
    ChatAdded { gid: String, room: String, name: String },
    /// Chat `room` was removed from group `gid`: the loaded room is destroyed.
    ChatRemoved { gid: String, room: String },
    /// Group `gid` was deleted with its chats `rooms`.
    Deleted { gid: String, rooms: Vec<String> },
}

impl GroupChange {
    /// Its fixed operation name, group id, user, name and rooms (the values the fixed
    /// chunk [`GROUP_LUA`] is given).
    fn parts(&self) -> (&'static str, &str, &str, &str, Vec<&str>) {
        match self {
            GroupChange::MemberAdded { gid, user, rooms } => {
                ("member-added", gid, user, "", rooms.iter().map(String::as_str).collect())
            }
            GroupChange::MemberRemoved { gid, user, rooms } => {
                ("member-removed", gid, user, "", rooms.iter().map(String::as_str).collect())
            }
            GroupChange::RoomRenamed { room, name } => ("room-renamed", "", "", name, vec![room]),
            GroupChange::ChatAdded { gid, room, name } => ("chat-added", gid, "", name, vec![room]),
            GroupChange::ChatRemoved { gid, room } => ("chat-removed", gid, "", "", vec![room]),
            GroupChange::Deleted { gid, rooms } => ("deleted", gid, "", "", rooms.iter().map(String::as_str).collect()),
        }
    }
}

/// What a running Prosody is told after a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// One of Prosody's user events, for this account.
    User(UserEvent, String),
    Group(GroupChange),
}

/// Which user event to fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserEvent {
    Disabled,
    Deleted,
    PasswordChanged,
    RoleChanged,
}

/// The sessions of `u`@`h` as mod_http_admin_api's `get_session_debug_info` describes
/// them, JSON-encoded (a fixed chunk: `u` and `h` are the only values).
const SESSIONS_LUA: &str = r#"local json = require "util.json";
local out = {};
local host = prosody.hosts[h];
local user = host and host.sessions and host.sessions[u];
for _, session in pairs(user and user.sessions or {}) do
  local info = {
    full_jid = session.full_jid; ip = session.ip; since = math.floor(session.conntime or 0);
    status = { connected = not not session.conn; hibernating = not not session.hibernating };
    features = { carbons = not not session.want_carbons; encrypted = not not session.secure;
      acks = not not session.smacks; resumption = not not session.resumption_token;
      mobile_optimization = not not session.csi_counter; push_notifications = not not session.push_identifier;
      history = not not session.mam_requested };
    queues = {};
  };
  if session.state then
    info.status.active = session.state == "active";
    info.queues.held_stanzas = session.csi_counter or 0;
  end
  if session.push_identifier then
    info.push_info = { id = session.push_identifier; wakeup_push_sent = session.first_hibernated_push };
  end
  out[#out + 1] = info;
end
if #out == 0 then return "[]" end
return json.encode(out)"#;

/// Closes the sessions of `u`@`h` (only resource `r` unless it is nil) with the stream
/// error an administrator's kick gives (a fixed chunk: `u`, `h`, `r` are the only values).
const END_LUA: &str = r#"local host = prosody.hosts[h];
local user = host and host.sessions and host.sessions[u];
local ending = {};
for resource, s in pairs(user and user.sessions or {}) do
  if r == nil or resource == r then ending[#ending + 1] = s end
end
for _, s in ipairs(ending) do
  s:close({ condition = "policy-violation", text = "Session ended by an administrator" });
end
return #ending"#;

/// The usernames of `h` that have a session, JSON-encoded (a fixed chunk: `h` is the
/// only value).
const ONLINE_LUA: &str = r#"local json = require "util.json";
local out = {};
local host = prosody.hosts[h];
for name, user in pairs(host and host.sessions or {}) do
  if next(user.sessions or {}) then out[#out + 1] = name end
end
if #out == 0 then return "[]" end
return json.encode(out)"#;

/// A headline to every online session of `h` (`from`, `body` given), as mod_announce.
const ANNOUNCE_LUA: &str = r#"local host = prosody.hosts[h]; local n = 0;
for _, user in pairs(host and host.sessions or {}) do
  for _, s in pairs(user.sessions or {}) do
    if s.full_jid and s.send then
      s.send(st.message({ to = s.full_jid, from = from, type = "headline" }):tag("body"):text(body));
      n = n + 1;
    end
  end
end
return n"#;

/// A committed group change, applied to Prosody's memory (a fixed chunk: `op` is one of
/// [`GroupChange`]'s names; `h`, `mh`, `gid`, `u`, `name` and `rooms` are data). Rooms are
/// touched only where Prosody has them loaded (`live_rooms`): a room not in memory is
/// read from storage, which has the change already. mod_groups_internal's own functions
/// do the roster work, as its `add_member` does after its storage write.
const GROUP_LUA: &str = r#"local mm = require "core.modulemanager"; local st = require "util.stanza";
local muc = mm.get_module(mh, "muc"); local g = mm.get_module(h, "groups_internal");
local function loaded(j)
  if not (muc and muc.live_rooms) then return nil end
  for room in muc.live_rooms() do if room.jid == j then return room end end
end
local touched, invited, user_jid = 0, 0, u .. "@" .. h;
if op == "member-added" or op == "member-removed" then
  for _, j in ipairs(rooms) do
    local room = loaded(j);
    if room then
      room:set_affiliation(true, user_jid, op == "member-added" and "member" or nil); touched = touched + 1;
    end
    if op == "member-added" and (room or (muc and muc.get_room_from_jid(j))) then
      prosody.core_post_stanza(prosody.hosts[h], st.message({ from = j, to = user_jid })
        :tag("x", { xmlns = "jabber:x:conference", jid = j }):up());
      invited = invited + 1;
    end
  end
  if g then
    local info = g.get_info(gid);
    if info then
      g.module:fire_event(op == "member-added" and "group-user-added" or "group-user-removed",
        { id = gid, user = u, host = h, group_info = info });
      if op == "member-added" then g.sync(gid) end
    end
  end
elseif op == "room-renamed" then
  local room = loaded(rooms[1]);
  if room then room:set_name(name); touched = 1 end
elseif op == "chat-added" then
  if g then
    g.module:fire_event("group-chat-added", { group_id = gid, group_info = g.get_info(gid) or {},
      muc = { jid = rooms[1], name = name } });
  end
elseif op == "chat-removed" or op == "deleted" then
  for _, j in ipairs(rooms) do
    local room = loaded(j);
    if room then room:destroy(); touched = touched + 1 end
    if g and op == "chat-removed" then
      g.module:fire_event("group-chat-removed", { group_id = gid, group_info = g.get_info(gid) or {},
        muc = { id = j:match("^[^@]*"), jid = j } });
    end
  end
else
  error("unknown operation");
end
return ("rooms=%d invitations=%d groups_internal=%s"):format(touched, invited, g and "yes" or "no")"#;

/// Sends one chunk and reads its `<repl-result>`: (ok, text).
async fn exchange(c: &mut Conn, chunk: &str) -> Result<(bool, String), String> {
    let input = crate::xml::Element::new("repl-input")
        .text(&format!(">{chunk}"))
        .to_xml()
        .map_err(|e| format!("a chunk XML cannot carry: {e}"))?;
    c.stream.write_all(input.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut chunk_buf = [0u8; 16 * 1024];
    loop {
        if let Some((ok, text, used)) = crate::xml::repl_result(&c.buf) {
            c.buf.drain(..used);
            return Ok((ok, text.strip_prefix("Result: ").unwrap_or(&text).to_string()));
        }
        if c.buf.len() > MAX_ANSWER {
            return Err("an answer too long".into());
        }
        let n = c.stream.read(&mut chunk_buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("Prosody closed the admin socket".into());
        }
        c.buf.push_str(&String::from_utf8_lossy(&chunk_buf[..n]));
    }
}
