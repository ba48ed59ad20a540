//! GET /users/{u}/debug: push registrations (store `cloud_notify`) and the OMEMO device
//! list and bundles (PEP), judged with the reference module's validity rules. Live
//! sessions are in Prosody's memory: read through its admin socket when the live path
//! is up (see [`crate::live`]), else empty.

use std::collections::BTreeMap;

use prosody_admin_api::models;
use swagger::Nullable;

use crate::error::Failure;
use crate::storage::{Db, CURRENT};
use crate::username::Username;
use crate::values::Value;
use crate::{users, xml, Backend};
const DEVICELIST: &str = "eu.siacs.conversations.axolotl.devicelist";
const BUNDLES: &str = "eu.siacs.conversations.axolotl.bundles:";

/// The effective config of a PEP node: util.pubsub's and mod_pep's defaults merged with
/// the stored `config` (keys starting with `_` are Prosody-internal).
fn node_config(db: &Db, user: &str, node: &str) -> Result<models::PubsubNodeConfig, Failure> {
    let mut cfg = models::PubsubNodeConfig::new();
    cfg.access_model = Some("presence".into());
    cfg.max_items = Some(256);
    cfg.persist_items = Some(true);
    cfg.publish_model = Some("publishers".into());
    cfg.send_last_published_item = Some("on_sub_and_presence".into());
    if let Some(o) = db.pep().node_config(user, node)? {
        for (k, v) in &o {
            match k.as_str() {
                "access_model" => cfg.access_model = v.as_str().map(str::to_string),
                "max_items" => cfg.max_items = v.as_i64().or_else(|| v.as_str().and_then(|t| t.parse().ok())),
                "persist_items" => cfg.persist_items = v.as_bool(),
                "publish_model" => cfg.publish_model = v.as_str().map(str::to_string),
                "send_last_published_item" => cfg.send_last_published_item = v.as_str().map(str::to_string),
                _ => {}
            }
        }
    }
    Ok(cfg)
}

/// The reference's test of an OMEMO node config.
fn config_valid(cfg: &models::PubsubNodeConfig) -> bool {
    cfg.max_items == Some(1)
        && cfg.access_model.as_deref() == Some("open")
        && cfg.persist_items == Some(true)
        && cfg.publish_model.as_deref() == Some("publishers")
}

fn item(db: &Db, user: &str, node: &str) -> Result<Option<String>, Failure> {
    Ok(db.pep().item(user, node, CURRENT)?.and_then(|i| match i.value {
        Value::Xml(x) => Some(x),
        _ => None,
    }))
}

fn omemo(db: &Db, user: &str) -> Result<models::UserDebugOmemo, Failure> {
    let mut out = models::UserDebugOmemo::new();
    let mut status = models::UserDebugOmemoStatus::new();
    let Some(list) = item(db, user, DEVICELIST)? else {
        status.valid = Some(false);
        out.status = Some(status);
        return Ok(out);
    };
    let list_cfg = node_config(db, user, DEVICELIST)?;
    let list_ok = config_valid(&list_cfg);
    let mut devices = Vec::new();
    for id in xml::device_ids(&list) {
        let mut d = models::UserDebugOmemoDevicesInner::new();
        let Ok(n) = id.parse::<i64>() else {
            d.valid = Some(false);
            devices.push(d);
            continue;
        };
        d.id = Some(Nullable::Present(n));
        let node = format!("{BUNDLES}{id}");
        match item(db, user, &node)? {
            Some(b) if xml::is_bundle(&b) => {
                let cfg = node_config(db, user, &node)?;
                d.have_bundle = Some(true);
                d.valid = Some(config_valid(&cfg));
                d.bundle_config = Some(cfg);
            }
            _ => d.valid = Some(false),
        }
        devices.push(d);
    }
    status.valid = Some(list_ok && !devices.is_empty() && devices.iter().all(|d| d.valid == Some(true)));
    status.config_valid = Some(list_ok);
    status.config = Some(list_cfg);
    out.status = Some(status);
    out.devices = Some(devices);
    Ok(out)
}

fn push_registrations(db: &Db, user: &str) -> Result<BTreeMap<String, models::UserDebugPushRegistration>, Failure> {
    let mut out = BTreeMap::new();
    for (id, p) in db.push().of(user)? {
        let mut r = models::UserDebugPushRegistration::new();
        r.since = p.timestamp;
        r.service = p.jid;
        r.node = p.node;
        // mod_cloud_notify keeps error counts in memory only.
        r.error_count = Some(0.0);
        out.insert(id, r);
    }
    Ok(out)
}

pub fn get(db: &Db, user: &Username, now: i64) -> Result<models::UserDebugInfo, Failure> {
    users::require(db, user)?;
    let u = user.as_str();
    Ok(models::UserDebugInfo::new(now, Vec::new(), push_registrations(db, u)?, omemo(db, u)?))
}

impl Backend {
    pub async fn user_debug(&self, user: Username) -> Result<models::UserDebugInfo, Failure> {
        let now = crate::now()?;
        let name = user.as_str().to_string();
        let mut info = self.store().read(move |db| get(db, &user, now)).await?;
        // Live sessions, from the running Prosody when it is reachable.
        if let Some(live) = self.live() {
            match live.sessions(&name, &self.settings().host).await {
                Ok(json) => match serde_json::from_str::<Vec<models::UserDebugSessionInfo>>(&json) {
                    Ok(s) => info.sessions = s,
                    Err(e) => log::warn!("live: sessions of {name}: unexpected answer ({e}): {json}"),
                },
                Err(e) => log::info!("live: sessions of {name} not read: {e}"),
            }
        }
        Ok(info)
    }

    /// Ends the account's live sessions (or one resource's) through the live path:
    /// `Ok(Ok(n))` ended, `Ok(Err(why))` the live path cannot do it (503).
    pub async fn end_sessions(&self, user: Username, resource: Option<String>) -> Result<Result<i64, String>, Failure> {
        // Any text: a resource no session has (control characters included, which
        // resourceprep refuses) simply ends nothing; it reaches Prosody as a Lua literal.
        if let Some(r) = &resource {
            if r.is_empty() || r.chars().count() > 1023 {
                return Err(Failure::BadRequest("resource: 1 to 1023 characters".into()));
            }
        }
        let name = user.as_str().to_string();
        let exists = self.store().read(move |db| db.accounts().exists(user.as_str())).await?;
        if !exists {
            return Err(Failure::NotFound(format!("user {name} not found")));
        }
        let Some(live) = self.live() else {
            return Ok(Err("the live path is not configured (prosody_socket: Prosody's admin socket)".into()));
        };
        Ok(live
            .end_sessions(&name, &self.settings().host, resource.as_deref())
            .await
            .map_err(|e| format!("Prosody does not answer on its admin socket: {e}")))
    }
}
