//! Storage, shaped like Prosody's own store API (`module:open_store(name, kind)`).
//!
//! The domain never sees SQL, store names or `(host, user, store, key)` strings. It gets
//! a [`Db`] (a connection, the host and the layout profile) from [`Store::read`] or
//! [`Store::write`], and asks it for one typed handle per Prosody store:
//! `db.accounts().get(&user)`, `db.roles().of(&user)`, `db.invites().all()`. Each handle
//! decodes its rows into a serde type in one place ([`stores`]).
//!
//! Module map:
//! - [`location`]: [`Location`]: a SQLite file, a PostgreSQL URL or Prosody's flat
//!   files; opening one picks the engine.
//! - [`engine`]: the engines, one folder each (`engine/sqlite/`, `engine/pg/`,
//!   `engine/internal/`) behind one trait: opening and preparing a database, read snapshots, the writer's
//!   transactions and savepoints, the watch on other processes' commits, the probe,
//!   and the keyval/map/archive/listing primitives. The only SQL, PRAGMA, driver types
//!   and data-file code of the crate. `engine/conformance.rs` is what each must pass.
//! - [`store`]: [`Store`]: the handle the service keeps: its engine, the generation
//!   counter, `read`/`write` off the async runtime.
//! - [`writer`]: group commit: the thread that runs waiting writes together, each in
//!   its savepoint with its [`Companion`] (the request's audit record), one commit for
//!   all.
//! - [`profile`]: the layout profile (Prosody 0.12 or 13).
//! - [`stats`]: counters for the service's metrics (pool waits, lock waits, commits).
//! - [`kinds`]: generic typed handles (`KeyVal<T>`, `Map<V>`, `Archive`) over the
//!   engine's primitives.
//! - [`stores`]: the concrete Prosody stores (accounts, roles, tokens, invites, groups,
//!   MUC, PEP, push), the profile differences among them.
//! - [`db`]: [`Db`], the per-call context that hands out the handles.
//!
//! Imports go one way: `store` → `writer` → `db` → `kinds`/`stores` → `engine`;
//! `location` → `engine`. No engine imports the layers above it; storage imports
//! nothing of requests (no task-locals; the clock and ids of the audit record come
//! with its [`Companion`]).
//!
//! Adding a store: a file in `stores/` with its serde type and a handle built from the
//! kinds, and one method on [`Db`]. Adding a profile: a variant of
//! [`profile::ProsodyVersion`], its layout in each engine, and the stores whose layout
//! differs match on it (today: roles, tokens, accounts' `disabled`). Adding an engine:
//! a folder in `engine/`, one arm of [`Location`], and the conformance suite passing
//! (ARCHITECTURE.md, "How to add an engine").

mod db;
mod engine;
pub mod kinds;
mod location;
pub mod profile;
pub mod stats;
mod store;
pub mod stores;
mod writer;

pub use db::{Db, UserRecord, AVATAR_METADATA_NODE, CURRENT, NICK_NODE};
pub use engine::pg::PgUrl;
pub use engine::POOL_SIZE;
pub use location::Location;
pub use profile::ProsodyVersion;
pub use store::Store;
pub use writer::{Companion, Maintenance};

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
