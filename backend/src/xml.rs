//! The few XML payloads this service reads and writes (PEP nick, OMEMO device list),
//! in the form Prosody's serializer produces: single-quoted attributes, the five
//! predefined entities escaped.

pub const NS_NICK: &str = "http://jabber.org/protocol/nick";

/// Characters XML 1.0 cannot carry (nicks and group names end up in stanzas).
pub fn forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// A mediated MUC invitation (XEP-0249), as mod_groups_internal sends it: from the room.
pub fn conference_invite(to: &str, room: &str) -> String {
    format!(
        "<message to='{}' from='{}'><x xmlns='jabber:x:conference' jid='{}'/></message>",
        escape(to),
        escape(room),
        escape(room)
    )
}

/// `<nick xmlns='http://jabber.org/protocol/nick'>text</nick>`.
pub fn nick_element(text: &str) -> String {
    format!("<nick xmlns='{NS_NICK}'>{}</nick>", escape(text))
}

/// The text of a stored `<nick/>` element; None when it is not one.
pub fn nick_text(xml: &str) -> Option<String> {
    let xml = xml.trim();
    if !xml.starts_with("<nick") {
        return None;
    }
    let open_end = xml.find('>')?;
    if xml[..open_end].ends_with('/') {
        return Some(String::new());
    }
    let close = xml.rfind("</nick>")?;
    (close > open_end).then(|| unescape(&xml[open_end + 1..close]))
}

/// The attribute text of every `<name .../>` start tag in `xml`, in order.
fn tags<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        rest = &rest[i + open.len()..];
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end];
        // `<devices` for `<device`, or similar, is another element
        if !tag.starts_with(|c: char| c.is_whitespace() || c == '/' || c == '>') && !tag.is_empty() {
            continue;
        }
        out.push(tag);
    }
    out
}

/// The `id` attributes of the `<device/>` children of an OMEMO device list, in order.
pub fn device_ids(xml: &str) -> Vec<String> {
    tags(xml, "device").into_iter().map(|t| attribute(t, "id").unwrap_or_default()).collect()
}

/// One `<info/>` of a XEP-0084 avatar metadata item.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AvatarInfo {
    pub bytes: Option<i64>,
    pub id: Option<String>,
    pub media_type: Option<String>,
    pub width: Option<i64>,
    pub height: Option<i64>,
}

/// The `<info/>` children of a stored `<metadata xmlns='urn:xmpp:avatar:metadata'/>`
/// (None when the payload is not avatar metadata), as mod_http_admin_api reads them:
/// numbers that do not parse are absent.
pub fn avatar_infos(xml: &str) -> Option<Vec<AvatarInfo>> {
    let x = xml.trim_start();
    if !x.starts_with("<metadata") || !x.contains("urn:xmpp:avatar:metadata") {
        return None;
    }
    let num = |t: &str, n: &str| attribute(t, n).and_then(|v| v.trim().parse::<i64>().ok());
    Some(
        tags(x, "info")
            .into_iter()
            .map(|t| AvatarInfo {
                bytes: num(t, "bytes"),
                id: attribute(t, "id"),
                media_type: attribute(t, "type"),
                width: num(t, "width"),
                height: num(t, "height"),
            })
            .collect(),
    )
}

/// Whether the payload is an OMEMO bundle element.
pub fn is_bundle(xml: &str) -> bool {
    let xml = xml.trim_start();
    xml.starts_with("<bundle") && xml.contains("eu.siacs.conversations.axolotl")
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut rest = tag;
    while let Some(i) = rest.find(name) {
        let before_ok = i == 0 || rest[..i].ends_with(char::is_whitespace);
        let after = rest[i + name.len()..].trim_start();
        if before_ok {
            if let Some(after) = after.strip_prefix('=') {
                let after = after.trim_start();
                let q = after.chars().next()?;
                if q == '\'' || q == '"' {
                    let body = &after[1..];
                    let end = body.find(q)?;
                    return Some(unescape(&body[..end]));
                }
            }
        }
        rest = &rest[i + name.len()..];
    }
    None
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let ent = &rest[1..end];
        let c = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "apos" => Some('\''),
            "quot" => Some('"'),
            _ if ent.starts_with("#x") => u32::from_str_radix(&ent[2..], 16).ok().and_then(char::from_u32),
            _ if ent.starts_with('#') => ent[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nick_round_trip() {
        assert_eq!(nick_element("Alice Liddell"), "<nick xmlns='http://jabber.org/protocol/nick'>Alice Liddell</nick>");
        for s in ["Alice Liddell", "a<b>&'\"", "", "jürgen"] {
            assert_eq!(nick_text(&nick_element(s)).as_deref(), Some(s));
        }
        assert_eq!(nick_text("<nick xmlns='http://jabber.org/protocol/nick'/>").as_deref(), Some(""));
        assert_eq!(nick_text("<nick xmlns=\"x\">A&#65;&#x42;</nick>").as_deref(), Some("AAB"));
        assert_eq!(nick_text("<other/>"), None);
    }

    #[test]
    fn device_list() {
        let x = "<list xmlns='eu.siacs.conversations.axolotl'><device id='1001'/><device id=\"2002\" label='x'/><device/></list>";
        assert_eq!(device_ids(x), vec!["1001", "2002", ""]);
    }

    #[test]
    fn avatar_metadata() {
        let x = "<metadata xmlns='urn:xmpp:avatar:metadata'><info bytes='12345' height='64' id='111f4b3c50d7b0df729d299bc6f8e9ef9066971f' type='image/png' width='64'/><info id='x' bytes='n/a'/></metadata>";
        let a = avatar_infos(x).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!((a[0].bytes, a[0].width, a[0].media_type.as_deref()), (Some(12345), Some(64), Some("image/png")));
        assert_eq!((a[1].bytes, a[1].id.as_deref()), (None, Some("x")));
        assert_eq!(avatar_infos("<nick xmlns='http://jabber.org/protocol/nick'>a</nick>"), None);
    }
}
