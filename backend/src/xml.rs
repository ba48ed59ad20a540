//! The XML this service reads and writes: PEP payloads (nick, avatar metadata, OMEMO
//! device lists and bundles), stanzas (announcements, mediated chat invitations) and
//! the component stream. Much of it carries user-controlled text (nicks, announcement
//! bodies, JIDs of rooms named by admins).
//!
//! Reading: quick-xml's reader, never string slicing; entity and character references
//! resolved by it.
//! Writing: a small element tree ([`Element`]) serialized as Prosody's `util.stanza`
//! serializes (single-quoted attributes; text and attribute values escaped by
//! quick-xml's `escape`: `& < > ' "`), so that what we store is byte for byte what
//! Prosody stores. A character XML 1.0 cannot carry is an error ([`Unrepresentable`]),
//! never written.

use std::borrow::Cow;
use std::fmt;

use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

pub const NS_NICK: &str = "http://jabber.org/protocol/nick";
const NS_AVATAR_METADATA: &str = "urn:xmpp:avatar:metadata";
const NS_OMEMO: &str = "eu.siacs.conversations.axolotl";

/// Characters XML 1.0 cannot carry (nicks and group names end up in stanzas).
pub fn forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// Text that XML 1.0 cannot carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unrepresentable(pub char);

impl fmt::Display for Unrepresentable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the character U+{:04X} cannot be carried in XML", u32::from(self.0))
    }
}

impl std::error::Error for Unrepresentable {}

// ---------------------------------------------------------------------------------
// Writing

/// An element to serialize: name, attributes in order, children.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Node>,
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    pub fn new(name: &str) -> Element {
        Element { name: name.to_string(), attrs: Vec::new(), children: Vec::new() }
    }

    pub fn attr(mut self, name: &str, value: &str) -> Element {
        self.attrs.push((name.to_string(), value.to_string()));
        self
    }

    pub fn child(mut self, e: Element) -> Element {
        self.children.push(Node::Element(e));
        self
    }

    pub fn text(mut self, t: &str) -> Element {
        self.children.push(Node::Text(t.to_string()));
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Attributes as written (namespace declarations included), in order.
    pub fn attrs(&self) -> &[(String, String)] {
        &self.attrs
    }

    pub fn children(&self) -> &[Node] {
        &self.children
    }

    /// Adds a child node.
    pub fn push(&mut self, n: Node) {
        self.children.push(n);
    }

    /// Parses one element (a stored payload or stanza); None when `xml` is not one
    /// well-formed element.
    pub fn parse(xml: &str) -> Option<Element> {
        let mut r = reader(xml);
        r.config_mut().check_end_names = true;
        let mut stack: Vec<Element> = Vec::new();
        let start = |e: &BytesStart| -> Option<Element> {
            let mut el = Element::new(std::str::from_utf8(e.name().as_ref()).ok()?);
            for a in e.attributes() {
                let a = a.ok()?;
                let k = std::str::from_utf8(a.key.as_ref()).ok()?.to_string();
                let v = a.normalized_value(XmlVersion::Implicit1_0).ok()?.into_owned();
                el.attrs.push((k, v));
            }
            Some(el)
        };
        let text = |stack: &mut Vec<Element>, t: String| {
            if let Some(top) = stack.last_mut() {
                match top.children.last_mut() {
                    Some(Node::Text(prev)) => prev.push_str(&t),
                    _ => top.children.push(Node::Text(t)),
                }
            }
        };
        loop {
            match r.read_event().ok()? {
                Event::Start(e) => stack.push(start(&e)?),
                Event::Empty(e) => {
                    let el = start(&e)?;
                    match stack.last_mut() {
                        Some(top) => top.children.push(Node::Element(el)),
                        None => return Some(el),
                    }
                }
                Event::End(_) => {
                    let el = stack.pop()?;
                    match stack.last_mut() {
                        Some(top) => top.children.push(Node::Element(el)),
                        None => return Some(el),
                    }
                }
                Event::Text(t) => {
                    let s = t.decode().ok()?.into_owned();
                    if !stack.is_empty() {
                        text(&mut stack, s);
                    }
                }
                Event::CData(c) => text(&mut stack, c.decode().ok()?.into_owned()),
                Event::GeneralRef(g) => text(&mut stack, reference(&g)?),
                Event::Eof => return None,
                _ => {}
            }
        }
    }

    /// The element, serialized.
    pub fn to_xml(&self) -> Result<String, Unrepresentable> {
        let mut out = String::new();
        self.write(&mut out)?;
        Ok(out)
    }

    /// The start tag alone (a stream header, whose element stays open).
    pub fn start_tag(&self) -> Result<String, Unrepresentable> {
        let mut out = String::new();
        self.write_start(&mut out)?;
        out.push('>');
        Ok(out)
    }

    fn write_start(&self, out: &mut String) -> Result<(), Unrepresentable> {
        out.push('<');
        out.push_str(&self.name);
        for (k, v) in &self.attrs {
            out.push(' ');
            out.push_str(k);
            out.push_str("='");
            out.push_str(&checked(v)?);
            out.push('\'');
        }
        Ok(())
    }

    fn write(&self, out: &mut String) -> Result<(), Unrepresentable> {
        self.write_start(out)?;
        if self.children.is_empty() {
            out.push_str("/>");
            return Ok(());
        }
        out.push('>');
        for c in &self.children {
            match c {
                Node::Element(e) => e.write(out)?,
                Node::Text(t) => out.push_str(&checked(t)?),
            }
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
        Ok(())
    }
}

/// `s` escaped, or the first character XML cannot carry.
fn checked(s: &str) -> Result<Cow<'_, str>, Unrepresentable> {
    match s.chars().find(|c| forbidden(*c)) {
        Some(c) => Err(Unrepresentable(c)),
        None => Ok(escape(s)),
    }
}

/// A mediated MUC invitation (XEP-0249), as mod_groups_internal sends it: from the room.
pub fn conference_invite(to: &str, room: &str) -> Result<String, Unrepresentable> {
    Element::new("message")
        .attr("to", to)
        .attr("from", room)
        .child(Element::new("x").attr("xmlns", "jabber:x:conference").attr("jid", room))
        .to_xml()
}

/// `<nick xmlns='http://jabber.org/protocol/nick'>text</nick>`.
pub fn nick_element(text: &str) -> Result<String, Unrepresentable> {
    Element::new("nick").attr("xmlns", NS_NICK).text(text).to_xml()
}

/// `<message to from [type='headline']><body/></message>`, as mod_announce builds it.
pub fn message(to: &str, from: &str, headline: bool, body: &str) -> Result<String, Unrepresentable> {
    let mut m = Element::new("message").attr("to", to).attr("from", from);
    if headline {
        m = m.attr("type", "headline");
    }
    m.child(Element::new("body").text(body)).to_xml()
}

// ---------------------------------------------------------------------------------
// Reading

/// A reader that reports text as it is (no trimming) and tolerates end tags it did
/// not see start (a stream read from its middle).
fn reader(xml: &str) -> Reader<&[u8]> {
    let mut r = Reader::from_str(xml);
    let c = r.config_mut();
    c.trim_text(false);
    c.check_end_names = false;
    r
}

/// An attribute's value, unescaped and normalized as XML says (a tab or line break in
/// it reads as a space, as in Prosody's parser); None when absent or malformed.
fn attribute(e: &BytesStart, name: &str) -> Option<String> {
    let a = e.try_get_attribute(name).ok()??;
    a.normalized_value(XmlVersion::Implicit1_0).ok().map(Cow::into_owned)
}

/// The text an entity or character reference stands for (the predefined entities and
/// character references: all a document without a DTD can hold).
fn reference(r: &BytesRef) -> Option<String> {
    if r.is_char_ref() {
        return r.resolve_char_ref().ok()?.map(String::from);
    }
    resolve_predefined_entity(&r.decode().ok()?).map(str::to_string)
}

/// The root element of `xml` (after a declaration, comments, whitespace), whether it
/// is empty, and the reader positioned after its start tag.
fn root(xml: &str) -> Option<(BytesStart<'_>, bool, Reader<&[u8]>)> {
    let mut r = reader(xml);
    loop {
        match r.read_event().ok()? {
            Event::Start(e) => return Some((e, false, r)),
            Event::Empty(e) => return Some((e, true, r)),
            Event::Eof | Event::End(_) | Event::CData(_) | Event::GeneralRef(_) => return None,
            Event::Text(t) if !t.iter().all(u8::is_ascii_whitespace) => return None,
            _ => {}
        }
    }
}

/// Every start (or empty) tag after the current position, named `local`, to the end.
fn descendants<'a>(r: &mut Reader<&'a [u8]>, local: &str) -> Vec<BytesStart<'a>> {
    let mut out = Vec::new();
    while let Ok(ev) = r.read_event() {
        match ev {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == local.as_bytes() => out.push(e),
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// The text of a stored `<nick/>` element; None when it is not one (or not well-formed).
pub fn nick_text(xml: &str) -> Option<String> {
    // The form Prosody and we store (util.stanza's serialization of a nick item) with
    // text that needs no decoding is its own text: taken without a parse (a listing of
    // 100 000 accounts spent a tenth of its time parsing them). Anything else (entities,
    // CDATA, children, other quoting): the reader below.
    const STORED: &str = "<nick xmlns='http://jabber.org/protocol/nick'>";
    if let Some(text) = xml.strip_prefix(STORED).and_then(|r| r.strip_suffix("</nick>")) {
        if !text.contains(['<', '&', '\r']) {
            return Some(text.to_string());
        }
    }
    nick_text_parsed(xml)
}

/// [`nick_text`] through the reader, whatever the form.
fn nick_text_parsed(xml: &str) -> Option<String> {
    let (start, empty, mut r) = root(xml)?;
    if start.local_name().as_ref() != b"nick" {
        return None;
    }
    let mut out = String::new();
    if empty {
        return Some(out);
    }
    let mut depth = 0usize;
    loop {
        match r.read_event().ok()? {
            Event::Text(t) => out.push_str(&t.decode().ok()?),
            Event::CData(c) => out.push_str(&c.decode().ok()?),
            Event::GeneralRef(g) => out.push_str(&reference(&g)?),
            Event::Start(_) => depth += 1,
            Event::End(_) if depth == 0 => return Some(out),
            Event::End(_) => depth -= 1,
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// The `id` attributes of the `<device/>` children of an OMEMO device list, in order
/// (`""` for a device without one).
pub fn device_ids(xml: &str) -> Vec<String> {
    let mut r = reader(xml);
    descendants(&mut r, "device").iter().map(|d| attribute(d, "id").unwrap_or_default()).collect()
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
    let (start, empty, mut r) = root(xml)?;
    if start.local_name().as_ref() != b"metadata" || attribute(&start, "xmlns").as_deref() != Some(NS_AVATAR_METADATA) {
        return None;
    }
    if empty {
        return Some(Vec::new());
    }
    let num = |e: &BytesStart, n: &str| attribute(e, n).and_then(|v| v.trim().parse::<i64>().ok());
    Some(
        descendants(&mut r, "info")
            .iter()
            .map(|e| AvatarInfo {
                bytes: num(e, "bytes"),
                id: attribute(e, "id"),
                media_type: attribute(e, "type"),
                width: num(e, "width"),
                height: num(e, "height"),
            })
            .collect(),
    )
}

/// Whether the payload is an OMEMO bundle element.
pub fn is_bundle(xml: &str) -> bool {
    root(xml).is_some_and(|(e, ..)| {
        e.local_name().as_ref() == b"bundle" && attribute(&e, "xmlns").as_deref() == Some(NS_OMEMO)
    })
}

/// The first complete `<repl-result>` of an admin-socket stream read so far: whether it
/// succeeded (no `type='error'`), its text, and the bytes of `buf` up to its end.
pub fn repl_result(buf: &str) -> Option<(bool, String, usize)> {
    let mut r = reader(buf);
    let mut inside: Option<(bool, String)> = None;
    loop {
        match r.read_event().ok()? {
            Event::Start(e) if e.name().as_ref() == b"repl-result" => {
                inside = Some((attribute(&e, "type").as_deref() != Some("error"), String::new()));
            }
            Event::Empty(e) if e.name().as_ref() == b"repl-result" => {
                let ok = attribute(&e, "type").as_deref() != Some("error");
                return Some((ok, String::new(), usize::try_from(r.buffer_position()).ok()?));
            }
            Event::Text(t) => {
                if let Some((_, text)) = inside.as_mut() {
                    text.push_str(&t.decode().ok()?);
                }
            }
            Event::GeneralRef(g) => {
                if let Some((_, text)) = inside.as_mut() {
                    text.push_str(&reference(&g)?);
                }
            }
            Event::End(e) if e.name().as_ref() == b"repl-result" => {
                let (ok, text) = inside.take()?;
                return Some((ok, text, usize::try_from(r.buffer_position()).ok()?));
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// A start tag read off a stream: its qualified name and attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub name: String,
    attrs: Vec<(String, String)>,
}

impl Tag {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// The start tags of what arrived so far on an XML stream (its header included, when
/// `buf` starts with it), in order; reading stops where the data does (a tag cut in
/// two is not reported until it is whole).
pub fn stream_tags(buf: &str) -> Vec<Tag> {
    let mut r = reader(buf);
    let mut out = Vec::new();
    while let Ok(ev) = r.read_event() {
        match ev {
            Event::Start(e) | Event::Empty(e) => {
                let attrs = e
                    .attributes()
                    .filter_map(Result::ok)
                    .filter_map(|a| {
                        let v = a.normalized_value(XmlVersion::Implicit1_0).ok()?.into_owned();
                        Some((String::from_utf8_lossy(a.key.as_ref()).into_owned(), v))
                    })
                    .collect();
                out.push(Tag { name: String::from_utf8_lossy(e.name().as_ref()).into_owned(), attrs });
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nick_round_trip() {
        assert_eq!(
            nick_element("Alice Liddell").unwrap(),
            "<nick xmlns='http://jabber.org/protocol/nick'>Alice Liddell</nick>"
        );
        for s in ["Alice Liddell", "a<b>&'\"", "", "jürgen"] {
            assert_eq!(nick_text(&nick_element(s).unwrap()).as_deref(), Some(s));
        }
        assert_eq!(nick_text("<nick xmlns='http://jabber.org/protocol/nick'/>").as_deref(), Some(""));
        assert_eq!(nick_text("<nick xmlns=\"x\">A&#65;&#x42;</nick>").as_deref(), Some("AAB"));
        assert_eq!(nick_text("<other/>"), None);
    }

    #[test]
    fn the_stored_form_reads_as_the_reader_reads_it() {
        let open = "<nick xmlns='http://jabber.org/protocol/nick'>";
        let mut texts: Vec<String> = HOSTILE.iter().map(|s| s.to_string()).collect();
        texts.extend(["", "Alice", "a > b", "x\ty\nz", "\u{1F600}", "a]]b", "'\"", "a\r\nb"].map(String::from));
        for t in &texts {
            for xml in [format!("{open}{t}</nick>"), nick_element(t).unwrap()] {
                assert_eq!(nick_text(&xml), nick_text_parsed(&xml), "{xml:?}");
            }
        }
        assert_eq!(nick_text(&format!("{open}Alice</nick>")).as_deref(), Some("Alice"));
        assert_eq!(nick_text(&format!("{open}a</nick></nick>")), nick_text_parsed(&format!("{open}a</nick></nick>")));
    }

    /// Text an admin or user controls, at its most hostile.
    const HOSTILE: &[&str] = &[
        "it's \"quoted\"",
        "a & b &amp; c &#65; &unknown;",
        "<script>alert(1)</script>",
        "]]> <![CDATA[ x ]]>",
        "</nick><nick xmlns='evil'>",
        "' onload='x",
        "emoji 😀 and 𝄞 (non-BMP), tab\tand\nnewline",
        "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e 'boom'>]>&e;",
    ];

    #[test]
    fn hostile_text_round_trips_and_stays_text() {
        for s in HOSTILE {
            let nick = nick_element(s).unwrap();
            assert_eq!(nick_text(&nick).as_deref(), Some(*s), "{nick}");
            // One element, its text: nothing the text held became markup.
            let tags = stream_tags(&nick);
            assert_eq!(tags.len(), 1, "{nick}");
            assert_eq!(tags[0].attr("xmlns"), Some(NS_NICK));

            // Attribute values read back normalized (whitespace as spaces), as XML says.
            let in_attr = s.replace(['\t', '\n'], " ");
            let in_attr = in_attr.as_str();
            let m = message(s, "localhost", true, s).unwrap();
            let tags = stream_tags(&m);
            let names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
            assert_eq!(names, ["message", "body"], "{m}");
            assert_eq!(tags[0].attr("to"), Some(in_attr));
            assert_eq!(tags[0].attr("type"), Some("headline"));

            let inv = conference_invite(s, s).unwrap();
            let tags = stream_tags(&inv);
            assert_eq!(tags.len(), 2, "{inv}");
            assert_eq!(tags[1].attr("jid"), Some(in_attr));
            assert_eq!(tags[0].attr("from"), Some(in_attr));
        }
    }

    #[test]
    fn characters_xml_cannot_carry_are_refused() {
        for c in ['\u{0}', '\u{1}', '\u{8}', '\u{b}', '\u{c}', '\u{1b}', '\u{1f}', '\u{fffe}', '\u{ffff}'] {
            let s = format!("a{c}b");
            assert_eq!(nick_element(&s), Err(Unrepresentable(c)));
            assert_eq!(message("a@b", "b", false, &s), Err(Unrepresentable(c)));
            assert_eq!(conference_invite(&s, "r@muc"), Err(Unrepresentable(c)));
        }
        assert_eq!(Unrepresentable('\u{1}').to_string(), "the character U+0001 cannot be carried in XML");
    }

    #[test]
    fn stanzas_have_prosodys_form() {
        assert_eq!(
            conference_invite("gina@localhost", "chat@groups.localhost").unwrap(),
            "<message to='gina@localhost' from='chat@groups.localhost'><x xmlns='jabber:x:conference' jid='chat@groups.localhost'/></message>"
        );
        assert_eq!(
            message("a@localhost", "localhost", false, "Tea & <cake>").unwrap(),
            "<message to='a@localhost' from='localhost'><body>Tea &amp; &lt;cake&gt;</body></message>"
        );
        assert_eq!(
            Element::new("stream:stream").attr("to", "c.localhost").start_tag().unwrap(),
            "<stream:stream to='c.localhost'>"
        );
    }

    #[test]
    fn reads_stream_tags_as_they_arrive() {
        let b = "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' id='abc-123' from='c.localhost'>";
        let tags = stream_tags(b);
        assert_eq!(tags[0].name, "stream:stream");
        assert_eq!(tags[0].attr("id"), Some("abc-123"));
        // A tag cut in two is not there yet; whole, it is.
        assert_eq!(
            stream_tags("<handshake/><iq type='result' id='p"),
            vec![Tag { name: "handshake".into(), attrs: vec![] }]
        );
        let tags = stream_tags("<handshake/><iq type='result' id=\"p&amp;1\"/></stream:stream>");
        assert_eq!(tags[1].attr("id"), Some("p&1"));
    }

    #[test]
    fn device_list() {
        let x = "<list xmlns='eu.siacs.conversations.axolotl'><device id='1001'/><device id=\"2002\" label='x'/><device/></list>";
        assert_eq!(device_ids(x), vec!["1001", "2002", ""]);
        assert_eq!(
            device_ids("<list xmlns='eu.siacs.conversations.axolotl'><devices id='9'/></list>"),
            Vec::<String>::new()
        );
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

    #[test]
    fn reads_admin_socket_results() {
        let b = "<?xml version='1.0'?><stream:stream xmlns='xmpp:prosody.im/admin' id=''><repl-result>Result: {&quot;a&quot;:1}</repl-result><repl-res";
        let (ok, text, used) = repl_result(b).unwrap();
        assert!(ok);
        assert_eq!(text, "Result: {\"a\":1}");
        assert_eq!(&b[used..], "<repl-res");
        assert_eq!(repl_result("<repl-result type='error'>console:1: boom</repl-result>").map(|r| r.0), Some(false));
        assert_eq!(repl_result("<repl-output>x</repl-output><repl-result>Res"), None);
    }

    #[test]
    fn parses_elements_back() {
        for x in [
            "<nick xmlns='http://jabber.org/protocol/nick'>A &amp; &lt;B&gt; 😀</nick>",
            "<message to='a@b' from='c'><x xmlns='jabber:x:conference' jid='r@m'/><body>hi</body></message>",
            "<metadata xmlns='urn:xmpp:avatar:metadata'/>",
        ] {
            let e = Element::parse(x).unwrap();
            assert_eq!(e.to_xml().unwrap(), x);
        }
        assert_eq!(Element::parse("<a><b></a>"), None);
        assert_eq!(Element::parse("text"), None);
    }

    #[test]
    fn bundles() {
        assert!(is_bundle("<bundle xmlns='eu.siacs.conversations.axolotl'><identityKey>x</identityKey></bundle>"));
        assert!(!is_bundle("<list xmlns='eu.siacs.conversations.axolotl'/>"));
        assert!(!is_bundle("<bundle xmlns='urn:other'/>"));
    }
}
