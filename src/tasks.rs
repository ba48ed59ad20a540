//! The command line's everyday tasks (`user list|delete|role`, `invite create|list|revoke`,
//! `group list|create|add|remove`): the same domain operations as the API, on the same
//! database, printed for a person or, with `--json`, as the API's JSON.

use std::future::Future;

use backend::invites::NewInvite;
use backend::paging::Page;
use backend::username::Username;
use backend::users::Update;
use backend::{Backend, ProsodyVersion};
use clap::Subcommand;
use qrcode::render::unicode::Dense1x2;
use qrcode::QrCode;
use serde::Serialize;

#[derive(Debug, Subcommand)]
pub enum InviteCommand {
    /// Create an invite and print its URI and a QR code of it (for a phone's camera)
    Create {
        /// Many people may use it (a group invite: needs --group)
        #[arg(long)]
        reusable: bool,
        /// Add whoever registers with it to this group (id)
        #[arg(long)]
        group: Option<String>,
        /// Lifetime in seconds [default: the service's invite ttl]
        #[arg(long)]
        ttl: Option<u64>,
        /// Print the invite as the API's JSON instead
        #[arg(long)]
        json: bool,
    },
    /// List pending invites
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke an invite
    Revoke {
        /// Ids are util.id's base64url: one may start with `-`
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// List groups
    List {
        #[arg(long)]
        json: bool,
    },
    /// Create a group and print its id
    Create {
        name: String,
        /// Also create its group chat
        #[arg(long)]
        chat: bool,
        #[arg(long)]
        json: bool,
    },
    /// Add a user to a group
    Add {
        /// The group's id (base64url: it may start with `-`)
        #[arg(allow_hyphen_values = true)]
        group: String,
        user: String,
    },
    /// Remove a user from a group
    Remove {
        /// The group's id (base64url: it may start with `-`)
        #[arg(allow_hyphen_values = true)]
        group: String,
        user: String,
    },
}

/// Runs an async domain call from the command line.
pub(crate) fn block<T>(f: impl Future<Output = Result<T, backend::Failure>>) -> anyhow::Result<T> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(f).map_err(|e| anyhow::anyhow!("{e}"))
}

fn print_json<T: Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn user_name(name: &str) -> anyhow::Result<Username> {
    Username::parse(name).map_err(|e| anyhow::anyhow!("{name:?}: {e}"))
}

/// The accounts of one host, or of several (each line then names user@host; JSON: one
/// array, each account with its `jid`).
pub fn user_list(hosts: &[Backend], json: bool) -> anyhow::Result<()> {
    let mut all = Vec::new();
    for b in hosts {
        let (users, _) = block(b.list_users(Page::all()))?;
        all.extend(users.into_iter().map(|u| (b.settings().host.clone(), u)));
    }
    if json {
        return print_json(&all.into_iter().map(|(_, u)| u).collect::<Vec<_>>());
    }
    for (host, u) in all {
        let name = u.username.unwrap_or_default();
        let name = if hosts.len() > 1 { format!("{name}@{host}") } else { name };
        let roles = u.roles.unwrap_or_default().join(",");
        let groups = u.groups.unwrap_or_default().join(",");
        println!("{name}\troles={roles}\tgroups={groups}");
    }
    Ok(())
}

pub fn user_delete(b: &Backend, name: &str) -> anyhow::Result<()> {
    let u = user_name(name)?;
    // No caller: the command line is the file's owner, not an account.
    block(b.delete_user(u, ""))?;
    println!("deleted {name}@{}", b.settings().host);
    Ok(())
}

pub fn user_role(b: &Backend, name: &str, role: &str) -> anyhow::Result<()> {
    let u = user_name(name)?;
    // What the API's `role` allows (Prosody 13 refuses roles it does not know).
    if !b.settings().knows_role(role) {
        return Err(anyhow::anyhow!("unknown role {role:?}: one of {}", b.settings().known_roles()));
    }
    let up = match b.store().version() {
        ProsodyVersion::V13 => Update { display_name: None, roles: None, role: Some(role.to_string()), enabled: None },
        // 0.12 has no primary role: the account's roles become this one.
        ProsodyVersion::V0_12 => {
            Update { display_name: None, roles: Some(vec![role.to_string()]), role: None, enabled: None }
        }
    };
    let user = block(b.update_user(u, up, ""))?;
    println!("{name}@{}: roles {}", b.settings().host, user.roles.unwrap_or_default().join(","));
    Ok(())
}

pub fn invite(b: &Backend, cmd: InviteCommand) -> anyhow::Result<()> {
    match cmd {
        InviteCommand::Create { reusable, group, ttl, json } => {
            let mut body = serde_json::Map::new();
            if let Some(t) = ttl {
                body.insert("ttl".into(), t.into());
            }
            if let Some(g) = &group {
                body.insert("groups".into(), vec![g.clone()].into());
            }
            let bad = |e: serde_json::Error| anyhow::anyhow!("{e}");
            let req = if reusable {
                if group.is_none() {
                    return Err(anyhow::anyhow!(
                        "--reusable needs --group (a reusable invite adds its users to a group)"
                    ));
                }
                NewInvite::group(Some(serde_json::from_value(body.into()).map_err(bad)?))
            } else {
                NewInvite::account(Some(serde_json::from_value(body.into()).map_err(bad)?))
            }?;
            let inv = block(b.create_invite(req, "admin"))?;
            if json {
                return print_json(&inv);
            }
            println!("{}", inv.uri);
            if let Some(swagger::Nullable::Present(page)) = &inv.landing_page {
                println!("{page}");
            }
            println!("{}", qr(&inv.uri)?);
            println!("id {} expires {}", inv.id, inv.expires);
        }
        InviteCommand::List { json } => {
            let (invites, _) = block(b.list_invites(Page::all()))?;
            if json {
                return print_json(&invites);
            }
            for i in invites {
                let kind = if i.reusable { "reusable" } else { "single" };
                println!("{}\t{kind}\texpires={}\tgroups={}\t{}", i.id, i.expires, i.groups.join(","), i.uri);
            }
        }
        InviteCommand::Revoke { id } => {
            block(b.delete_invite(id.clone()))?;
            println!("revoked {id}");
        }
    }
    Ok(())
}

pub fn group(b: &Backend, cmd: GroupCommand) -> anyhow::Result<()> {
    match cmd {
        GroupCommand::List { json } => {
            let (groups, _) = block(b.list_groups(Page::all()))?;
            if json {
                return print_json(&groups);
            }
            for g in groups {
                println!("{}\t{}\tmembers={}", g.id, g.name, g.members.join(","));
            }
        }
        GroupCommand::Create { name, chat, json } => {
            let g = block(b.create_group(name, chat))?;
            if json {
                return print_json(&g);
            }
            println!("{}", g.id);
        }
        GroupCommand::Add { group, user } => {
            block(b.add_group_member(group.clone(), user_name(&user)?))?;
            println!("added {user} to {group}");
        }
        GroupCommand::Remove { group, user } => {
            block(b.remove_group_member(group.clone(), user_name(&user)?))?;
            println!("removed {user} from {group}");
        }
    }
    Ok(())
}

/// A QR code of `text` in terminal characters (two modules per character cell, with
/// the quiet zone), dark on light.
pub fn qr(text: &str) -> anyhow::Result<String> {
    let code = QrCode::new(text.as_bytes())?;
    Ok(code.render::<Dense1x2>().dark_color(Dense1x2::Dark).light_color(Dense1x2::Light).build())
}

/// What an invite command does, and on what, for the audit log: (operation, target).
pub fn describe_invite(c: &InviteCommand) -> (String, String) {
    match c {
        InviteCommand::Create { group, .. } => ("invite create".into(), group.clone().unwrap_or_default()),
        InviteCommand::List { .. } => ("invite list".into(), String::new()),
        InviteCommand::Revoke { id } => ("invite revoke".into(), id.clone()),
    }
}

/// What a group command does, and on what, for the audit log: (operation, target).
pub fn describe_group(c: &GroupCommand) -> (String, String) {
    match c {
        GroupCommand::List { .. } => ("group list".into(), String::new()),
        GroupCommand::Create { name, .. } => ("group create".into(), name.clone()),
        GroupCommand::Add { group, user } => ("group add".into(), format!("{group} {user}")),
        GroupCommand::Remove { group, user } => ("group remove".into(), format!("{group} {user}")),
    }
}
