//! Storage, shaped like Prosody's own store API (`module:open_store(name, kind)`).
//!
//! The domain never sees SQL, store names or `(host, user, store, key)` strings. It gets
//! a [`Db`] (a connection, the host and the layout profile) from [`Store::read`] or
//! [`Store::write`], and asks it for one typed handle per Prosody store:
//! `db.accounts().get(&user)`, `db.roles().of(&user)`, `db.invites().all()`. Each handle
//! decodes its rows into a serde type in one place ([`stores`]).
//!
//! Module map:
//! - [`location`]: [`Location`]: a SQLite file or a PostgreSQL URL.
//! - [`pool`]: [`Store`]: the connection pool of either engine, the generation counter,
//!   `read`/`write` off the async runtime.
//! - [`profile`]: the layout profile (Prosody 0.12 or 13) and how it is chosen.
//! - [`schema`]: each version's DDL, detection of the version a database has.
//! - [`writer`]: group commit: the thread that runs waiting writes together, each in
//!   its savepoint, one commit for all.
//! - [`stats`]: counters for the service's metrics (pool waits, busy retries, commits).
//! - [`watch`]: the thread that notices other processes' commits (SQLite's
//!   `data_version`; PostgreSQL's notifications from our trigger).
//! - [`rows`]: the only SQL: the keyval/map/archive primitives and the listing query,
//!   as the trait [`rows::Rows`], once per engine (`rows/sqlite.rs`, `rows/pg.rs`).
//! - [`kinds`]: generic typed handles (`KeyVal<T>`, `Map<V>`, `Archive`) over [`rows`].
//! - [`stores`]: the concrete Prosody stores (accounts, roles, tokens, invites, groups,
//!   MUC, PEP, push), the profile differences among them.
//! - [`db`]: [`Db`], the per-call context that hands out the handles.
//!
//! Adding a store: a file in `stores/` with its serde type and a handle built from the
//! kinds, and one method on [`Db`]. Adding a profile: a variant of
//! [`profile::ProsodyVersion`], its DDL in [`schema`], and the stores whose layout
//! differs match on it (today: roles, tokens, accounts' `disabled`).

mod db;
pub mod kinds;
mod location;
mod pool;
pub mod profile;
mod rows;
pub mod schema;
pub mod stats;
pub mod stores;
mod watch;
mod writer;

pub use db::{Db, UserRecord, AVATAR_METADATA_NODE, CURRENT, NICK_NODE};
pub use location::Location;
pub use pool::{Store, POOL_SIZE};
pub use profile::ProsodyVersion;

/// A storage failure: the database could not be read or written, or a stored value
/// does not have the shape Prosody gives it. Always an internal fault (500), logged.
#[derive(Debug, Clone)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "storage: {}", self.0)
    }
}
impl std::error::Error for StoreError {}
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}
impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        StoreError(format!("connection pool: {e}"))
    }
}

use r2d2_sqlite::rusqlite;
