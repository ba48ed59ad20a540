//! [`Db`]: the storage context of one call: a connection (inside the write's
//! transaction, for writes), the host, and the layout profile. It hands out one typed
//! handle per Prosody store, as `module:open_store` does.

use super::engine::{Conn, ListingStores};
use super::kinds::{Archive, KeyVal, Map};
use super::stores::accounts::{self, Accounts};
use super::stores::activity::{self, DeletionRequest, Lifecycle};
use super::stores::audit::{self, AuditLog};
use super::stores::groups::{self, Groups};
use super::stores::invites::{self, Invites};
use super::stores::offline::{self, Offline};
use super::stores::pep::{self, Pep};
use super::stores::push::{self, Push};
use super::stores::roles::{self, RoleSet, Roles};
use super::stores::tokens::{self, AuthTokens};
use super::{ProsodyVersion, StoreError};
use crate::values::Value;

/// The node whose item `current` is the user's nickname (XEP-0172).
pub const NICK_NODE: &str = "http://jabber.org/protocol/nick";
/// The item id of singleton PEP nodes.
pub const CURRENT: &str = "current";
/// The node whose item `current` is the user's avatar metadata (XEP-0084).
pub const AVATAR_METADATA_NODE: &str = "urn:xmpp:avatar:metadata";

/// Where the data of the administered server lives.
#[derive(Debug, Clone)]
pub(super) struct Scope {
    /// The VirtualHost (`host` of its users' rows).
    pub host: String,
    /// The MUC component of group chats (`host` of room rows).
    pub muc_host: String,
    pub version: ProsodyVersion,
}

pub struct Db<'c> {
    c: Conn<'c>,
    scope: &'c Scope,
}

/// One account, with what the API shows of it, as stored (from a listing, or
/// [`Db::user`]).
pub struct UserRecord {
    pub name: String,
    /// The item `current` of the nick node.
    pub nick: Option<Value>,
    /// The item `current` of the avatar metadata node.
    pub avatar: Option<Value>,
    pub roles: RoleSet,
    /// Ids of existing groups with a membership row for the user, sorted.
    pub groups: Vec<String>,
    pub enabled: bool,
    pub last_active: Option<i64>,
    pub deletion_request: Option<DeletionRequest>,
}

impl<'c> Db<'c> {
    pub(super) fn new(c: Conn<'c>, scope: &'c Scope) -> Db<'c> {
        Db { c, scope }
    }

    pub fn version(&self) -> ProsodyVersion {
        self.scope.version
    }

    /// Whether the engine can store an account of that name at all (flat files bound a
    /// name's encoded length): a name it cannot is refused before anything is written.
    pub fn holds_user(&self, name: &str) -> bool {
        self.c.holds_user(name)
    }

    pub fn host(&self) -> &str {
        &self.scope.host
    }

    pub fn accounts(&self) -> Accounts<'_> {
        Accounts { kv: KeyVal::new(self.c, &self.scope.host, accounts::STORE), version: self.scope.version }
    }

    pub fn roles(&self) -> Roles<'_> {
        Roles {
            map: Map::new(self.c, &self.scope.host, roles::store_name(self.scope.version)),
            version: self.scope.version,
        }
    }

    pub fn auth_tokens(&self) -> AuthTokens<'_> {
        AuthTokens { map: Map::new(self.c, &self.scope.host, tokens::STORE), version: self.scope.version }
    }

    pub fn invites(&self) -> Invites<'_> {
        Invites { map: Map::new(self.c, &self.scope.host, invites::STORE), version: self.scope.version }
    }

    pub fn groups(&self) -> Groups<'_> {
        Groups {
            info: KeyVal::new(self.c, &self.scope.host, groups::INFO),
            members: Map::new(self.c, &self.scope.host, groups::MEMBERS),
            c: self.c,
            host: &self.scope.host,
            muc_host: &self.scope.muc_host,
        }
    }

    pub fn lifecycle(&self) -> Lifecycle<'_> {
        Lifecycle {
            activity: KeyVal::new(self.c, &self.scope.host, activity::ACTIVITY),
            cleanup: KeyVal::new(self.c, &self.scope.host, activity::CLEANUP),
        }
    }

    pub fn audit(&self) -> AuditLog<'_> {
        AuditLog { archive: Archive::new(self.c, &self.scope.host, audit::STORE.to_string()) }
    }

    pub fn offline(&self) -> Offline<'_> {
        Offline { archive: Archive::new(self.c, &self.scope.host, offline::STORE.to_string()) }
    }

    pub fn pep(&self) -> Pep<'_> {
        Pep { nodes: Map::new(self.c, &self.scope.host, pep::STORE), c: self.c, host: &self.scope.host }
    }

    pub fn push(&self) -> Push<'_> {
        Push { map: Map::new(self.c, &self.scope.host, push::STORE) }
    }

    /// Prosody's `delete_user` purge: every row of the user on this host, both tables.
    pub fn purge_user(&self, user: &str) -> Result<(), StoreError> {
        self.c.purge_user(&self.scope.host, user)
    }

    /// One account with what a listing shows of it; None when it does not exist.
    pub fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let Some(account) = self.accounts().get(name)? else { return Ok(None) };
        let (pep, life) = (self.pep(), self.lifecycle());
        Ok(Some(UserRecord {
            name: name.to_string(),
            nick: pep.item(name, NICK_NODE, CURRENT)?.map(|i| i.value),
            avatar: pep.item(name, AVATAR_METADATA_NODE, CURRENT)?.map(|i| i.value),
            roles: self.roles().of(name)?,
            groups: self.groups().of_user(name)?,
            enabled: account.enabled(),
            last_active: life.last_active(name)?,
            deletion_request: life.deletion_request(name)?,
        }))
    }

    /// Every account of the host in username order, with nick, roles and groups, in a
    /// fixed number of queries whatever the number of accounts.
    /// Only accounts after `after` (`""`: from the first), at most `limit` of them.
    pub fn list_accounts(
        &self,
        after: &str,
        limit: Option<usize>,
        mut visit: impl FnMut(UserRecord),
    ) -> Result<(), StoreError> {
        let nick_archive = pep::items_store(NICK_NODE);
        let avatar_archive = pep::items_store(AVATAR_METADATA_NODE);
        let stores = ListingStores {
            accounts: accounts::STORE,
            nick_archive: &nick_archive,
            avatar_archive: &avatar_archive,
            roles: roles::store_name(self.scope.version),
            groups: groups::MEMBERS,
            group_info: groups::INFO,
            activity: activity::ACTIVITY,
            cleanup: activity::CLEANUP,
        };
        let version = self.scope.version;
        self.c.list_accounts(&self.scope.host, &stores, after, limit, &mut |u| {
            visit(UserRecord {
                name: u.name,
                nick: u.nick,
                avatar: u.avatar,
                roles: RoleSet::from_rows(version, u.roles),
                groups: u.groups,
                enabled: u.disabled != Some(Value::Boolean(true)),
                last_active: u.last_active.and_then(|v| v.to_json()).and_then(|j| j.as_f64()).map(|f| f as i64),
                deletion_request: DeletionRequest::from_rows(u.cleanup),
            });
            Ok(())
        })?;
        Ok(())
    }
}
