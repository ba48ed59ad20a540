//! Accounts for the command line: add, change password, and the first-start bootstrap.

use crate::error::Failure;
use crate::scram::Credentials;
use crate::username::Username;
use crate::values::Value;
use crate::{ids, store, users, Backend};

/// What the first start on an empty database created.
pub struct Bootstrap {
    pub username: String,
    pub password: String,
    pub token: String,
}

fn write_credentials(c: &r2d2_sqlite::rusqlite::Connection, host: &str, user: &str, cred: &Credentials) -> Result<(), Failure> {
    store::kv_clear(c, host, user, users::ACCOUNTS)?;
    for (k, v) in cred.rows() {
        store::kv_set(c, host, user, users::ACCOUNTS, k, &v)?;
    }
    Ok(())
}

impl Backend {
    /// Creates an account; fails if it exists.
    pub fn add_user(&self, user: &Username, password: &str) -> Result<(), Failure> {
        let cred = Credentials::new(password)?;
        let s = self.settings().clone();
        self.store().write_blocking(|c| {
            if users::exists(c, &s, user)? {
                return Err(Failure::BadRequest(format!("user {user} already exists")));
            }
            write_credentials(c, &s.host, user.as_str(), &cred)
        })
    }

    /// Sets an existing account's password.
    pub fn set_password(&self, user: &Username, password: &str) -> Result<(), Failure> {
        let cred = Credentials::new(password)?;
        let s = self.settings().clone();
        self.store().write_blocking(|c| {
            users::require(c, &s, user)?;
            write_credentials(c, &s.host, user.as_str(), &cred)
        })
    }

    /// Gives an account the role `prosody:admin` (a `roles` row, as mod_authz_internal).
    pub fn grant_admin(&self, user: &Username) -> Result<(), Failure> {
        let host = self.settings().host.clone();
        self.store().write_blocking(|c| -> Result<(), Failure> {
            store::kv_set(c, &host, user.as_str(), users::ROLES, users::ADMIN_ROLE, &Value::Boolean(true))?;
            Ok(())
        })
    }

    /// On a database without any account on this host: creates `username` with a random
    /// password and role `prosody:admin`, and an admin token for it.
    pub fn bootstrap(&self, username: &Username) -> Result<Option<Bootstrap>, Failure> {
        let s = self.settings().clone();
        let has_accounts = self
            .store()
            .read_blocking(|c| -> Result<bool, Failure> { Ok(!store::store_users(c, &s.host, users::ACCOUNTS)?.is_empty()) })?;
        if has_accounts {
            return Ok(None);
        }
        let password = ids::password()?;
        self.add_user(username, &password)?;
        self.grant_admin(username)?;
        let token = self.create_token(username, None)?;
        Ok(Some(Bootstrap { username: username.to_string(), password, token }))
    }
}
