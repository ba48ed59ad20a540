//! Invite landing pages (`landing_page` of an invite): the web page an invitee opens.
//!
//! In order: a `landing_page` stored in the invite itself; our own `landing_page`
//! setting (`{token}`, `{host}`, `{uri}`); Prosody's `invites_page`, rendered as
//! Prosody 13's mod_invites renders it for every invite it hands out (`add_landing_url`:
//! util.interpolation's `%b{}` templates over `{ host, invite }`, values URL-escaped
//! with util.http's urlencode, only for the invite types `invites_page_supports`
//! lists).

use serde_json::Value as Json;

use crate::settings::Settings;
use crate::storage::stores::invites::StoredInvite;

/// The landing page of `invite`, if any source gives one.
pub fn landing_page(s: &Settings, invite: &StoredInvite) -> Option<String> {
    if let Some(Json::String(stored)) = invite.other.get("landing_page") {
        return Some(stored.clone());
    }
    let uri = invite.uri.clone().unwrap_or_default();
    if let Some(ours) = s.landing_page_for(&invite.token, &uri) {
        return Some(ours);
    }
    let template = s.invites_page.as_deref()?;
    let kind = invite_type(invite);
    if !s.invites_page_supports.iter().any(|t| t == kind) {
        return None;
    }
    let invite = serde_json::to_value(invite).ok()?;
    let values = serde_json::json!({ "host": s.host, "invite": invite });
    Some(render(template, &values))
}

/// The type Prosody 13.0.1's `add_landing_url` checks against
/// `invites_page_supports` (a reset invite is a `register` one: "account"; later 13.0
/// releases call it "password-reset").
fn invite_type(i: &StoredInvite) -> &'static str {
    match (i.kind.as_str(), i.allow_registration == Some(true)) {
        ("register", _) => "account",
        ("roster", true) => "account-and-contact",
        ("roster", false) => "contact-only",
        _ => "unknown",
    }
}

/// Lua's truth: everything but nil and false.
fn truthy(v: &Json) -> bool {
    !matches!(v, Json::Null | Json::Bool(false))
}

/// util.http's urlencode: every byte but `[A-Za-z0-9.~_-]` as `%xx` (lower-case hex).
fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b".~_-".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

/// A value as Lua's `tostring` writes it (integers without a fraction).
fn lua_string(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Number(n) => Some(match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        }),
        Json::Null | Json::Array(_) | Json::Object(_) => None,
    }
}

/// util.interpolation's filters as mod_invites registers them for URLs.
fn filter(name: &str, v: Json) -> Json {
    match (name, v) {
        ("urlescape", Json::String(s)) => Json::String(urlencode(&s)),
        ("noscheme", Json::String(s)) => Json::String(match s.split_once(':') {
            Some((_, rest)) => rest.to_string(),
            None => s,
        }),
        (_, v) => v,
    }
}

/// `{name}`, `{a.b}`, `{name!}` (unescaped), `{name|filter}`, `{name?default}`,
/// `{name&text}`, `{name~text}`: the forms util.interpolation renders (a list
/// iteration, `#`/`%`, renders nothing here: invites have no lists worth a URL).
pub fn render(template: &str, values: &Json) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        // %b{}: the balanced block.
        let mut depth = 0;
        let mut close = None;
        for (i, c) in rest[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(open + i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(close) = close else {
            out.push_str(&rest[open..]);
            return out;
        };
        let block = &rest[open + 1..close];
        out.push_str(&block_value(block, values).unwrap_or_else(|| rest[open..=close].to_string()));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The text of one `{...}` block; None leaves the block as written (no name in it).
fn block_value(block: &str, values: &Json) -> Option<String> {
    let name_len = name_end(block)?;
    let name = &block[..name_len];
    let mut value = lookup(values, name);
    let mut at = name_len;
    let mut raw = false;
    loop {
        if block[at..].starts_with('!') {
            raw = true;
            at += 1;
        }
        if block[at..].starts_with('|') {
            let f_len = name_end(&block[at + 1..]).unwrap_or(0);
            let f = &block[at + 1..at + 1 + f_len];
            value = value.map(|v| filter(f, v));
            at += 1 + f_len;
            continue;
        }
        break;
    }
    let opt = block[at..].chars().next().filter(|c| c.is_ascii_punctuation());
    let sub = &block[at + opt.map_or(0, char::len_utf8)..];
    let present = value.as_ref().is_some_and(truthy);
    Some(match opt {
        Some('#') | Some('%') => String::new(),
        Some('&') => {
            if present {
                render(sub, values)
            } else {
                String::new()
            }
        }
        Some('~') => {
            if present {
                String::new()
            } else {
                render(sub, values)
            }
        }
        Some('?') if !present => render(sub, values),
        _ => match value.as_ref().and_then(lua_string) {
            Some(v) if raw => v,
            Some(v) => urlencode(&v),
            None => String::new(),
        },
    })
}

/// The length of a name at the start of `s` (`[A-Za-z_][A-Za-z0-9_.]*`).
fn name_end(s: &str) -> Option<usize> {
    let first = s.chars().next()?;
    if !(first.is_ascii_alphabetic() || first == '_') {
        return None;
    }
    Some(s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')).unwrap_or(s.len()))
}

/// `values[name]`, then the dotted path through tables.
fn lookup(values: &Json, name: &str) -> Option<Json> {
    if let Some(v) = values.get(name).filter(|v| truthy(v)) {
        return Some(v.clone());
    }
    let mut v = values;
    for word in name.split('.').filter(|w| !w.is_empty()) {
        v = v.get(word)?;
        if !truthy(v) {
            return Some(v.clone());
        }
    }
    Some(v.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite(kind: &str, extra: Json) -> StoredInvite {
        let mut j = serde_json::json!({
            "type": kind, "jid": "localhost", "token": "AbC-123_x", "uri": "xmpp:localhost?register;preauth=AbC-123_x",
            "created_at": 1795958361, "expires": 1796563161
        });
        if let (Some(o), Json::Object(e)) = (j.as_object_mut(), extra) {
            o.extend(e);
        }
        serde_json::from_value(j).unwrap()
    }

    #[test]
    fn renders_as_mod_invites() {
        let mut s = Settings::for_host("example.org");
        s.invites_page = Some("https://example.org/invite/{invite.token}/?h={host}&u={invite.uri}".into());
        let i = invite("register", serde_json::json!({}));
        assert_eq!(
            landing_page(&s, &i).as_deref(),
            Some("https://example.org/invite/AbC-123_x/?h=example.org&u=xmpp%3alocalhost%3fregister%3bpreauth%3dAbC-123_x")
        );
        // A reset is an "account" invite to 13.0.1; a contact-only one is not supported
        // by default; a page that supports no accounts gets none.
        let reset = invite("register", serde_json::json!({"additional_data": {"allow_reset": "bob"}}));
        assert!(landing_page(&s, &reset).is_some());
        assert_eq!(landing_page(&s, &invite("roster", serde_json::json!({}))), None);
        let saved = std::mem::replace(&mut s.invites_page_supports, vec!["contact-only".into()]);
        assert_eq!(landing_page(&s, &reset), None);
        assert!(landing_page(&s, &invite("roster", serde_json::json!({}))).is_some());
        s.invites_page_supports = saved;
        assert!(landing_page(&s, &invite("roster", serde_json::json!({"allow_registration": true}))).is_some());
        // Our own setting wins over the config's; a stored landing_page over both.
        s.landing_page = Some("https://ours.example/{token}".into());
        assert_eq!(landing_page(&s, &i).as_deref(), Some("https://ours.example/AbC-123_x"));
        let stored = invite("register", serde_json::json!({"landing_page": "https://stored.example/x"}));
        assert_eq!(landing_page(&s, &stored).as_deref(), Some("https://stored.example/x"));
    }

    #[test]
    fn interpolation_forms() {
        let v = serde_json::json!({"host": "h.example", "invite": {"token": "a b", "n": 5, "no": false}});
        assert_eq!(render("{invite.token}", &v), "a%20b");
        assert_eq!(render("{invite.token!}", &v), "a b");
        assert_eq!(render("{invite.n}", &v), "5");
        assert_eq!(render("{missing}", &v), "");
        assert_eq!(render("{missing?https://{host}/}", &v), "https://h.example/");
        assert_eq!(render("{invite.no&yes}{invite.n&yes}", &v), "yes");
        assert_eq!(render("{invite.token|urlescape!}", &v), "a%20b");
        assert_eq!(render("{ not a name } {", &v), "{ not a name } {");
    }
}
