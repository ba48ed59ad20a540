//! The Prosody stores this service reads and writes, one file each: the serde type of
//! their rows and a handle with the operations the domain needs. Where Prosody 0.12 and
//! 13 store something differently, the handle decides by the profile; domain code does
//! not.

pub mod accounts;
pub mod activity;
pub mod audit;
pub mod groups;
pub mod invites;
pub mod offline;
pub mod pep;
pub mod push;
pub mod roles;
pub mod tokens;
