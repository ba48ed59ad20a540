"""A real Prosody 0.12 (Debian's package) and prosody-admin on the same SQLite file.

Prosody runs from a temporary config and data directory, on loopback only: c2s on a free
127.0.0.1 port, no s2s, no HTTP. Plain SASL is allowed because the c2s port is loopback
only and has no certificate."""

import os
import pathlib
import re
import shutil
import socket
import subprocess
import tempfile
import time
import json
import urllib.error
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

CONFIG = """
run_as_root = true
pidfile = "{dir}/prosody.pid"
data_path = "{dir}/data"
admins = {{ "admin@localhost" }}
plugin_paths = {{ "{plugins}" }}
modules_enabled = {{ "roster"; "saslauth"; "disco"; "pep"; "register"; "invites"; "invites_register";
                    "tokenauth"; "admin_shell"; "admin_socket"; "ping"; "sql_busy_timeout" }}
modules_disabled = {{ "s2s" }}
c2s_ports = {{ {port} }}
c2s_interfaces = {{ "127.0.0.1" }}
s2s_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
allow_registration = true
registration_invite_only = true
authentication = "internal_hashed"
storage = "sql"
sql = {{ driver = "SQLite3", database = "{db}" }}
log = {{ info = "{dir}/prosody.log" }}
VirtualHost "localhost"
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


class Setup:
    def __init__(self, d):
        self.dir = d
        self.db = os.path.join(d, "shared.sqlite")
        self.cfg = os.path.join(d, "prosody.cfg.lua")
        self.c2s = free_port()
        os.makedirs(os.path.join(d, "data"))
        with open(self.cfg, "w") as f:
            f.write(CONFIG.format(dir=d, port=self.c2s, db=self.db, plugins=ROOT / "prosody"))
        self.prosody = subprocess.Popen(["prosody", "--config", self.cfg, "-F"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.c2s, self.prosody, "prosody")
        self.bin = os.environ.get("PROSODY_ADMIN_BIN", str(ROOT / "target" / "debug" / "prosody-admin"))
        # The operator's steps: an admin account made by Prosody, a token made by us.
        self.prosodyctl("register", "admin", "localhost", "adminpw")
        self.token = self.cli("token", "create", "--user", "admin")
        self.api = subprocess.Popen([self.bin, "--database", self.db, "serve", "--listen", "127.0.0.1:0",
                                     "--admins", "admin@localhost"],
                                    stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                                    env={**os.environ, "RUST_LOG": "warn"})
        for line in self.api.stdout:
            m = re.match(r"prosody-admin listening on (\S+)", line)
            if m:
                self.url = m.group(1)
                break

    def prosodyctl(self, *args, stdin=None):
        return subprocess.run(["prosodyctl", "--config", self.cfg, *args], input=stdin,
                              capture_output=True, text=True, check=True, timeout=60).stdout

    def prosody_shell(self, lua):
        """Runs Lua inside the running Prosody (its admin shell) and returns the result."""
        out = subprocess.run(["prosodyctl", "--config", self.cfg, "shell"], input=f"> {lua}\n",
                             capture_output=True, text=True, timeout=60)
        out = out.stdout + out.stderr
        m = re.search(r"Result: (\S+)", out)
        assert m, out
        return m.group(1)

    def cli(self, *args, stdin=None):
        return subprocess.run([self.bin, "--database", self.db, *args], input=stdin,
                              capture_output=True, text=True, check=True).stdout.strip()

    def call(self, method, path, body=None, token=None):
        """(status, parsed body) of an API request."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={
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

    def stop(self):
        self.api.terminate()
        self.api.wait(timeout=15)
        self.prosody.terminate()
        self.prosody.wait(timeout=15)


@pytest.fixture(scope="module")
def env():
    if shutil.which("prosody") is None:
        pytest.fail("Prosody is not installed: `make test` installs it (Debian packages prosody, lua-dbi-sqlite3)")
    with tempfile.TemporaryDirectory() as d:
        s = Setup(d)
        try:
            yield s
        finally:
            s.stop()
