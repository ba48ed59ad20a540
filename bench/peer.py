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
storage = "sql"
sql = {{ driver = "SQLite3", database = "{database}" }}
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


class Peer:
    """Prosody 13 with mod_http_admin_api on `users` seeded accounts; `base` its API."""

    def __init__(self, tmp, seed, users, ours_bin):
        for need in (PROSODY13 / "prosody", MODULES / "mod_http_admin_api.lua"):
            if not need.exists():
                raise RuntimeError(f"{need} is missing: the peer needs Prosody 13 (tests/interop/install-prosody.sh) "
                                   "and the shared reference modules")
        self.dir = os.path.join(tmp, "peer")
        os.makedirs(os.path.join(self.dir, "data"))
        self.database = os.path.join(self.dir, "prosody.sqlite")
        self.http = free_port()
        self.cfg = os.path.join(self.dir, "prosody.cfg.lua")
        with open(self.cfg, "w") as f:
            f.write(CONFIG.format(dir=self.dir, modules=MODULES, http=self.http, database=self.database))
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
        self.ours_token = subprocess.run([str(ours_bin), "--database", self.ours_db, "token", "create", "--user",
                                          "admin"], check=True, capture_output=True, text=True).stdout.strip()
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

    def mint(self, user):
        """A token of Prosody 13's own mod_tokenauth for `user` as prosody:admin."""
        lua = ('local tm = prosody.hosts["localhost"].modules.tokenauth; '
               f'local g = tm.create_grant("{user}@localhost", "{user}@localhost", nil, nil); '
               'return (tm.create_token("' + user + '@localhost", g, "prosody:admin", 86400, nil))')
        out = subprocess.run([str(PROSODY13 / "prosodyctl"), "--config", self.cfg, "shell"], input=f"> {lua}\n",
                             capture_output=True, text=True, timeout=60)
        m = re.search(r"Result: (secret-token:\S+)", out.stdout + out.stderr)
        if not m:
            raise RuntimeError(f"Prosody minted no token: {out.stdout}{out.stderr}")
        return m.group(1)

    def rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")
