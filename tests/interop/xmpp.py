"""A minimal XMPP client for the interop tests: raw XML over a loopback socket, parsed
with ElementTree's pull parser. Just enough for SASL PLAIN, resource binding, in-band
registration with a XEP-0401 preauth token, and PEP reads/publishes."""

import base64
import itertools
import socket
import xml.etree.ElementTree as ET

NS_STREAM = "http://etherx.jabber.org/streams"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_NICK = "http://jabber.org/protocol/nick"
_ids = itertools.count(1)


class XmppError(Exception):
    pass


class Stream:
    def __init__(self, port, host="localhost", timeout=10):
        self.host = host
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self._open()

    def _open(self):
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.queue = []
        self.send(f"<?xml version='1.0'?><stream:stream to='{self.host}' xmlns='jabber:client' "
                  f"xmlns:stream='{NS_STREAM}' version='1.0'>")
        self.features = self.next()
        if self.features.tag != f"{{{NS_STREAM}}}features":
            raise XmppError(f"expected features, got {self.features.tag}")

    def send(self, xml):
        self.sock.sendall(xml.encode())

    def next(self):
        """The next top-level element of the stream."""
        while not self.queue:
            data = self.sock.recv(65536)
            if not data:
                raise XmppError("stream closed")
            self.parser.feed(data)
            for event, el in self.parser.read_events():
                if event == "start":
                    self.depth += 1
                else:
                    self.depth -= 1
                    if self.depth == 1:
                        self.queue.append(el)
        return self.queue.pop(0)

    def iq(self, kind, payload, to=None):
        """Sends an iq and returns the response element (result or error)."""
        iq_id = f"q{next(_ids)}"
        to_attr = f" to='{to}'" if to else ""
        self.send(f"<iq type='{kind}' id='{iq_id}'{to_attr}>{payload}</iq>")
        while True:
            el = self.next()
            if el.tag == "{jabber:client}iq" and el.get("id") == iq_id:
                return el

    def login(self, username, password):
        """SASL PLAIN then bind; raises XmppError on failure."""
        creds = base64.b64encode(f"\0{username}\0{password}".encode()).decode()
        self.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{creds}</auth>")
        answer = self.next()
        if answer.tag != f"{{{NS_SASL}}}success":
            raise XmppError(f"authentication failed: {ET.tostring(answer).decode()}")
        self._open()
        r = self.iq("set", "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>")
        if r.get("type") != "result":
            raise XmppError("bind failed")
        return self

    def close(self):
        try:
            self.send("</stream:stream>")
        finally:
            self.sock.close()


def can_login(port, username, password):
    s = Stream(port)
    try:
        s.login(username, password)
        return True
    except XmppError:
        return False
    finally:
        s.close()


def register_with_invite(port, token, username, password):
    """XEP-0401: preauth with the invite token, then XEP-0077 registration."""
    s = Stream(port)
    try:
        r = s.iq("set", f"<preauth xmlns='urn:xmpp:pars:0' token='{token}'/>")
        if r.get("type") != "result":
            raise XmppError(f"preauth refused: {ET.tostring(r).decode()}")
        r = s.iq("set", "<query xmlns='jabber:iq:register'>"
                        f"<username>{username}</username><password>{password}</password></query>")
        if r.get("type") != "result":
            raise XmppError(f"registration refused: {ET.tostring(r).decode()}")
    finally:
        s.close()


def pep_nick(stream, owner):
    """The nick item Prosody serves from `owner`'s PEP service, or None."""
    r = stream.iq("get", f"<pubsub xmlns='{NS_PUBSUB}'><items node='{NS_NICK}'/></pubsub>", to=owner)
    if r.get("type") != "result":
        return None
    nick = r.find(f".//{{{NS_PUBSUB}}}item/{{{NS_NICK}}}nick")
    return None if nick is None else (nick.text or "")


def publish_nick(stream, text):
    r = stream.iq("set", f"<pubsub xmlns='{NS_PUBSUB}'><publish node='{NS_NICK}'><item id='current'>"
                         f"<nick xmlns='{NS_NICK}'>{text}</nick></item></publish></pubsub>")
    if r.get("type") != "result":
        raise XmppError(f"publish failed: {ET.tostring(r).decode()}")


NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"


def room_name(stream, room_jid):
    """The name a MUC room announces in disco#info, or None when Prosody has no such room."""
    r = stream.iq("get", f"<query xmlns='{NS_DISCO_INFO}'/>", to=room_jid)
    if r.get("type") != "result":
        return None
    ident = r.find(f"{{{NS_DISCO_INFO}}}query/{{{NS_DISCO_INFO}}}identity[@category='conference']")
    return None if ident is None else ident.get("name")


def presence_then_messages(stream, timeout):
    """Sends initial presence and returns the <message/> elements that arrive within
    `timeout` seconds (offline messages are delivered after initial presence)."""
    import socket as _socket
    stream.send("<presence/>")
    messages = []
    stream.sock.settimeout(timeout)
    try:
        while True:
            el = stream.next()
            if el.tag == "{jabber:client}message":
                messages.append(el)
    except (_socket.timeout, TimeoutError):
        pass
    return messages


def presence_and_messages(stream, timeout=5):
    """The bodies of the messages that arrive after initial presence."""
    bodies = [m.find("{jabber:client}body") for m in presence_then_messages(stream, timeout)]
    return [b.text or "" for b in bodies if b is not None]


def presence_and_invites(stream, timeout=3):
    """The room JIDs of the XEP-0249 invitations that arrive after initial presence."""
    xs = [m.find("{jabber:x:conference}x") for m in presence_then_messages(stream, timeout)]
    return [x.get("jid") for x in xs if x is not None]


NS_ROSTER = "jabber:iq:roster"


def roster(stream):
    """The roster's JIDs; asking for it makes the session one Prosody pushes changes to."""
    r = stream.iq("get", f"<query xmlns='{NS_ROSTER}'/>")
    return [i.get("jid") for i in r.iter(f"{{{NS_ROSTER}}}item")]


def wait_for(stream, want, timeout):
    """The first top-level element for which want(element) holds within `timeout`
    seconds (roster pushes are answered as a client must), else None."""
    import time
    deadline = time.monotonic() + timeout
    try:
        while (left := deadline - time.monotonic()) > 0:
            stream.sock.settimeout(left)
            el = stream.next()
            if el.tag == "{jabber:client}iq" and el.get("type") == "set" and el.find(f"{{{NS_ROSTER}}}query") is not None:
                stream.send(f"<iq type='result' id='{el.get('id')}'/>")
            if want(el):
                return el
    except (OSError, XmppError):
        return None
    return None


def roster_push_of(jid):
    """A predicate: a roster push naming `jid`."""
    def pred(el):
        return (el.tag == "{jabber:client}iq" and el.get("type") == "set"
                and any(i.get("jid") == jid for i in el.iter(f"{{{NS_ROSTER}}}item")))
    return pred


def invitation_to(room_jid):
    """A predicate: a XEP-0249 invitation to `room_jid`."""
    def pred(el):
        x = el.find("{jabber:x:conference}x") if el.tag == "{jabber:client}message" else None
        return x is not None and x.get("jid") == room_jid
    return pred
