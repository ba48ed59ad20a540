"""Soak: 64 API clients mixing reads and writes for 60 s (SOAK_SECONDS) while a real
Prosody 13 registers accounts on the same file and another process holds its write lock
now and then. Shown: no 5xx (no error at all), no acknowledged write lost, Prosody
without errors, the file intact; latency percentiles reported."""

import http.client
import json
import os
import random
import sqlite3
import threading
import time
import urllib.parse

import pytest

import xmpp

CLIENTS = 64
SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


@pytest.mark.parametrize("env", ["13"], indirect=True)
def test_soak_64_clients_beside_prosody(env, capsys):
    status, g = env.call("POST", "/invites/group", {"group_options": {"name": "Soak"}, "reusable": True})
    assert status in (200, 201), g
    gid, group_invite = g["groups"][0], g["id"]
    env.prosodyctl("register", "soak_target", "localhost", "pw")
    url = urllib.parse.urlparse(env.url)
    headers = {"Authorization": "Bearer " + env.token, "Content-Type": "application/json"}
    deadline = time.monotonic() + SECONDS
    lock = threading.Lock()
    latencies, errors, acked_invites = [], [], []

    def client(n):
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        ops = [
            ("GET", "/users/soak_target", None),
            ("GET", f"/groups/{gid}", None),
            ("GET", "/server/info", None),
            ("GET", "/users", None),
            ("GET", "/users/admin", None),
            ("GET", "/groups", None),
            ("POST", "/invites/account", {}),
            ("PUT", "/users/soak_target", {"display_name": f"client {n}"}),
            ("PUT", f"/groups/{gid}/members/soak_target", None),
            ("DELETE", f"/groups/{gid}/members/soak_target", None),
        ]
        rnd = random.Random(n)
        mine, times, bad = [], [], []
        while time.monotonic() < deadline:
            method, path, body = rnd.choice(ops)
            data = None if body is None else json.dumps(body)
            t = time.perf_counter()
            try:
                conn.request(method, url.path + path, body=data, headers=headers)
                r = conn.getresponse()
                raw = r.read()
            except (OSError, http.client.HTTPException) as e:
                bad.append((method, path, repr(e)))
                conn.close()
                conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
                continue
            times.append(time.perf_counter() - t)
            if r.status >= 300:
                bad.append((method, path, r.status, raw[:200]))
            elif method == "POST":
                mine.append(json.loads(raw)["id"])
        conn.close()
        with lock:
            latencies.extend(times)
            errors.extend(bad)
            acked_invites.extend(mine)

    registered = []

    def prosody_registrations():
        i = 0
        while time.monotonic() < deadline:
            xmpp.register_with_invite(env.c2s, group_invite, f"soak{i}", "pw")
            registered.append(f"soak{i}")
            i += 1

    held = []

    def lock_holder():
        # Another writer on the file (as a backup or a second tool would be): holds
        # SQLite's write lock for up to 0.8 s at a time, below the busy timeouts.
        c = sqlite3.connect(env.db, timeout=10, isolation_level=None)
        rnd = random.Random(7)
        while time.monotonic() < deadline - 1:
            c.execute("BEGIN IMMEDIATE")
            hold = rnd.uniform(0.1, 0.8)
            time.sleep(hold)
            c.execute("COMMIT")
            held.append(hold)
            time.sleep(1.0)
        c.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    threads += [threading.Thread(target=prosody_registrations), threading.Thread(target=lock_holder)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == [], errors[:10]
    assert len(registered) > 0 and len(held) > 0
    latencies.sort()
    with sqlite3.connect(env.db) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {k for (k,) in c.execute("SELECT key FROM prosody WHERE host='localhost' AND store='invite_token'")}
    lost = [i for i in acked_invites if i not in stored]
    assert lost == []
    assert xmpp.can_login(env.c2s, registered[-1], "pw")
    assert env.prosody_errors() == []
    figures = (f"soak: {CLIENTS} clients for {SECONDS:.0f} s: {len(latencies)} requests "
               f"({len(latencies) / SECONDS:.0f}/s), 0 errors, {len(acked_invites)} invites acknowledged, 0 lost; "
               f"Prosody registered {len(registered)} accounts meanwhile; write lock held {len(held)} times "
               f"(up to {max(held):.2f} s); latency p50 {percentile(latencies, 0.5) * 1e3:.1f} ms, "
               f"p99 {percentile(latencies, 0.99) * 1e3:.1f} ms, max {latencies[-1] * 1e3:.1f} ms")
    with capsys.disabled():
        print("\n" + figures)
