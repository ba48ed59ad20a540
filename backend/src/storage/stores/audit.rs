//! Archive store `prosody_admin_audit` (our own; Prosody ignores it): the audit log of
//! this service, host-level (user `""`, as mod_storage_sql stores a host's own data).
//! One item per recorded action: key = a random id, `when` = the time, `with` = the
//! actor's JID, value = the [`AuditRecord`] as JSON. It lives in the administered
//! database, so it survives restarts and follows the data (backups, moves).

use serde::{Deserialize, Serialize};

use crate::storage::kinds::{Archive, Item};
use crate::storage::StoreError;
use crate::values::Value;

pub(in crate::storage) const STORE: &str = "prosody_admin_audit";
/// The host's own data has no user.
const HOST_LEVEL: &str = "";

/// One recorded action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    pub client: String,
    pub operation: String,
    pub method: String,
    pub target: String,
    /// `success` or `refused`.
    pub outcome: String,
    /// The refusal's HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

pub struct AuditLog<'a> {
    pub(in crate::storage) archive: Archive<'a>,
}

impl AuditLog<'_> {
    pub fn append(&self, id: &str, when: i64, r: &AuditRecord) -> Result<i64, StoreError> {
        let value = serde_json::to_value(r).map_err(|e| StoreError(format!("audit record: {e}")))?;
        self.archive.append(HOST_LEVEL, id, &Item { when, with: r.actor.clone(), value: Value::Json(value) })
    }

    /// Deletes the oldest records beyond the `keep` newest and those older than `before`
    /// (a time), at most `limit` of them; how many went.
    pub fn prune(&self, keep: Option<i64>, before: Option<i64>, limit: i64) -> Result<usize, StoreError> {
        self.archive.prune(HOST_LEVEL, keep, before, limit)
    }

    /// Up to `limit` records, newest first, before position `before` if given:
    /// (position, id, time, record).
    pub fn newest(&self, before: Option<i64>, limit: i64) -> Result<Vec<(i64, String, i64, AuditRecord)>, StoreError> {
        self.archive
            .newest(HOST_LEVEL, before, limit)?
            .into_iter()
            .map(|(pos, id, item)| {
                let Value::Json(j) = item.value else {
                    return Err(StoreError(format!("{STORE} item {id}: not JSON")));
                };
                let r = serde_json::from_value(j).map_err(|e| StoreError(format!("{STORE} item {id}: {e}")))?;
                Ok((pos, id, item.when, r))
            })
            .collect()
    }
}
