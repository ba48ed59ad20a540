"""The peer in `make bench`: what users would otherwise run. Prosody 13.0.1 (unpacked by
tests/interop/install-prosody.sh) with the community mod_http_admin_api and
mod_groups_internal loaded in-process (the copies in ../shared/reference/upstream-admin-api),
on its own SQLite file in Prosody 13's layout, seeded like ours (bench/seed.py: the same
accounts, groups, members and invites), answering with a token Prosody itself minted.

prosody-admin runs on a copy of that seeded file (taken before Prosody serves it), given
the same Prosody config, so both answer the same requests on the same data."""

import os
import pathlib
import re
import shutil
import socket
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROSODY13 = ROOT / ".tools" / "prosody13" / "bin"
MODULES = ROOT.parent / "shared" / "reference" / "upstream-admin-api"

CONFIG = """
run_as_root = true
pidfile = "{dir}/prosody.pid"
data_path = "{dir}/data"
plugin_paths = {{ "{modules}" }}
modules_enabled = {{ "roster"; "saslauth"; "disco"; "pep"; "invites"; "tokenauth"; "admin_shell";
                    "admin_socket"; "account_activity"; "announce"; "http" }}
modules_disabled = {{ "s2s"; "c2s" }}
c2s_ports = {{ }}
s2s_ports = {{ }}
http_ports = {{ {http} }}
http_interfaces = {{ "127.0.0.1" }}
https_ports = {{ }}
http_default_host = "localhost"
authentication = "internal_hashed"
{storage}
log = {{ warn = "{dir}/prosody.log" }}
VirtualHost "localhost"
admins = {{ "admin@localhost" }}
modules_enabled = {{ "groups_internal"; "http_admin_api" }}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port}")


def check_installed():
    for need in (PROSODY13 / "prosody", MODULES / "mod_http_admin_api.lua"):
        if not need.exists():
            raise RuntimeError(f"{need} is missing: the peer needs Prosody 13 (tests/interop/install-prosody.sh) "
                               "and the shared reference modules")


class Peer:
    """Prosody 13 with mod_http_admin_api on `users` seeded accounts; `base` its API."""

    def __init__(self, tmp, seed, users, ours_bin):
        check_installed()
        self.dir = os.path.join(tmp, "peer")
        os.makedirs(os.path.join(self.dir, "data"))
        self.database = os.path.join(self.dir, "prosody.sqlite")
        self.http = free_port()
        self.cfg = os.path.join(self.dir, "prosody.cfg.lua")
        with open(self.cfg, "w") as f:
            f.write(CONFIG.format(dir=self.dir, modules=MODULES, http=self.http,
                                  storage=f'storage = "sql"\nsql = {{ driver = "SQLite3", database = "{self.database}" }}'))
        # Prosody creates its schema (13's, with its unique index) on its first start.
        self.start()
        self.wait_schema()
        self.stop()
        seed.seed(self.database, users, roles=False, token=False)
        # prosody-admin's copy, with a token ours mints. Not given Prosody's config: its
        # live path would reach this Prosody, which serves another file; the admin is
        # named as the config names it.
        self.ours_db = os.path.join(self.dir, "ours.sqlite")
        shutil.copy(self.database, self.ours_db)
        self.ours_serve = [str(ours_bin), "--database", self.ours_db, "serve", "--listen", "127.0.0.1:0",
                           "--admins", "admin@localhost"]
        self.ours_token = subprocess.run([str(ours_bin), "--database", self.ours_db, "--admins", "admin@localhost",
                                          "token", "create", "--user", "admin"],
                                         check=True, capture_output=True, text=True).stdout.strip()
        self.start()
        self.token = self.mint("admin")
        self.base = f"http://127.0.0.1:{self.http}/admin_api"

    def start(self):
        self.proc = subprocess.Popen([str(PROSODY13 / "prosody"), "--config", self.cfg, "-F"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.http, self.proc, "prosody 13 (peer)")

    def wait_schema(self, timeout=30):
        import sqlite3
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with sqlite3.connect(self.database) as c:
                if c.execute("SELECT count(*) FROM sqlite_master WHERE name = 'prosody_unique_index'").fetchone()[0]:
                    return
            time.sleep(0.1)
        raise RuntimeError("Prosody 13 did not create its tables")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)

    def shell(self, lua):
        """Runs one line of Lua in the running Prosody (its admin shell); the output."""
        out = subprocess.run([str(PROSODY13 / "prosodyctl"), "--config", self.cfg, "shell"], input=f"> {lua}\n",
                             capture_output=True, text=True, timeout=300)
        return out.stdout + out.stderr

    def mint(self, user):
        """A token of Prosody 13's own mod_tokenauth for `user` as prosody:admin."""
        lua = ('local tm = prosody.hosts["localhost"].modules.tokenauth; '
               f'local g = tm.create_grant("{user}@localhost", "{user}@localhost", nil, nil); '
               'return (tm.create_token("' + user + '@localhost", g, "prosody:admin", 86400, nil))')
        out = self.shell(lua)
        m = re.search(r"Result: (secret-token:\S+)", out)
        if not m:
            raise RuntimeError(f"Prosody minted no token: {out}")
        return m.group(1)


# What bench/seed.py writes, written by Prosody itself through its own APIs (its
# storagemanager, mod_groups_internal, mod_invites, mod_pep), for flat files: one chunk
# through its admin socket. `n`: accounts (made beforehand as files).
SEED_LUA = (
    'local h, n = "localhost", {n}; local st = require "util.stanza"; '
    'local mm = require "core.modulemanager"; local g = mm.get_module(h, "groups_internal"); '
    'local inv = mm.get_module(h, "invites"); local pep = mm.get_module(h, "pep"); '
    'for i = 0, n - 1 do local u = "user" .. i; '
    '  local item = st.stanza("item", {{ xmlns = "http://jabber.org/protocol/pubsub", id = "current" }})'
    '    :text_tag("nick", "User " .. i, {{ xmlns = "http://jabber.org/protocol/nick" }}); '
    '  assert(pep.get_pep_service(u):publish("http://jabber.org/protocol/nick", true, "current", item, '
    '    {{ access_model = "open"; _defaults_only = true }})) end; '
    'for gi = 0, 99 do local gid = ("group%07d"):format(gi); '
    '  assert(g.create({{ name = "Group " .. gi }}, false, gid)); '
    '  for m = 0, 9 do assert(g.add_member(gid, "user" .. ((gi * 10 + m) % math.max(n, 1)), true)) end end; '
    'for i = 1, 1000 do assert(inv.create_account(nil, {{ source = "admin@localhost/admin_api" }}, 86400)) end; '
    'return "seeded"')


class InternalPeer(Peer):
    """The same peer on Prosody's flat files (storage = "internal"): accounts written as
    Prosody writes them (bench/run.py's seed_internal), the rest of the seed made by
    Prosody itself (SEED_LUA); prosody-admin on a copy of the data directory."""

    def __init__(self, tmp, users, ours_bin, seed_accounts):
        check_installed()
        self.dir = os.path.join(tmp, "peer-internal")
        data = os.path.join(self.dir, "data")
        os.makedirs(self.dir)
        seed_accounts(data, users, make_token=False, name="user{}")
        self.http = free_port()
        self.cfg = os.path.join(self.dir, "prosody.cfg.lua")
        with open(self.cfg, "w") as f:
            f.write(CONFIG.format(dir=self.dir, modules=MODULES, http=self.http, storage='storage = "internal"'))
        self.start()
        out = self.shell(SEED_LUA.format(n=users))
        if "seeded" not in out:
            raise RuntimeError(f"the peer's seed failed: {out}")
        self.ours_data = os.path.join(self.dir, "ours-data")
        shutil.copytree(data, self.ours_data, ignore=shutil.ignore_patterns("prosody.sock"))
        db = f"internal:{self.ours_data}"
        self.ours_serve = [str(ours_bin), "--database", db, "serve", "--listen", "127.0.0.1:0",
                           "--admins", "admin@localhost"]
        self.ours_token = subprocess.run([str(ours_bin), "--database", db, "--admins", "admin@localhost", "token",
                                          "create", "--user", "admin"],
                                         check=True, capture_output=True, text=True).stdout.strip()
        self.token = self.mint("admin")
        self.base = f"http://127.0.0.1:{self.http}/admin_api"
