//! The live path to Prosody: an XEP-0114 external component connection. Prosody routes
//! what the component sends as it routes any stanza: to online sessions, to mod_offline
//! for offline users (messages of type normal or chat), to other servers over s2s.
//!
//! One connection per batch: connect, handshake (`sha1(stream id + secret)`), send the
//! stanzas, then an iq ping to Prosody whose answer proves every stanza before it was
//! routed, then close. Bounded by a timeout; the secret never reaches a log.

use std::time::Duration;

use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::settings::Component;
use crate::xml::{self, Element};

const TIMEOUT: Duration = Duration::from_secs(10);
/// Longest reply read while waiting for one thing (stream header, handshake, ping).
const MAX_READ: usize = 256 * 1024;

struct Conn {
    stream: TcpStream,
    buf: String,
}

impl Conn {
    /// Reads until `done(buf)` says what was awaited is there; errors on a stream error.
    async fn read_until(&mut self, what: &str, done: impl Fn(&str) -> bool) -> Result<(), String> {
        let mut chunk = [0u8; 8192];
        loop {
            if done(&self.buf) {
                return Ok(());
            }
            if xml::stream_tags(&self.buf).iter().any(|t| t.name == "stream:error") {
                return Err(format!("Prosody closed the component stream: {}", self.buf));
            }
            if self.buf.len() > MAX_READ {
                return Err(format!("no {what} in {MAX_READ} bytes"));
            }
            let n = self.stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err(format!("connection closed while waiting for {what}"));
            }
            self.buf.push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    }
}

/// The `id` attribute of the stream header Prosody sent.
fn stream_id(buf: &str) -> Option<String> {
    xml::stream_tags(buf).into_iter().find(|t| t.name == "stream:stream")?.attr("id").map(str::to_string)
}

/// Whether an element named `name` arrived (with attribute `id` = `id`, if given).
fn arrived(buf: &str, name: &str, id: Option<&str>) -> bool {
    xml::stream_tags(buf).iter().any(|t| t.name == name && id.is_none_or(|id| t.attr("id") == Some(id)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sends `stanzas` (serialized, `from` the component's JID) through Prosody; returns
/// how many were sent once Prosody has routed them all.
pub async fn send(c: &Component, host: &str, stanzas: &[String]) -> Result<usize, String> {
    let work = async {
        let stream = TcpStream::connect(&c.address).await.map_err(|e| format!("{}: {e}", c.address))?;
        let mut conn = Conn { stream, buf: String::new() };
        let header = Element::new("stream:stream")
            .attr("xmlns", "jabber:component:accept")
            .attr("xmlns:stream", "http://etherx.jabber.org/streams")
            .attr("to", &c.jid)
            .start_tag()
            .map_err(|e| e.to_string())?;
        let header = format!("<?xml version='1.0'?>{header}");
        conn.stream.write_all(header.as_bytes()).await.map_err(|e| e.to_string())?;
        conn.read_until("stream header", |b| stream_id(b).is_some()).await?;
        let id = stream_id(&conn.buf).ok_or("no stream id")?;
        let digest = Sha1::digest(format!("{id}{}", c.secret).as_bytes());
        conn.buf.clear();
        let hs = Element::new("handshake").text(&hex(&digest)).to_xml().map_err(|e| e.to_string())?;
        conn.stream.write_all(hs.as_bytes()).await.map_err(|e| e.to_string())?;
        conn.read_until("handshake", |b| arrived(b, "handshake", None)).await?;
        conn.buf.clear();
        let mut batch = String::new();
        for s in stanzas {
            batch.push_str(s);
        }
        let ping_id = format!("prosody-admin-{}", crate::ids::short().map_err(|e| e.to_string())?);
        let ping = Element::new("iq")
            .attr("type", "get")
            .attr("id", &ping_id)
            .attr("from", &c.jid)
            .attr("to", host)
            .child(Element::new("ping").attr("xmlns", "urn:xmpp:ping"))
            .to_xml()
            .map_err(|e| e.to_string())?;
        batch.push_str(&ping);
        conn.stream.write_all(batch.as_bytes()).await.map_err(|e| e.to_string())?;
        let want = ping_id.clone();
        conn.read_until("ping answer", move |b| arrived(b, "iq", Some(&want))).await?;
        let _ = conn.stream.write_all(b"</stream:stream>").await;
        Ok(stanzas.len())
    };
    tokio::time::timeout(TIMEOUT, work)
        .await
        .map_err(|_| format!("component connection: no answer within {TIMEOUT:?}"))?
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_stream_id() {
        let b = "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' id='abc-123' from='c.localhost'>";
        assert_eq!(super::stream_id(b).as_deref(), Some("abc-123"));
        assert_eq!(super::stream_id("<stream:stream from='x'"), None);
    }
}
