//! The web console: its three files (built by `backend/console/`'s build from the
//! TypeScript client generated from the contract, committed in `backend/assets/console/`
//! and drift-checked), and the password sign-in that mints its token.
//!
//! The sign-in checks a password as Prosody's `internal_hashed` provider does (the
//! SCRAM-SHA-1 stored key derived from it with the stored salt and iteration count;
//! `internal_plain`'s clear `password` is compared as such) and mints the token through
//! [`crate::tokens::mint`], in the database's own format: Prosody sees it, lists it and
//! can revoke it like any of its own.

use std::sync::Arc;

use crate::audit::Pending;
use crate::error::Failure;
use crate::scram::Credentials;
use crate::storage::stores::accounts::Account;
use crate::username::Username;
use crate::Backend;

pub const PAGE: &str = include_str!("../assets/console/index.html");
pub const SCRIPT: &str = include_str!("../assets/console/app.js");
pub const STYLE: &str = include_str!("../assets/console/app.css");

/// The page as `host` serves it: the host and the server's hosts (the switcher's
/// choices) as attributes of the root element (data, not script: the policy runs none
/// inline).
pub fn page(host: &str, served: &[String]) -> String {
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let hosts: Vec<String> = served.iter().map(|h| escape(h)).collect();
    PAGE.replacen(
        "<html lang=\"en\">",
        &format!("<html lang=\"en\" data-host=\"{}\" data-hosts=\"{}\">", escape(host), hosts.join(" ")),
        1,
    )
}

/// The console's Content-Security-Policy: its own script and style sheet only (nothing
/// inline), QR codes as `data:` images, calls to this server only, never framed.
pub const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                          connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The most iterations a stored credential is derived with here (Prosody writes 10 000;
/// a row claiming more is refused, not a way to make the server spin).
const MAX_ITERATIONS: i64 = 1_000_000;

/// What a sign-in came to.
pub enum SignIn {
    Signed {
        token: String,
        jid: String,
        role: String,
        expires: i64,
    },
    /// 401: no such account, a wrong password, or an account that cannot log in
    /// (disabled; no credentials). The answer does not say which.
    Wrong,
    /// 403: the password is right, and the account may not administer.
    NotAdmin(String),
    /// 404: the console is switched off.
    Off,
}

/// Whether `password` is the account's (constant time in the comparison).
fn password_matches(account: Option<&Account>, password: &str) -> bool {
    let Some(a) = account else {
        // The same work as for an account, so that time does not tell names apart.
        let _ = Credentials::with_salt(password, "00000000-0000-0000-0000-000000000000", crate::scram::ITERATIONS);
        return false;
    };
    match (&a.stored_key, &a.salt, a.iteration_count) {
        (Some(stored), Some(salt), Some(n)) if (1..=MAX_ITERATIONS).contains(&n) => {
            match Credentials::with_salt(password, salt, n as u32) {
                Ok(c) => same(c.stored_key.as_bytes(), stored.to_ascii_lowercase().as_bytes()),
                Err(_) => false,
            }
        }
        (None, _, _) => match (&a.password, stringprep::saslprep(password)) {
            (Some(clear), Ok(prepped)) => same(prepped.as_bytes(), clear.as_bytes()),
            _ => false,
        },
        _ => false,
    }
}

/// Byte strings compared without an early exit.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Backend {
    /// Signs `username` in with `password` on this host: a token valid for
    /// `console_session_ttl` seconds. The request's audit record (the HTTP layer's
    /// [`Pending`]) is named after the account once the password is right.
    pub async fn console_sign_in(&self, username: &str, password: String) -> Result<SignIn, Failure> {
        let settings = self.settings().clone();
        if !settings.console {
            return Ok(SignIn::Off);
        }
        if username.is_empty() || password.is_empty() {
            return Err(Failure::BadRequest("username and password must not be empty".into()));
        }
        let user = Username::lookup(username).ok();
        let config_admin = user.as_ref().is_some_and(|u| settings.is_config_admin(u.as_str()));
        let found = match &user {
            Some(u) => {
                let name = u.as_str().to_string();
                self.store()
                    .read(move |db| {
                        let Some(account) = db.accounts().get(&name)? else { return Ok::<_, Failure>(None) };
                        let admin = db.roles().of(&name)?.is_admin(config_admin);
                        Ok(Some((account, admin)))
                    })
                    .await?
            }
            None => None,
        };
        let (account, admin) = match found {
            Some((a, admin)) => (Some(a), admin),
            None => (None, false),
        };
        // PBKDF2 is CPU work: off the runtime.
        let checked = tokio::task::spawn_blocking(move || (password_matches(account.as_ref(), &password), account))
            .await
            .map_err(|e| Failure::Internal(format!("password check: {e}")))?;
        let (true, Some(account), Some(user)) = (checked.0, checked.1, user) else {
            return Ok(SignIn::Wrong);
        };
        if !account.enabled() {
            return Ok(SignIn::Wrong);
        }
        let jid = format!("{}@{}", user.as_str(), settings.host);
        let pending: Option<Arc<Pending>> = Pending::current();
        if !admin {
            // The refusal is the HTTP layer's to record, under this name.
            if let Some(p) = &pending {
                p.name_actor(jid.clone(), None);
            }
            return Ok(SignIn::NotAdmin(format!("{jid} may not administer {}", settings.host)));
        }
        let now = crate::now()?;
        let ttl = u64::try_from(settings.console_session_ttl).ok();
        let (host, who) = (settings.host.clone(), jid.clone());
        // Minted only for an admin (`mint` checks again, in the write's transaction).
        let m = self
            .write(move |db| {
                let m = crate::tokens::mint(db, &user, &host, now, ttl, config_admin, false)?;
                // The write's audit entry (written after this, in its transaction).
                if let Some(p) = &pending {
                    p.name_actor(who, Some(m.public_id.clone()));
                }
                Ok::<_, Failure>(m)
            })
            .await;
        match m {
            Ok(m) => Ok(SignIn::Signed { token: m.token, jid, role: m.role, expires: m.expires.unwrap_or(i64::MAX) }),
            // No longer an admin between the read and the write.
            Err(Failure::Conflict(_)) => Ok(SignIn::NotAdmin(format!("{jid} may not administer {}", settings.host))),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(c: &Credentials) -> Account {
        Account {
            salt: Some(c.salt.clone()),
            iteration_count: Some(i64::from(c.iteration_count)),
            stored_key: Some(c.stored_key.clone()),
            server_key: Some(c.server_key.clone()),
            ..Default::default()
        }
    }

    #[test]
    fn a_password_is_checked_against_the_stored_key() {
        let c = Credentials::with_salt("pass", "e92314ef-1b45-4857-92e1-e96382c5689c", 10000).unwrap();
        let a = account(&c);
        assert!(password_matches(Some(&a), "pass"));
        assert!(!password_matches(Some(&a), "pass "));
        assert!(!password_matches(Some(&a), "Pass"));
        assert!(!password_matches(None, "pass"));
        // SASLprep'd as Prosody does: a non-ASCII space is a space.
        let c = Credentials::with_salt("a b", "s", 4096).unwrap();
        assert!(password_matches(Some(&account(&c)), "a\u{00A0}b"));
    }

    #[test]
    fn a_stored_clear_password_and_odd_rows() {
        let a = Account { password: Some("secret".into()), ..Default::default() };
        assert!(password_matches(Some(&a), "secret"));
        assert!(!password_matches(Some(&a), "secreT"));
        let c = Credentials::with_salt("pass", "s", 10).unwrap();
        let mut odd = account(&c);
        odd.iteration_count = Some(MAX_ITERATIONS + 1);
        assert!(!password_matches(Some(&odd), "pass"));
        odd.iteration_count = Some(0);
        assert!(!password_matches(Some(&odd), "pass"));
        assert!(!password_matches(Some(&Account::default()), "pass"));
    }
}
