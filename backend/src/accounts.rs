//! Accounts for the command line: add, change password, and the first-start bootstrap,
//! written as the database's Prosody version writes them (see
//! [`crate::storage::stores::accounts`]).

use crate::error::Failure;
use crate::scram::Credentials;
use crate::username::Username;
use crate::{ids, Backend};

/// What the first start on an empty database created.
pub struct Bootstrap {
    pub username: String,
    pub password: String,
    pub token: String,
}

impl Backend {
    /// Creates an account; fails if it exists.
    pub fn add_user(&self, user: &Username, password: &str) -> Result<(), Failure> {
        let cred = Credentials::new(password)?;
        let now = crate::now()?;
        self.write_blocking(|db| {
            if !db.holds_user(user.as_str()) {
                return Err(Failure::Conflict(format!("user {user}: a name too long for this storage")));
            }
            if db.accounts().exists(user.as_str())? {
                return Err(Failure::Conflict(format!("user {user} already exists")));
            }
            Ok(db.accounts().create(user.as_str(), &cred, now)?)
        })
    }

    /// Sets an existing account's password (on 13 this voids its older tokens, as
    /// Prosody's `set_password` does); then, as Prosody's own password change, the
    /// account's sessions end (the live path).
    pub async fn set_password(&self, user: Username, password: &str) -> Result<(), Failure> {
        let cred = Credentials::new(password)?;
        let now = crate::now()?;
        let name = user.to_string();
        self.write(move |db| {
            if db.accounts().set_password(user.as_str(), &cred, now)? {
                Ok(())
            } else {
                Err(Failure::user_not_found(&user))
            }
        })
        .await?;
        self.tell_prosody(crate::live::Step::User(crate::live::UserEvent::PasswordChanged, name)).await;
        Ok(())
    }

    /// Makes an account an admin, as the version's own tools do (0.12: role row
    /// `prosody:admin`; 13: primary role `prosody:admin`).
    pub fn grant_admin(&self, user: &Username) -> Result<(), Failure> {
        self.write_blocking(|db| Ok(db.roles().grant_admin(user.as_str())?))
    }

    /// On a database without any account on this host: creates `username` with a random
    /// password and the admin role, and an admin token for it.
    pub fn bootstrap(&self, username: &Username) -> Result<Option<Bootstrap>, Failure> {
        if self.store().read_blocking(|db| -> Result<bool, Failure> { Ok(db.accounts().any()?) })? {
            return Ok(None);
        }
        let password = ids::password()?;
        self.add_user(username, &password)?;
        self.grant_admin(username)?;
        let token = self.create_token(username, None, false)?.token;
        Ok(Some(Bootstrap { username: username.to_string(), password, token }))
    }
}
