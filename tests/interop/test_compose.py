"""The compose files under contrib/compose: valid against the Compose Specification's
schema (check-jsonschema's vendored copy, from PyPI), and what they share is what
snikket-server and prose-pod-server lay out (the facts each file names at its top)."""

import pathlib
import subprocess
import sys

import yaml

from conftest import ROOT

COMPOSE = ROOT / "contrib" / "compose"
FILES = [COMPOSE / "snikket" / "compose.prosody-admin.yml", COMPOSE / "prose" / "compose.yaml"]


def test_the_compose_files_are_valid_compose():
    checker = pathlib.Path(sys.executable).parent / "check-jsonschema"
    out = subprocess.run([str(checker), "--builtin-schema", "vendor.compose-spec", *map(str, FILES)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_snikket_shares_its_volume_config_and_portal_endpoint():
    c = yaml.safe_load(FILES[0].read_text())
    ours = c["services"]["prosody_admin"]
    assert "snikket_data:/snikket" in ours["volumes"] and ours["network_mode"] == "host"
    env = ours["environment"]
    copy = c["services"]["snikket_prosody_config"]
    assert copy["entrypoint"][1] == "/etc/prosody/prosody.cfg.lua"
    assert env["PROSODY_ADMIN_PROSODY_CONFIG"].startswith("/prosody-admin/")
    assert env["PROSODY_ADMIN_PROSODY_HTTP"] == "http://127.0.0.1:5280"
    listen = env["PROSODY_ADMIN_LISTEN"]
    assert c["services"]["snikket_portal"]["environment"]["SNIKKET_WEB_PROSODY_ENDPOINT"] == f"http://{listen}/"


def test_prose_shares_the_pods_directories_and_takes_the_admin_alias():
    c = yaml.safe_load(FILES[1].read_text())
    server, ours = c["services"]["server"], c["services"]["prosody-admin"]
    mounts = lambda s: {v.split(":")[1] for v in s["volumes"]}
    assert {"/etc/prosody/", "/var/lib/prosody/", "/var/run/prosody/"} <= mounts(ours)
    assert mounts(server) >= {"/etc/prosody/", "/var/lib/prosody/", "/var/run/prosody/"}
    assert "prose-pod-server-admin" in ours["networks"]["prose-network"]["aliases"]
    assert "prose-pod-server-admin" not in server["networks"]["prose-network"]["aliases"]
    assert ours["environment"]["PROSODY_ADMIN_LISTEN"].endswith(":5280")
    assert ours["user"] == "1001:1001"
