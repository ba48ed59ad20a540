"""A live prosody-admin for the contract tests: the binary named by PROSODY_ADMIN_BIN
(the Makefile passes the debug build), on a fresh database in a temporary directory,
with seeded users and groups and the bootstrap admin token."""

import json
import os
import pathlib
import subprocess
import tempfile
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPEC = ROOT / "api-spec" / "openapi.yaml"


class Server:
    def __init__(self, binary, directory):
        self.binary = binary
        self.db = os.path.join(directory, "db.sqlite")
        self.proc = subprocess.Popen(
            # schemathesis sends bad credentials by the hundred from one address: the
            # throttle (tested in tests/exposure.rs) would answer them 429.
            # One custom role, as a server's config declares them (see st_hooks.py).
            [binary, "--database", self.db, "--custom-role", "example:support", "serve", "--listen", "127.0.0.1:0",
             "--auth-failure-limit", "1000000"],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
            env={**os.environ, "RUST_LOG": "warn"},
        )
        for line in self.proc.stdout:
            if line.startswith("prosody-admin listening on "):
                self.url = line.split(" on ", 1)[1].strip()  # http://127.0.0.1:PORT/admin_api
                break
        else:
            raise RuntimeError("prosody-admin exited before listening")
        with open(os.path.join(directory, "admin-token")) as f:
            self.token = f.read().strip()

    def cli(self, *args, stdin=None):
        return subprocess.run([self.binary, "--database", self.db, *args], input=stdin,
                              capture_output=True, text=True, check=True).stdout.strip()

    def add_user(self, name, password="secret"):
        self.cli("user", "add", name, stdin=password + "\n")

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Authorization": "Bearer " + self.token,
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            raw = r.read()
            return json.loads(raw) if raw else None

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(timeout=15) == 0, "prosody-admin did not shut down cleanly"


@pytest.fixture(scope="module")
def server():
    binary = os.environ.get("PROSODY_ADMIN_BIN", str(ROOT / "target" / "debug" / "prosody-admin"))
    with tempfile.TemporaryDirectory() as d:
        s = Server(binary, d)
        for name in ("alice", "bob", "carol"):
            s.add_user(name)
        s.call("PUT", "/users/alice", {"display_name": "Alice", "roles": ["custom:role"]})
        gid = s.call("POST", "/groups", {"name": "Seeded", "create_muc": True})["id"]
        s.call("PUT", f"/groups/{gid}/members/alice", None)
        s.call("POST", "/invites/account", {"username": "newbie"})
        yield s
        s.stop()
