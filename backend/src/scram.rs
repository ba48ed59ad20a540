//! SCRAM-SHA-1 credentials as mod_auth_internal_hashed 0.12 stores them
//! (store `accounts`: iteration_count, salt, stored_key, server_key).

use hmac::{Hmac, Mac};
use sha1::{Digest, Sha1};

use crate::error::Failure;

pub const ITERATIONS: u32 = 10000;

/// The four `accounts` rows of one user.
#[derive(Debug, Clone, PartialEq)]
pub struct Credentials {
    pub iteration_count: u32,
    pub salt: String,
    pub stored_key: String,
    pub server_key: String,
}

impl Credentials {
    /// Derives credentials for `password` (SASLprep'd first, as Prosody does) with a
    /// fresh UUID salt.
    pub fn new(password: &str) -> Result<Credentials, Failure> {
        Self::with_salt(password, &crate::ids::uuid()?, ITERATIONS)
    }

    pub fn with_salt(password: &str, salt: &str, iterations: u32) -> Result<Credentials, Failure> {
        let prepped = stringprep::saslprep(password)
            .map_err(|_| Failure::BadRequest("password is not valid (SASLprep failed)".into()))?;
        if prepped.is_empty() {
            return Err(Failure::BadRequest("password must not be empty".into()));
        }
        let mut salted = [0u8; 20];
        pbkdf2::pbkdf2_hmac::<Sha1>(prepped.as_bytes(), salt.as_bytes(), iterations, &mut salted);
        let client_key = hmac(&salted, b"Client Key")?;
        let server_key = hmac(&salted, b"Server Key")?;
        let stored_key = Sha1::digest(client_key);
        Ok(Credentials {
            iteration_count: iterations,
            salt: salt.to_string(),
            stored_key: hex(&stored_key),
            server_key: hex(&server_key),
        })
    }
}

fn hmac(key: &[u8], msg: &[u8]) -> Result<Vec<u8>, Failure> {
    let mut m = <Hmac<Sha1> as Mac>::new_from_slice(key).map_err(|e| Failure::Internal(format!("hmac: {e}")))?;
    m.update(msg);
    Ok(m.finalize().into_bytes().to_vec())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows a real Prosody 0.12.3 wrote for alice with password `pass`
    /// (../shared/reference/prosody-0.12-storage.md, "Accounts").
    #[test]
    fn matches_independent_computation() {
        let c = Credentials::with_salt("pass", "e92314ef-1b45-4857-92e1-e96382c5689c", 10000).unwrap();
        assert_eq!(c.stored_key, "afd5cef63e381ba9a1807beda8b393a954fb9837");
        assert_eq!(c.server_key, "1fb07677e45b613ea3141848d561808e1b6f6784");
    }
}
