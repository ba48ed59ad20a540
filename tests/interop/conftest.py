"""A real Prosody and prosody-admin on the same SQLite file, for each Prosody version:
0.12.3 (Debian's package) and 13.0.1 (bookworm-backports, unpacked into .tools/prosody13
by install-prosody.sh). Each module of tests runs once per version; the test ids say
which (`[0.12]`, `[13]`).

Prosody runs from a temporary config and data directory, on loopback only: c2s on a free
127.0.0.1 port, no s2s; HTTP (for mod_http_oauth2) on a free loopback port on 13 only.
Plain SASL is allowed because the c2s port is loopback only and has no certificate.
Prosody creates the database itself; prosody-admin gets only Prosody's config
(`--prosody-config`): the database, the host and the admins come from there, and the
layout version is detected.

Each version also runs on PostgreSQL (ids `[0.12/postgresql]`, `[13/postgresql]`):
Prosody with `driver = "PostgreSQL"` (Debian's lua-dbi-postgresql) and prosody-admin
reading the same `sql` table from its config, on one database of a private server
(tests/pg/cluster.sh: its own data directory and socket in a temporary directory,
loopback only)."""

import os
import pathlib
import re
import shutil
import socket
import subprocess
import tempfile
import time
import json
import sqlite3
import urllib.error
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

PROSODY13 = ROOT / ".tools" / "prosody13" / "bin"
# The community mod_groups_internal (13 only: it opens a "keyval+" store, which 0.12's
# storage drivers do not have), from the shared reference copy.
GROUPS_MODULE_DIR = ROOT.parent / "shared" / "reference" / "upstream-admin-api"
VERSIONS = {
    "0.12": {"prosody": "prosody", "prosodyctl": "prosodyctl"},
    "13": {"prosody": str(PROSODY13 / "prosody"), "prosodyctl": str(PROSODY13 / "prosodyctl")},
}
OAUTH2_KEY = "interop-registration-key-that-is-long-enough-0123456789"
COMPONENT_JID = "announce.localhost"
COMPONENT_SECRET = "interop-component-secret"
# Prosody's invites_page (a template of mod_invites', rendered per invite).
INVITES_PAGE = "https://invite.example/{invite.token}/?host={host}"
# Prosody 13 only: its metrics endpoint, collected on each scrape.
CONFIG_13 = """
statistics = "internal"
statistics_interval = "manual"
-- Snikket's custom role
custom_roles = { { name = "prosody:restricted"; priority = 15 } }
"""

CONFIG = """
run_as_root = true
pidfile = "{dir}/prosody.pid"
data_path = "{dir}/data"
plugin_paths = {{ {plugins} }}
modules_enabled = {{ "roster"; "saslauth"; "disco"; "pep"; "register"; "invites"; "invites_register";
                    "tokenauth"; "admin_shell"; "admin_socket"; "ping"; "sql_busy_timeout"; "offline";
                    {extra_modules} }}
modules_disabled = {{ "s2s" }}
c2s_ports = {{ {port} }}
c2s_interfaces = {{ "127.0.0.1" }}
s2s_ports = {{ }}
http_ports = {{ {http_ports} }}
http_interfaces = {{ "127.0.0.1" }}
https_ports = {{ }}
http_default_host = "localhost"
allowed_oauth2_grant_types = {{ "password" }}
oauth2_registration_key = "{oauth2_key}"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
allow_registration = true
registration_invite_only = true
invites_page = "{invites_page}"
authentication = "internal_hashed"
{storage}
log = {{ info = "{dir}/prosody.log" }}
component_ports = {{ {component_port} }}
component_interfaces = {{ "127.0.0.1" }}
{extra_config}
VirtualHost "localhost"
admins = {{ "admin@localhost" }}
groups_muc_host = "groups.localhost"
{host_modules}
Component "groups.localhost" "muc"

Component "{component_jid}"
component_secret = "{component_secret}"
"""


def eventually(f, want, timeout=2.0):
    """Polls f() until it returns want: prosody-admin sees Prosody's commits within its
    watch interval (10 ms), not at once."""
    deadline = time.monotonic() + timeout
    while True:
        v = f()
        if v == want or time.monotonic() > deadline:
            return v
        time.sleep(0.005)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what):
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}")


class Cluster:
    """A private PostgreSQL server (tests/pg/cluster.sh) and one database on it."""

    def __init__(self):
        # A short path: a unix socket's must fit in 107 bytes.
        self.dir = tempfile.mkdtemp(prefix="pa-pg-", dir="/tmp")
        self.port = free_port()
        self.proc = subprocess.Popen(["bash", str(ROOT / "tests" / "pg" / "cluster.sh"), self.dir, str(self.port),
                                      str(os.getpid())], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"the private PostgreSQL server did not start ({self.proc.wait()})")
        self.psql("CREATE DATABASE prosody")
        self.url = f"postgresql://postgres@/prosody?host={self.dir}&port={self.port}"

    def psql(self, sql, db="postgres"):
        """Runs SQL with psql; the output rows (unaligned, tab-separated)."""
        out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-h", self.dir,
                              "-p", str(self.port), "-U", "postgres", "-d", db, "-c", sql],
                             capture_output=True, text=True, check=True, timeout=60)
        return [l.split("\t") for l in out.stdout.splitlines() if l]

    def prosody_sql(self):
        return (f'{{ driver = "PostgreSQL", database = "prosody", host = "{self.dir}", port = {self.port}, '
                f'username = "postgres" }}')

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


class Setup:
    def __init__(self, d, version, engine="sqlite"):
        self.version = version
        self.engine = engine
        self.bins = VERSIONS[version]
        self.dir = d
        self.cluster = Cluster() if engine == "postgresql" else None
        # internal: Prosody's flat files under data_path, the directory shared.
        self.db = (self.cluster.url if self.cluster else os.path.join(d, "data") if engine == "internal"
                   else os.path.join(d, "shared.sqlite"))
        self.cfg = os.path.join(d, "prosody.cfg.lua")
        self.c2s = free_port()
        self.http = free_port() if version == "13" else None
        self.component_port = free_port()
        os.makedirs(os.path.join(d, "data"))
        with open(self.cfg, "w") as f:
            sql = self.cluster.prosody_sql() if self.cluster else f'{{ driver = "SQLite3", database = "{self.db}" }}'
            storage = 'storage = "internal"' if engine == "internal" else f'storage = "sql"\nsql = {sql}'
            plugins = [ROOT / "prosody"]
            if version == "13":
                assert (GROUPS_MODULE_DIR / "mod_groups_internal.lua").exists(), f"{GROUPS_MODULE_DIR} is missing"
                plugins.append(GROUPS_MODULE_DIR)
            f.write(CONFIG.format(dir=d, port=self.c2s, storage=storage,
                                  plugins="; ".join(f'"{p}"' for p in plugins),
                                  host_modules='modules_enabled = { "groups_internal" }' if version == "13" else "",
                                  extra_modules='"http_oauth2"; "account_activity"; "http_openmetrics"'
                                  if version == "13" else "",
                                  extra_config=CONFIG_13 if version == "13" else "",
                                  http_ports=self.http or "", oauth2_key=OAUTH2_KEY,
                                  component_port=self.component_port, component_jid=COMPONENT_JID,
                                  component_secret=COMPONENT_SECRET, invites_page=INVITES_PAGE))
        self.start_prosody()
        self.bin = os.environ.get("PROSODY_ADMIN_BIN", str(ROOT / "target" / "debug" / "prosody-admin"))
        # The operator's steps: an admin account made by Prosody, a token made by us.
        self.prosodyctl("register", "admin", "localhost", "adminpw")
        self.token = self.cli("token", "create", "--user", "admin")
        extra = ["--prosody-metrics-url", f"http://127.0.0.1:{self.http}/metrics"] if self.http else []
        self.api_args = extra
        self.api, self.url = self.start_api(extra)
        self.extra_apis = []

    def start_api(self, extra_args, env=None):
        """Starts a prosody-admin on the database; (process, base URL)."""
        api = subprocess.Popen([self.bin, "--prosody-config", self.cfg, "serve", "--listen", "127.0.0.1:0",
                                *extra_args],
                               stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                               env={**os.environ, "RUST_LOG": "warn", **(env or {})})
        for line in api.stdout:
            m = re.match(r"prosody-admin listening on (\S+)", line)
            if m:
                return api, m.group(1)
        raise RuntimeError(f"prosody-admin exited with {api.wait()}")

    def fresh_api(self):
        """A second prosody-admin like the first, with its own failed-authentication
        count: for a test that must see its own 401s, not those earlier tests of the
        module made from the same address (10 a minute put it on hold); its URL."""
        api, url = self.start_api(self.api_args)
        self.extra_apis.append(api)
        return url

    def start_live_api(self):
        """A second prosody-admin with the live path (component) configured; its URL."""
        api, url = self.start_api(["--component-jid", COMPONENT_JID,
                                   "--component-address", f"127.0.0.1:{self.component_port}"],
                                  env={"PROSODY_ADMIN_COMPONENT_SECRET": COMPONENT_SECRET})
        self.extra_apis.append(api)
        return url

    def start_prosody(self):
        self.prosody = subprocess.Popen([self.bins["prosody"], "--config", self.cfg, "-F"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.c2s, self.prosody, f"prosody {self.version}")
        if self.http:
            wait_port(self.http, self.prosody, f"prosody {self.version} (http)")

    def stop_prosody(self):
        self.prosody.terminate()
        self.prosody.wait(timeout=15)

    def prosodyctl(self, *args, stdin=None):
        return subprocess.run([self.bins["prosodyctl"], "--config", self.cfg, *args], input=stdin,
                              capture_output=True, text=True, check=True, timeout=60).stdout

    def shell(self, line):
        """One line of Prosody's admin shell (a command, or `> lua`); its output."""
        out = subprocess.run([self.bins["prosodyctl"], "--config", self.cfg, "shell"], input=f"{line}\n",
                             capture_output=True, text=True, timeout=60)
        return out.stdout + out.stderr

    def prosody_shell(self, lua):
        """Runs Lua inside the running Prosody (its admin shell) and returns the result."""
        out = self.shell(f"> {lua}")
        m = re.search(r"Result: (\S+)", out)
        assert m, out
        return m.group(1)

    def cli(self, *args, stdin=None):
        return subprocess.run([self.bin, "--prosody-config", self.cfg, *args], input=stdin,
                              capture_output=True, text=True, check=True).stdout.strip()

    def call(self, method, path, body=None, token=None, url=None):
        """(status, parsed body) of an API request."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request((url or self.url) + path, data=data, method=method, headers={
            "Authorization": "Bearer " + (token or self.token), "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def prosody_errors(self):
        with open(os.path.join(self.dir, "prosody.log")) as f:
            return [l for l in f if "\terror\t" in l and "certificate" not in l]

    def state(self):
        """What the stored data is now: every row (SQL), every file's bytes (internal)."""
        if self.engine == "internal":
            out = {}
            for root, _, files in os.walk(self.db):
                for f in files:
                    if f.endswith((".dat", ".list", ".lidx")):
                        with open(os.path.join(root, f), "rb") as fh:
                            out[os.path.join(root, f)] = fh.read()
            return out
        return self.sql('SELECT host, "user", store, key, value FROM prosody ORDER BY 1, 2, 3, 4')

    def sql(self, query):
        """Rows of a query on the shared database, either engine (`"user"` quoted)."""
        if self.cluster:
            return [tuple(r) for r in self.cluster.psql(query, db="prosody")]
        with sqlite3.connect(self.db, timeout=10) as c:
            return [tuple(str(v) for v in r) for r in c.execute(query)]

    def intact(self):
        """SQLite: PRAGMA integrity_check. PostgreSQL (which keeps its own files
        consistent): no (host, user, store, key) twice in Prosody's table, what 0.12's
        non-unique index would let a racing pair of writes leave. Internal: every `.dat`
        loads in Debian's lua5.4 as a table, every `.list` as items, and no temporary
        file is left."""
        if self.engine == "internal":
            files = [os.path.join(r, f) for r, _, fs in os.walk(self.db) for f in fs]
            if any(".tmp." in f for f in files):
                return False
            script = ('for i = 1, #arg do local p = arg[i]; local items = 0; '
                      'local f = assert(loadfile(p, "t", { item = function() items = items + 1 end })); '
                      'local v = f(); if p:match("%.dat$") then assert(type(v) == "table", p) end end')
            data = [f for f in files if f.endswith((".dat", ".list"))]
            if not data:
                return True
            checker = os.path.join(self.dir, "intact.lua")
            with open(checker, "w") as f:
                f.write(script)
            out = subprocess.run(["lua5.4", checker, *data], capture_output=True, text=True, timeout=60)
            if out.returncode != 0:
                print(out.stderr)
            return out.returncode == 0
        if self.cluster:
            return self.sql('SELECT count(*) FROM (SELECT 1 FROM prosody GROUP BY host, "user", store, key '
                            'HAVING count(*) > 1) d') == [("0",)]
        return self.sql("PRAGMA integrity_check") == [("ok",)]

    def stop(self):
        for api in [self.api, *self.extra_apis]:
            api.terminate()
            api.wait(timeout=15)
        self.stop_prosody()
        if self.cluster:
            self.cluster.stop()


@pytest.fixture(scope="module", params=["0.12", "13", "0.12/postgresql", "13/postgresql", "0.12/internal",
                                        "13/internal"])
def env(request):
    version, _, engine = request.param.partition("/")
    if shutil.which(VERSIONS[version]["prosody"]) is None:
        pytest.fail(f"Prosody {version} is not installed: `make test` installs it (tests/interop/install-prosody.sh)")
    with tempfile.TemporaryDirectory() as d:
        s = Setup(d, version, engine or "sqlite")
        try:
            yield s
        finally:
            s.stop()
