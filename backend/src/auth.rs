//! Who may call the API. A bearer token in the database's own format, checked as that
//! version of Prosody's mod_tokenauth checks it, and whose owner may administer:
//! - Prosody 0.12: the token exists, has not expired, has scope `prosody:scope:admin`,
//!   and its owner is an admin (role `prosody:admin`, or in `admins`).
//! - Prosody 13: the grant exists and holds sha256(secret); neither the token nor the
//!   grant has expired; the grant is not older than the account's last password change;
//!   the account exists and is enabled; the token's role is one the account may assume
//!   and is `prosody:admin` or `prosody:operator` (mod_http_admin_api's default
//!   `:access-admin-api` permission). OAuth2 tokens (mod_http_oauth2) carry the role
//!   it selected from the granted scopes, and are checked the same way.
//!
//! Nothing is written while checking (Prosody's own cleanup of expired grants and its
//! `accessed` bookkeeping are left to Prosody).

use crate::error::Failure;
use crate::storage::stores::roles::{ADMIN, OPERATOR};
use crate::storage::stores::tokens::Stored;
use crate::storage::{Db, ProsodyVersion};
use crate::token::{Bearer, SecretToken, TokenRef, ADMIN_SCOPE};
use crate::{Backend, Settings};

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub username: String,
    /// The token's public id ([`Bearer::public_id`]), for the audit log.
    pub token_id: String,
}

/// The bearer token a request presented, as the HTTP layer passes it in the context
/// (for the one operation that acts on the token itself: sign-out revokes it). Never
/// shown in debug output.
#[derive(Clone, PartialEq)]
pub struct Presented(pub String);

impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Presented(…)")
    }
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Denied {
    /// 401: no usable token (missing, malformed, unknown, revoked, expired).
    Unauthorized(String),
    /// 403: a real token that may not administer this server.
    Forbidden(String),
    /// 500: the check itself failed.
    Internal(Failure),
}

/// A caller, and when their token stops being valid (None: never).
type Checked = Result<(Caller, Option<i64>), Denied>;

fn unauthorized(why: &str) -> Checked {
    Err(Denied::Unauthorized(why.to_string()))
}

/// A Prosody 0.12 token on a 0.12 database.
fn check_012(db: &Db, s: &Settings, t: TokenRef, now: i64) -> Result<Checked, Failure> {
    let Some(Stored::Legacy(tok)) = db.auth_tokens().get(&t.username, &t.id)? else {
        return Ok(unauthorized("unknown or revoked token"));
    };
    if tok.expires.is_some_and(|e| e < now) {
        return Ok(unauthorized("token expired"));
    }
    if tok.session.auth_scope.as_deref() != Some(ADMIN_SCOPE) {
        return Ok(Err(Denied::Forbidden(format!("token does not have scope {ADMIN_SCOPE}"))));
    }
    if !db.roles().of(&t.username)?.is_admin(s.is_config_admin(&t.username)) {
        return Ok(Err(Denied::Forbidden(format!("{}@{} is not an admin", t.username, s.host))));
    }
    let token_id = Bearer::V012(t.clone()).public_id();
    Ok(Ok((Caller { username: t.username, token_id }, tok.expires)))
}

/// A Prosody 13 token on a 13 database (mod_tokenauth's `_get_validated_token_info`
/// and `get_token_session`).
fn check_13(db: &Db, s: &Settings, t: SecretToken, now: i64) -> Result<Checked, Failure> {
    let Some(Stored::Grant(grant)) = db.auth_tokens().get(&t.username, &t.grant_id)? else {
        return Ok(unauthorized("unknown or revoked token"));
    };
    let Some(token) = grant.tokens.as_ref().and_then(|m| m.get(&t.hash_key())) else {
        return Ok(unauthorized("unknown or revoked token"));
    };
    if token.expires.is_some_and(|e| e <= now) || grant.expires.is_some_and(|e| e <= now) {
        return Ok(unauthorized("token expired"));
    }
    let Some(created) = grant.created else {
        return Ok(unauthorized("token grant without creation time"));
    };
    let Some(account) = db.accounts().get(&t.username)? else {
        return Ok(unauthorized("the token's account does not exist"));
    };
    if account.password_updated().is_some_and(|p| created < p) {
        return Ok(unauthorized("token granted before the account's last password change"));
    }
    if !account.enabled() {
        return Ok(unauthorized("the token's account is disabled"));
    }
    let Some(role) = token.role.as_deref() else {
        return Ok(Err(Denied::Forbidden("token carries no role".into())));
    };
    let config_admin = s.is_config_admin(&t.username);
    if !db.roles().of(&t.username)?.can_assume(role, config_admin) {
        return Ok(Err(Denied::Forbidden(format!("{}@{} may not assume the token's role {role}", t.username, s.host))));
    }
    if role != ADMIN && role != OPERATOR {
        return Ok(Err(Denied::Forbidden(format!("role {role} may not access the admin API"))));
    }
    let token_id = t.public_id();
    Ok(Ok((Caller { username: t.username, token_id }, grant.expiry_of(token))))
}

fn check(db: &Db, s: &Settings, bearer: Bearer, now: i64) -> Result<Checked, Failure> {
    match (db.version(), bearer) {
        (ProsodyVersion::V0_12, Bearer::V012(t)) => check_012(db, s, t, now),
        (ProsodyVersion::V13, Bearer::V13(t)) => check_13(db, s, t, now),
        (ProsodyVersion::V13, Bearer::V012(_)) => {
            Ok(unauthorized("Prosody 0.12 token on a Prosody 13 server (13 accepts only secret-token: tokens)"))
        }
        (ProsodyVersion::V0_12, Bearer::V13(_)) => Ok(unauthorized("secret-token: tokens need a Prosody 13 server")),
    }
}

impl Backend {
    /// Checks an `Authorization` header value.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Caller, Denied> {
        let header = authorization.ok_or_else(|| Denied::Unauthorized("missing bearer token".into()))?;
        let (scheme, token) = header.trim().split_once(' ').unwrap_or((header, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Denied::Unauthorized("authorization scheme must be Bearer".into()));
        }
        let now = crate::now().map_err(Denied::Internal)?;
        // A token that passed every check below, at this generation, needs no parsing.
        let gen = self.store().generation();
        if let Some((caller, expires)) = self.caches().auth.get(token, gen) {
            if expires.is_none_or(|e| e > now) {
                return Ok(caller);
            }
        }
        let bearer = Bearer::parse(token).ok_or_else(|| Denied::Unauthorized("malformed bearer token".into()))?;
        if bearer.host() != self.settings().host {
            return Err(Denied::Unauthorized("token was issued for another host".into()));
        }
        let b = self.clone();
        let key = token.to_string();
        let out =
            self.store().read(move |db| check(db, b.settings(), bearer, now)).await.map_err(Denied::Internal)??;
        self.caches().auth.insert(key, gen, out.clone());
        Ok(out.0)
    }
}
