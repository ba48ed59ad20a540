//! The server as a whole: usage figures (GET /server/metrics) and announcements
//! (POST /server/announcement).

use prosody_admin_api::models;
use swagger::OneOf2;

use crate::error::Failure;
use crate::storage::{Db, ProsodyVersion};
use crate::username::Username;
use crate::{component, ids, openmetrics, xml, Backend, Settings};

const DAY: i64 = 24 * 3600;
/// Characters (not bytes): the spec's `maxLength`.
const MAX_BODY: usize = 16384;
/// The spec's bounds on a recipient list.
const MAX_RECIPIENTS: usize = 50;
const JID_LEN: std::ops::RangeInclusive<usize> = 3..=2047;

/// Active accounts over 1, 7 and 30 days, from Prosody 13's account activity.
fn active_users(db: &Db, now: i64) -> Result<Option<models::ServerMetricsUsers>, Failure> {
    if db.version() == ProsodyVersion::V0_12 {
        return Ok(None); // 0.12 records no activity
    }
    let life = db.lifecycle();
    let mut u = models::ServerMetricsUsers::new();
    u.active_1d = Some(life.active_since(now - DAY)?);
    u.active_7d = Some(life.active_since(now - 7 * DAY)?);
    u.active_30d = Some(life.active_since(now - 30 * DAY)?);
    Ok(Some(u))
}

/// Who an announcement goes to.
enum Recipients {
    All,
    Online,
    /// Bare or full JIDs, as given.
    Jids(Vec<String>),
}

/// A validated announcement.
pub struct Announcement {
    body: String,
    to: Recipients,
}

impl Announcement {
    pub fn from_body(a: models::Announcement) -> Result<Announcement, Failure> {
        if a.body.is_empty() || a.body.chars().count() > MAX_BODY {
            return Err(Failure::BadRequest(format!("body must have 1 to {MAX_BODY} characters")));
        }
        if a.body.chars().any(xml::forbidden) {
            return Err(Failure::BadRequest("body contains characters XML cannot carry".into()));
        }
        let to = match &*a.recipients {
            OneOf2::A(models::AnnouncementRecipientsOneOf::All) => Recipients::All,
            OneOf2::A(models::AnnouncementRecipientsOneOf::Online) => Recipients::Online,
            OneOf2::B(list) => {
                if list.is_empty() || list.len() > MAX_RECIPIENTS {
                    return Err(Failure::BadRequest(format!("recipients: 1 to {MAX_RECIPIENTS} JIDs")));
                }
                for j in list {
                    // Exactly the spec's pattern: one '@'; no ASCII control or space, none of /<>'"&,
                    // nothing XML cannot carry.
                    let ok = JID_LEN.contains(&j.chars().count())
                        && j.split_once('@').is_some_and(|(n, d)| !n.is_empty() && !d.is_empty() && !d.contains('@'))
                        && !j.chars().any(|c| c <= ' ' || c == '\x7f' || xml::forbidden(c) || "/<>'\"&".contains(c));
                    if !ok {
                        return Err(Failure::BadRequest(format!("{j:?} is not a user JID")));
                    }
                }
                let mut v = list.clone();
                v.dedup();
                Recipients::Jids(v)
            }
        };
        Ok(Announcement { body: a.body, to })
    }
}

/// Local accounts named in `jids` (as usernames), or a 400 for anything else: without
/// a live path only accounts of this host can be reached (through their offline store).
fn local_accounts(db: &Db, s: &Settings, jids: &[String]) -> Result<Vec<String>, Failure> {
    let mut out = Vec::new();
    for j in jids {
        let bare = j.split('/').next().unwrap_or(j);
        let (node, domain) = bare.split_once('@').unwrap_or(("", bare));
        if domain != s.host {
            return Err(Failure::Conflict(format!(
                "{j} is not on {}: reaching other servers needs the live path (component_* settings)",
                s.host
            )));
        }
        let user = Username::lookup(node)?;
        if !db.accounts().exists(user.as_str())? {
            return Err(Failure::user_not_found(j));
        }
        out.push(user.as_str().to_string());
    }
    out.dedup();
    Ok(out)
}

impl Backend {
    pub async fn server_metrics(&self) -> Result<models::ServerMetrics, Failure> {
        let now = crate::now()?;
        let mut m = models::ServerMetrics::new();
        m.users = Some(
            self.store().read(move |db| active_users(db, now)).await?.unwrap_or_else(models::ServerMetricsUsers::new),
        );
        let Some(url) = self.settings().metrics_url.clone() else { return Ok(m) };
        let figures = match openmetrics::fetch(&url).await {
            Ok(f) => f,
            Err(e) => {
                // The figures are optional: absent, and why in the log.
                log::warn!("GET /server/metrics: Prosody's metrics unavailable: {e}");
                return Ok(m);
            }
        };
        let int = |k: &str| figures.get(k).map(|v| v.round() as i64);
        m.memory = int("process_resident_memory_bytes");
        m.c2s = int("prosody_mod_c2s__connections");
        m.uploads = int("prosody_mod_http_file_share__total_storage_bytes");
        if let Some(v) = figures.get("process_cpu_seconds_total").or_else(|| figures.get("process_cpu_seconds")) {
            let mut cpu = models::ServerMetricsCpu::new(*v);
            cpu.since = figures.get("process_cpu_seconds_created").copied();
            m.cpu = Some(cpu);
        }
        if let Some(users) = m.users.as_mut() {
            // 0.12 records no activity; Prosody may measure it itself.
            let f = |k: &str| int(&format!("prosody_mod_measure_active_users__active_users_{k}"));
            users.active_1d = users.active_1d.or_else(|| f("1d"));
            users.active_7d = users.active_7d.or_else(|| f("7d"));
            users.active_30d = users.active_30d.or_else(|| f("30d"));
        }
        Ok(m)
    }

    /// Sends an announcement (see the spec's description of the two paths).
    pub async fn announce(&self, a: Announcement) -> Result<models::AnnouncementResult, Failure> {
        let s = self.settings().clone();
        if let Some(c) = s.component.clone() {
            let (jids, headline): (Vec<String>, bool) = match a.to {
                Recipients::Jids(j) => (j, false),
                Recipients::All | Recipients::Online => {
                    let host = s.host.clone();
                    let users = self.store().read(|db| -> Result<_, Failure> { Ok(db.accounts().users()?) }).await?;
                    (users.into_iter().map(|u| format!("{u}@{host}")).collect(), matches!(a.to, Recipients::Online))
                }
            };
            let stanzas =
                jids.iter().map(|j| xml::message(j, &c.jid, headline, &a.body)).collect::<Result<Vec<_>, _>>()?;
            let sent = component::send(&c, &s.host, &stanzas)
                .await
                .map_err(|e| Failure::Internal(format!("live path to Prosody: {e}")))?;
            return Ok(models::AnnouncementResult::new(sent as i64, 0));
        }
        // Online users through Prosody's admin socket, when there is no component.
        if let (Recipients::Online, Some(live)) = (&a.to, self.live()) {
            let sent = live
                .announce_online(&s.host, &s.host, &a.body)
                .await
                .map_err(|e| Failure::Conflict(format!("Prosody does not answer on its admin socket: {e}")))?;
            return Ok(models::AnnouncementResult::new(sent, 0));
        }
        if matches!(a.to, Recipients::Online) {
            return Err(Failure::Conflict(
                "online users can only be reached through a live path to Prosody (component_* settings); \
                 use \"all\" to leave the message for every account's next login"
                    .into(),
            ));
        }
        let now = crate::now()?;
        let body = a.body;
        let stored = self
            .store()
            .write(move |db| -> Result<usize, Failure> {
                let users = match &a.to {
                    Recipients::Jids(j) => local_accounts(db, &s, j)?,
                    _ => db.accounts().users()?,
                };
                for u in &users {
                    let xml = xml::message(&format!("{u}@{}", s.host), &s.host, false, &body)?;
                    db.offline().append(u, &ids::uuid()?, now, xml)?;
                }
                Ok(users.len())
            })
            .await?;
        Ok(models::AnnouncementResult::new(0, stored as i64))
    }
}
