//! Bearer token administration for the command line: create, list, revoke, in the
//! database's own format (see [`crate::token`]): a 0.12 token row, or a Prosody 13
//! grant holding one token, as mod_tokenauth's `create_grant` + `create_token` write.

use std::collections::BTreeMap;

use crate::error::Failure;
use crate::storage::stores::roles::{ADMIN, OPERATOR};
use crate::storage::stores::tokens::{Grant, GrantToken, LegacySession, LegacyToken, Stored};
use crate::storage::Db;
use crate::token::{Bearer, SecretToken, TokenRef, ADMIN_SCOPE, SECRET_LEN};
use crate::username::Username;
use crate::{ids, Backend};

/// A token as listed (never with its secret).
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub owner: String,
    /// 0.12: the token's scope; 13: the token's role.
    pub scope: Option<String>,
    pub created: Option<i64>,
    pub expires: Option<i64>,
    /// 13: what the token is for (`oauth2`, `oauth2-refresh`, ...).
    pub purpose: Option<String>,
}

/// What minting made: the string, and a warning when the owner cannot use it.
pub struct Minted {
    pub token: String,
    pub warning: Option<String>,
    /// 13: the token's role; 0.12: its scope.
    pub role: String,
    /// The id the audit log names the token by ([`Bearer::public_id`]).
    pub public_id: String,
    pub expires: Option<i64>,
}

fn expiry(now: i64, ttl: Option<u64>) -> Option<i64> {
    ttl.map(|t| now.saturating_add(i64::try_from(t).unwrap_or(i64::MAX)))
}

pub(crate) fn mint(
    db: &Db,
    user: &Username,
    host: &str,
    now: i64,
    ttl: Option<u64>,
    config_admin: bool,
    allow_non_admin: bool,
) -> Result<Minted, Failure> {
    let name = user.as_str();
    if !db.accounts().exists(name)? {
        return Err(Failure::user_not_found(user));
    }
    let roles = db.roles().of(name)?;
    let jid = format!("{name}@{host}");
    let admin = roles.is_admin(config_admin);
    if !allow_non_admin && !admin {
        return Err(Failure::Conflict(format!(
            "{jid} may not administer, so the API would refuse its token (403). Make it an admin first: add \
             \"{jid}\" to `admins` in Prosody's config (and give prosody-admin that config), or give it the role: \
             `prosody-admin user role {name} prosody:admin`. (--allow-non-admin mints the token anyway.)"
        )));
    }
    let warning =
        (!admin).then(|| format!("{jid} is not an admin: the API will refuse this token (403) until it is one"));
    let (token, role, public_id) = match db.version() {
        crate::storage::ProsodyVersion::V0_12 => {
            let r = TokenRef { username: name.to_string(), host: host.to_string(), id: ids::long()? };
            let t = LegacyToken {
                owner: Some(jid.clone()),
                created: Some(now),
                expires: expiry(now, ttl),
                jid: Some(jid),
                session: LegacySession {
                    username: Some(name.to_string()),
                    host: Some(host.to_string()),
                    auth_scope: Some(ADMIN_SCOPE.to_string()),
                    other: BTreeMap::new(),
                },
                other: BTreeMap::new(),
            };
            db.auth_tokens().put(name, &r.id, &Stored::Legacy(t))?;
            let public_id = Bearer::V012(r.clone()).public_id();
            (r.encode(), ADMIN_SCOPE.to_string(), public_id)
        }
        crate::storage::ProsodyVersion::V13 => {
            // The most powerful admin role the account may assume (a token with a role
            // it cannot assume is refused by Prosody too).
            let role = if roles.can_assume(OPERATOR, config_admin) { OPERATOR } else { ADMIN };
            let secret = ids::random_bytes::<SECRET_LEN>()?;
            let t = SecretToken::new(&ids::short()?, name, host, secret);
            let token = GrantToken {
                role: Some(role.to_string()),
                created: Some(now),
                expires: expiry(now, ttl),
                purpose: None,
                data: None,
                other: BTreeMap::new(),
            };
            let grant = Grant {
                id: t.grant_id.clone(),
                owner: jid.clone(),
                created: Some(now),
                expires: None,
                accessed: Some(now),
                jid,
                resource: None,
                data: None,
                tokens: Some(BTreeMap::from([(t.hash_key(), token)])),
                other: BTreeMap::new(),
            };
            db.auth_tokens().put(name, &t.grant_id, &Stored::Grant(grant))?;
            (t.encode(), role.to_string(), t.public_id())
        }
    };
    Ok(Minted { token, warning, role, public_id, expires: expiry(now, ttl) })
}

impl Backend {
    /// Mints an admin token for an existing account; for one that may not administer,
    /// only when `allow_non_admin` (the token then gets 403).
    pub fn create_token(&self, user: &Username, ttl: Option<u64>, allow_non_admin: bool) -> Result<Minted, Failure> {
        let s = self.settings().clone();
        let now = crate::now()?;
        let config_admin = s.is_config_admin(user.as_str());
        self.write_blocking(|db| mint(db, user, &s.host, now, ttl, config_admin, allow_non_admin))
    }

    pub fn list_tokens(&self) -> Result<Vec<Listed>, Failure> {
        let host = self.settings().host.clone();
        self.store().read_blocking(|db| {
            let mut out = Vec::new();
            for (user, _, t) in db.auth_tokens().every()? {
                let owner = format!("{user}@{host}");
                match t {
                    Stored::Legacy(l) => out.push(Listed {
                        owner,
                        scope: l.session.auth_scope,
                        created: l.created,
                        expires: l.expires,
                        purpose: None,
                    }),
                    Stored::Grant(g) => {
                        for tok in g.tokens.iter().flat_map(|t| t.values()) {
                            out.push(Listed {
                                owner: owner.clone(),
                                scope: tok.role.clone(),
                                created: tok.created,
                                expires: g.expiry_of(tok),
                                purpose: tok.purpose.clone(),
                            });
                        }
                    }
                }
            }
            Ok(out)
        })
    }

    /// Revokes a token given as the string clients send; false when it did not exist.
    pub fn revoke_token(&self, token: &str) -> Result<bool, Failure> {
        let bearer = Bearer::parse(token).ok_or_else(|| Failure::BadRequest("not a Prosody bearer token".into()))?;
        self.write_blocking(|db| revoke(db, bearer))
    }

    /// [`Backend::revoke_token`] through the async writer (a request's own token, at
    /// sign-out: audited with the request).
    pub async fn revoke_token_async(&self, token: &str) -> Result<bool, Failure> {
        let bearer = Bearer::parse(token).ok_or_else(|| Failure::BadRequest("not a Prosody bearer token".into()))?;
        self.write(move |db| revoke(db, bearer)).await
    }
}

/// mod_tokenauth's `revoke_token`: a 0.12 token row goes; a 13 token leaves its grant.
fn revoke(db: &Db, bearer: Bearer) -> Result<bool, Failure> {
    {
        match bearer {
            Bearer::V012(t) => Ok(db.auth_tokens().delete(&t.username, &t.id)?),
            // mod_tokenauth's revoke_token: the token leaves its grant.
            Bearer::V13(t) => {
                let Some(Stored::Grant(mut g)) = db.auth_tokens().get(&t.username, &t.grant_id)? else {
                    return Ok(false);
                };
                if g.tokens.as_mut().and_then(|m| m.remove(&t.hash_key())).is_none() {
                    return Ok(false);
                }
                db.auth_tokens().put(&t.username, &t.grant_id, &Stored::Grant(g))?;
                Ok(true)
            }
        }
    }
}
