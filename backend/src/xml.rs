//! The few XML payloads this service reads and writes (PEP nick, OMEMO device list),
//! in the form Prosody's serializer produces: single-quoted attributes, the five
//! predefined entities escaped.

pub const NS_NICK: &str = "http://jabber.org/protocol/nick";

/// `<nick xmlns='http://jabber.org/protocol/nick'>text</nick>`.
/// Characters XML 1.0 cannot carry (nicks and group names end up in stanzas).
pub fn forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

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

/// The `id` attributes of the `<device/>` children of an OMEMO device list, in order.
pub fn device_ids(xml: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find("<device") {
        rest = &rest[i + "<device".len()..];
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end];
        // `<devices` or similar is another element
        if !tag.starts_with(|c: char| c.is_whitespace() || c == '/' || c == '>') && !tag.is_empty() {
            continue;
        }
        ids.push(attribute(tag, "id").unwrap_or_default());
    }
    ids
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
}
