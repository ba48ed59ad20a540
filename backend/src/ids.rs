//! Random identifiers, from the operating system's CSPRNG, as Prosody's util.id makes
//! them: base64url without padding.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::Failure;

pub fn random_bytes<const N: usize>() -> Result<[u8; N], Failure> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b)
        .map_err(|e| Failure::Internal(format!("operating system random number generator failed: {e}")))?;
    Ok(b)
}

/// `util.id.short()`: 12 chars (9 bytes). Group ids.
pub fn short() -> Result<String, Failure> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<9>()?))
}

/// `util.id.medium()`: 24 chars (18 bytes). Invite tokens.
pub fn medium() -> Result<String, Failure> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<18>()?))
}

/// `util.id.long()`: 36 chars (27 bytes). Bearer token ids.
pub fn long() -> Result<String, Failure> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<27>()?))
}

/// The alphabet of [`ordered`]: base64url's 64 characters in ASCII order, so that the
/// ids sort in byte order as their times do.
const SORTABLE: &[u8; 64] = b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

/// A time-ordered id, 24 chars like [`medium`]: the time in microseconds (11 chars of
/// [`SORTABLE`]), then 13 random chars (78 bits). Audit entry ids: the archive's indices
/// on `key` then grow at their end, as they do on `when`, instead of at a random page
/// per write (a random key costs a write two more pages of WAL, and of checkpoint).
pub fn ordered(micros: u64) -> Result<String, Failure> {
    let mut out = String::with_capacity(24);
    for i in (0..11).rev() {
        out.push(char::from(SORTABLE[((micros >> (i * 6)) & 63) as usize]));
    }
    let r = random_bytes::<10>()?;
    let bits = u128::from_be_bytes([0, 0, 0, 0, 0, 0, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9]]);
    for i in (0..13).rev() {
        out.push(char::from(SORTABLE[((bits >> (i * 6)) & 63) as usize]));
    }
    Ok(out)
}

/// A random (version 4) UUID string, as Prosody uses for SCRAM salts.
pub fn uuid() -> Result<String, Failure> {
    let mut b = random_bytes::<16>()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]))
}

/// A random password for accounts created without one (18 bytes, 24 chars).
pub fn password() -> Result<String, Failure> {
    medium()
}

#[cfg(test)]
mod tests {
    #[test]
    fn lengths_and_alphabet() {
        for (s, n) in [(super::short().unwrap(), 12), (super::medium().unwrap(), 24), (super::long().unwrap(), 36)] {
            assert_eq!(s.len(), n);
            assert!(s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'), "{s}");
        }
        assert_ne!(super::medium().unwrap(), super::medium().unwrap());
        // Ordered ids: 24 chars of the same alphabet, sorted as their times, unique.
        let (a, b, c) = (super::ordered(1).unwrap(), super::ordered(1).unwrap(), super::ordered(2).unwrap());
        assert_eq!(a.len(), 24);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'), "{a}");
        assert_ne!(a, b);
        assert!(a < c && b < c, "{a} {b} {c}");
        let now = super::ordered(1_795_958_361_000_000).unwrap();
        let later = super::ordered(1_795_958_361_000_064).unwrap();
        assert!(now < later && later < super::ordered(u64::from(u32::MAX) << 24).unwrap());
        let u = super::uuid().unwrap();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}
