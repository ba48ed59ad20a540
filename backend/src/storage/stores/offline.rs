//! Archive store `offline` (mod_offline): messages for offline users, one item per
//! message (key = a UUID, `when` = the time, `with` = ''), delivered by Prosody when the
//! user next logs in, then deleted by Prosody.

use crate::storage::kinds::{Archive, Item};
use crate::storage::StoreError;
use crate::values::Value;

pub(in crate::storage) const STORE: &str = "offline";

pub struct Offline<'a> {
    pub(in crate::storage) archive: Archive<'a>,
}

impl Offline<'_> {
    /// Stores a serialized `<message/>` for `user`, as mod_offline's `append`.
    pub fn append(&self, user: &str, id: &str, when: i64, message_xml: String) -> Result<(), StoreError> {
        self.archive.put(user, id, &Item { when, with: String::new(), value: Value::Xml(message_xml) })
    }
}
