//! Who may call the API: a Prosody 0.12 bearer token (see [`crate::token`]) that exists,
//! has not expired, has scope `prosody:scope:admin`, and whose owner is an admin.

use crate::error::Failure;
use crate::token::{TokenInfo, TokenRef, ADMIN_SCOPE, STORE};
use crate::values::Value;
use crate::{store, users, Backend};

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub username: String,
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

impl Backend {
    /// Checks an `Authorization` header value.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Caller, Denied> {
        let header = authorization.ok_or_else(|| Denied::Unauthorized("missing bearer token".into()))?;
        let (scheme, token) = header.trim().split_once(' ').unwrap_or((header, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Denied::Unauthorized("authorization scheme must be Bearer".into()));
        }
        // A token that passed every check below, at this generation, needs no parsing.
        let now = crate::now();
        let gen = self.store().generation();
        if let Some((caller, expires)) = self.caches().auth.get(token, gen) {
            if expires.is_none_or(|e| e >= now) {
                return Ok(caller);
            }
        }
        let t = TokenRef::parse(token).ok_or_else(|| Denied::Unauthorized("malformed bearer token".into()))?;
        if t.host != self.settings().host {
            return Err(Denied::Unauthorized("token was issued for another host".into()));
        }
        let b = self.clone();
        let key = token.to_string();
        let out = self
            .store()
            .read(move |c| -> Result<Result<(Caller, Option<i64>), Denied>, Failure> {
                let s = b.settings();
                let Some(Value::Json(v)) = store::kv_get(c, &s.host, &t.username, STORE, &t.id)? else {
                    return Ok(Err(Denied::Unauthorized("unknown or revoked token".into())));
                };
                let info = TokenInfo::from_json(&v);
                if info.expired(now) {
                    return Ok(Err(Denied::Unauthorized("token expired".into())));
                }
                if info.scope.as_deref() != Some(ADMIN_SCOPE) {
                    return Ok(Err(Denied::Forbidden(format!("token does not have scope {ADMIN_SCOPE}"))));
                }
                if !users::is_admin(c, s, &t.username)? {
                    return Ok(Err(Denied::Forbidden(format!("{}@{} is not an admin", t.username, s.host))));
                }
                Ok(Ok((Caller { username: t.username }, info.expires)))
            })
            .await
            .map_err(Denied::Internal)??;
        self.caches().auth.insert(key, gen, out.clone());
        Ok(out.0)
    }
}
