//! Pages of the three listings (users, groups, invites): `limit` and an opaque `after`
//! cursor, keyset style: a page holds the items whose sort key is greater than the
//! cursor's, in order, so an item that exists for the whole walk is on exactly one page
//! whatever is added or removed meanwhile. The cursor is the last item's sort key in
//! base64url (a username may hold any character; the cursor must sit in a URL as is).
//!
//! Listings are also written straight into their JSON body ([`JsonArray`]), one model
//! at a time, instead of building every model first: the bytes are what
//! `serde_json::to_vec(&Vec<Model>)` gives for the same items.

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde::Serialize;

use crate::Failure;

/// Decodes what the spec's pattern allows: base64url without padding, any trailing bits.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// Largest page (the spec's `maximum`).
pub const MAX_LIMIT: u64 = 10_000;
/// Longest cursor (the spec's `maxLength`).
const MAX_CURSOR: usize = 1400;

/// What a request asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// None: to the end.
    pub limit: Option<usize>,
    /// The sort key the page starts after (decoded).
    pub after: Option<String>,
}

impl Page {
    /// The whole list.
    pub fn all() -> Page {
        Page::default()
    }

    pub fn parse(limit: Option<u64>, after: Option<&str>) -> Result<Page, Failure> {
        let limit = match limit {
            None => None,
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Some(n as usize),
            Some(_) => return Err(Failure::BadRequest(format!("limit must be 1 to {MAX_LIMIT}"))),
        };
        let after = match after {
            None => None,
            Some(c) => {
                let bad = || Failure::BadRequest(format!("after: not a cursor of this listing: {c:?}"));
                if c.is_empty() || c.len() > MAX_CURSOR {
                    return Err(bad());
                }
                // Any base64url string the spec's pattern allows names a place in the
                // order (a cursor not of our making too: what follows it is the page).
                let raw = LENIENT.decode(c).map_err(|_| bad())?;
                Some(String::from_utf8_lossy(&raw).into_owned())
            }
        };
        Ok(Page { limit, after })
    }

    /// The cursor that names `key`.
    pub fn cursor(key: &str) -> String {
        URL_SAFE_NO_PAD.encode(key)
    }

    /// Where an item with sort key `key` falls, `taken` items into the page.
    pub fn admit(&self, taken: usize, key: &str) -> Admit {
        if self.after.as_deref().is_some_and(|a| key <= a) {
            return Admit::Before;
        }
        if self.limit.is_some_and(|l| taken >= l) {
            return Admit::Beyond;
        }
        Admit::Take
    }

    /// The `Link` header value naming the next page of `resource` (e.g. `/users`), if
    /// there is one: same limit, the given cursor.
    pub fn link_to(&self, resource: &str, next: Option<String>) -> Option<String> {
        let next = next?;
        let base = prosody_admin_api::BASE_PATH;
        Some(match self.limit {
            Some(l) => format!("<{base}{resource}?limit={l}&after={next}>; rel=\"next\""),
            None => format!("<{base}{resource}?after={next}>; rel=\"next\""),
        })
    }

    /// How many rows to fetch: one more than the page, to know whether more follow.
    pub fn fetch(&self) -> Option<usize> {
        self.limit.map(|l| l + 1)
    }
}

/// A serialized page: the JSON array, the next page's cursor, and (for lists of
/// expiring items) the Unix second after which the answer is stale.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub body: Vec<u8>,
    pub next: Option<String>,
    pub valid_until: Option<i64>,
}

/// A JSON array written one element at a time.
pub struct JsonArray {
    buf: Vec<u8>,
    empty: bool,
}

impl Default for JsonArray {
    fn default() -> Self {
        JsonArray { buf: vec![b'['], empty: true }
    }
}

impl JsonArray {
    pub fn push<T: Serialize>(&mut self, item: &T) -> Result<(), Failure> {
        if !self.empty {
            self.buf.push(b',');
        }
        self.empty = false;
        serde_json::to_writer(&mut self.buf, item).map_err(|e| Failure::Internal(format!("serializing: {e}")))
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(b']');
        self.buf
    }
}

/// Where an item falls relative to a page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admit {
    /// At or before the cursor: not on this page.
    Before,
    Take,
    /// Past the limit: the page is full and more follow.
    Beyond,
}

impl crate::Backend {
    /// A page of the listing `kind` (an operation the spec marks
    /// `x-prosody-admin-listing`), written as JSON.
    pub async fn listing_json(&self, kind: crate::contract::Listing, page: Page) -> Result<Listing, crate::Failure> {
        use crate::contract::Listing as Kind;
        match kind {
            Kind::Users => self.list_users_json(page).await,
            Kind::Groups => self.list_groups_json(page).await,
            Kind::Invites => self.list_invites_json(page).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_bad_input_is_400() {
        for key in ["alice", "ünïcode user", "1700000000:abc-_", ""] {
            let c = Page::cursor(key);
            if !key.is_empty() {
                assert_eq!(Page::parse(Some(5), Some(&c)).unwrap().after.as_deref(), Some(key));
                assert!(c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            }
        }
        assert_eq!(Page::parse(None, None).unwrap(), Page::all());
        for (l, a) in
            [(Some(0), None), (Some(MAX_LIMIT + 1), None), (None, Some("!!")), (None, Some("")), (None, Some("0"))]
        {
            assert!(matches!(Page::parse(l, a), Err(Failure::BadRequest(_))), "{l:?} {a:?}");
        }
        // Whatever the spec's pattern allows names a place in the order, ours or not.
        let re = regex::Regex::new("^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$").unwrap();
        for a in ["_w", "0A", "0B", "AAAA_-", "abc"] {
            assert!(re.is_match(a) && Page::parse(None, Some(a)).is_ok(), "{a}");
        }
    }

    #[test]
    fn json_array_is_serde_json_of_the_vec() {
        let items = [serde_json::json!({"a": 1}), serde_json::json!("x\"y"), serde_json::json!(null)];
        for n in 0..=items.len() {
            let mut arr = JsonArray::default();
            for i in &items[..n] {
                arr.push(i).unwrap();
            }
            assert_eq!(arr.finish(), serde_json::to_vec(&items[..n].to_vec()).unwrap());
        }
    }
}
