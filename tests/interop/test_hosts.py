"""Several VirtualHosts of a real Prosody from one prosody-admin, given only Prosody's
config. The config has Debian's shape: `VirtualHost "localhost"` in the main file and
`Include "conf.d/*.cfg.lua"` with more hosts: on 13 one SQL host, one on flat files
(`storage = "internal"`) and one disabled; on 0.12 (its token format) a second SQL host.
Each step asserts what Prosody itself does or reads."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

import xmpp
from conftest import GROUPS_MODULE_DIR, ROOT, VERSIONS, eventually, free_port, wait_port

MAIN = """
run_as_root = true
pidfile = "{dir}/prosody.pid"
data_path = "{dir}/data"
plugin_paths = {{ {plugins} }}
modules_enabled = {{ "roster"; "saslauth"; "disco"; "pep"; "register"; "invites"; "tokenauth";
                    "admin_shell"; "admin_socket"; "ping"; "sql_busy_timeout"; "offline" }}
modules_disabled = {{ "s2s" }}
c2s_ports = {{ {port} }}
c2s_interfaces = {{ "127.0.0.1" }}
s2s_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
storage = "sql"
sql = {{ driver = "SQLite3", database = "prosody.sqlite" }}
log = {{ info = "{dir}/prosody.log" }}
admins = {{ }}

VirtualHost "localhost"
admins = {{ "admin@localhost" }}

Include "conf.d/*.cfg.lua"
"""

HOSTS = {
    "13": {
        "a.example": 'VirtualHost "a.example"\nadmins = { "boss@a.example" }\n'
                     'invites_page = "https://a.example/invite/{invite.token}/"\n'
                     'modules_enabled = { "groups_internal" }\n',
        "b.example": 'VirtualHost "b.example"\nstorage = "internal"\nadmins = { "boss@b.example" }\n'
                     'modules_enabled = { "groups_internal" }\n',
        "off.example": 'VirtualHost "off.example"\nenabled = false\n',
    },
    "0.12": {
        "a.example": 'VirtualHost "a.example"\nadmins = { "boss@a.example" }\n'
                     'invites_page = "https://a.example/invite/{invite.token}/"\n',
    },
}


class Hosts:
    def __init__(self, d, version):
        self.version = version
        self.bins = VERSIONS[version]
        self.dir = d
        self.cfg = os.path.join(d, "prosody.cfg.lua")
        self.c2s = free_port()
        os.makedirs(os.path.join(d, "data"))
        os.makedirs(os.path.join(d, "conf.d"))
        plugins = [ROOT / "prosody"] + ([GROUPS_MODULE_DIR] if version == "13" else [])
        with open(self.cfg, "w") as f:
            f.write(MAIN.format(dir=d, port=self.c2s, plugins="; ".join(f'"{p}"' for p in plugins)))
        for host, text in HOSTS[version].items():
            with open(os.path.join(d, "conf.d", f"{host}.cfg.lua"), "w") as f:
                f.write(text)
        self.prosody = subprocess.Popen([self.bins["prosody"], "--config", self.cfg, "-F"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.c2s, self.prosody, f"prosody {version}")
        self.bin = os.environ.get("PROSODY_ADMIN_BIN", str(ROOT / "target" / "debug" / "prosody-admin"))
        self.api = subprocess.Popen([self.bin, "--prosody-config", self.cfg, "serve", "--listen", "127.0.0.1:0"],
                                    stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                                    env={**os.environ, "RUST_LOG": "warn"})
        for line in self.api.stdout:
            m = re.match(r"prosody-admin listening on (\S+)", line)
            if m:
                self.url = m.group(1)
                break
        else:
            raise RuntimeError(f"prosody-admin exited with {self.api.wait()}")

    def register(self, user, host, password="pw"):
        subprocess.run([self.bins["prosodyctl"], "--config", self.cfg, "register", user, host, password],
                       capture_output=True, text=True, check=True, timeout=60)

    def lua(self, code):
        """Runs Lua inside the running Prosody (its admin shell); the result."""
        out = subprocess.run([self.bins["prosodyctl"], "--config", self.cfg, "shell"], input=f"> {code}\n",
                             capture_output=True, text=True, timeout=60)
        m = re.search(r"Result: (\S+)", out.stdout + out.stderr)
        assert m, out.stdout + out.stderr
        return m.group(1)

    def mint(self, user, host):
        """A token Prosody's own mod_tokenauth makes for user@host: 13's grant token, or
        0.12's create_jid_token."""
        jid = f"{user}@{host}"
        if self.version == "13":
            code = (f'local tm = prosody.hosts["{host}"].modules.tokenauth; '
                    f'local g = tm.create_grant("{jid}", "{jid}", nil, nil); '
                    f'return (tm.create_token("{jid}", g, "prosody:admin", 3600, nil))')
        else:
            code = (f'local t = prosody.hosts["{host}"].modules.tokenauth.create_jid_token('
                    f'"{jid}", "{jid}", "prosody:scope:admin", 3600); return t')
        tok = self.lua(code)
        assert tok.startswith("secret-token:") or self.version == "0.12", tok
        return tok

    def call(self, host, method, path, token, body=None):
        """(status, parsed body) of a request for `host` (its Host header)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": "Bearer " + token, "Content-Type": "application/json", "Host": host})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def names(self, host, token):
        status, body = self.call(host, "GET", "/users", token)
        assert status == 200, body
        return sorted(u["username"] for u in body)

    def role(self, user, host):
        mod = "prosody.core.usermanager" if self.version == "13" else "core.usermanager"
        return self.lua(f'return require "{mod}".get_user_role("{user}", "{host}").name')

    def stop(self):
        self.api.terminate()
        self.api.wait(timeout=15)
        self.prosody.terminate()
        self.prosody.wait(timeout=15)


@pytest.fixture(scope="module", params=["13", "0.12"])
def hosts(request):
    version = request.param
    if shutil.which(VERSIONS[version]["prosody"]) is None:
        pytest.fail(f"Prosody {version} is not installed: `make test` installs it (tests/interop/install-prosody.sh)")
    with tempfile.TemporaryDirectory() as d:
        # Prosody registers the accounts (prosody-admin is already serving: it sees them).
        h = None
        try:
            h = Hosts(d, version)
            h.register("admin", "localhost")
            for host in ["localhost", "a.example"] + (["b.example"] if version == "13" else []):
                for user in ["boss", "carol", f"only-{host.split('.')[0]}"]:
                    h.register(user, host)
            yield h
        finally:
            if h:
                h.stop()


def test_each_host_lists_its_accounts_and_takes_its_tokens(hosts):
    served = ["localhost", "a.example"] + (["b.example"] if hosts.version == "13" else [])
    tokens = {host: hosts.mint("admin" if host == "localhost" else "boss", host) for host in served}
    for host in served:
        # Each host lists only its own accounts (flat files for b.example on 13) ...
        want = sorted(["boss", "carol", f"only-{host.split('.')[0]}"] + (["admin"] if host == "localhost" else []))
        assert eventually(lambda: hosts.names(host, tokens[host]), want) == want
        # ... and takes only its own admin's tokens, as Prosody mints them.
        for other in served:
            if other != host:
                status, body = hosts.call(other, "GET", "/users", tokens[host])
                assert status == 401, (host, other, body)
    # A Host naming no enabled host: the config sets no http_default_host, so 404, as
    # Prosody's net.http.server answers; the disabled host is no host.
    for host in ["off.example", "127.0.0.1"]:
        status, body = hosts.call(host, "GET", "/users", tokens["localhost"])
        assert status == 404 and "localhost" in body["error"]["text"], body


def test_roles_and_invites_are_their_hosts(hosts):
    tok = hosts.mint("boss", "a.example")
    # 0.12 has no primary role: its `roles` map.
    change = {"role": "prosody:admin"} if hosts.version == "13" else {"roles": ["prosody:admin"]}
    status, body = hosts.call("a.example", "PUT", "/users/carol", tok, change)
    assert status == 200, body
    # What Prosody's usermanager reports: carol@a.example is an admin now, carol@localhost
    # (another account) is not.
    if hosts.version == "13":
        assert hosts.role("carol", "a.example") == "prosody:admin"
        assert hosts.role("carol", "localhost") == "prosody:registered"
    else:
        assert hosts.lua('return tostring(require "core.usermanager".is_admin("carol@a.example", "a.example") == true)') \
            == "true"
        assert hosts.lua('return tostring(require "core.usermanager".is_admin("carol@localhost", "localhost") == true)') \
            == "false"
    status, inv = hosts.call("a.example", "POST", "/invites/account", tok, {})
    assert status == 200, inv
    assert inv["jid"] == "a.example" and inv["uri"].startswith("xmpp:a.example?register")
    assert inv["landing_page"] == f"https://a.example/invite/{inv['token']}/"
    # Prosody's mod_invites on a.example knows the invite.
    assert hosts.lua(f'return tostring(prosody.hosts["a.example"].modules.invites.get("{inv["token"]}") ~= nil)') \
        == "true"
    # localhost has no invites_page of its own: none of a.example's.
    status, inv = hosts.call("localhost", "POST", "/invites/account", hosts.mint("admin", "localhost"), {})
    assert status == 200, inv
    assert inv["jid"] == "localhost" and not (inv.get("landing_page") or "").startswith("https://a.example")


def test_13_a_group_on_the_flat_file_host_is_read_by_prosody(hosts):
    if hosts.version != "13":
        pytest.skip("mod_groups_internal needs 13")
    tok = hosts.mint("boss", "b.example")
    status, g = hosts.call("b.example", "POST", "/groups", tok, {"name": "Bees"})
    assert status == 200, g
    assert hosts.call("b.example", "PUT", f"/groups/{g['id']}/members/carol", tok)[0] in (200, 204)
    sm = 'require "prosody.core.storagemanager"'
    assert hosts.lua(f'return {sm}.open("b.example", "group_info"):get("{g["id"]}").name') == "Bees"
    member = hosts.lua(f'return tostring({sm}.open("b.example", "groups", "map"):get("{g["id"]}", "carol") ~= nil)')
    assert member == "true"
    # Flat files, in b.example's own directory; nothing of it in the SQL database.
    assert os.path.isdir(os.path.join(hosts.dir, "data", "b%2eexample", "group_info")), \
        os.listdir(os.path.join(hosts.dir, "data", "b%2eexample"))


def test_the_live_path_ends_a_session_on_a_non_default_host(hosts):
    host = "b.example" if hosts.version == "13" else "a.example"
    tok = hosts.mint("boss", host)
    hosts.register("live", host)
    s = xmpp.Stream(hosts.c2s, host=host).login("live", "pw")
    if hosts.version == "13":
        assert hosts.call(host, "PATCH", "/users/live", tok, {"enabled": False})[0] == 200
        why = "Account disabled"
    else:
        assert hosts.call(host, "DELETE", "/users/live", tok)[0] == 200
        why = "Account deleted"
    s.sock.settimeout(1.0)
    deadline = time.monotonic() + 1.0
    err = None
    try:
        while time.monotonic() < deadline and err is None:
            el = s.next()
            if el.tag == f"{{{xmpp.NS_STREAM}}}error":
                err = "".join(el.itertext())
    except (OSError, xmpp.XmppError):
        pass
    assert err and why in err, err
