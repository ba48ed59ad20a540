"""Prosody's fair share, in `make bench`: how much of Prosody 13's own write-heavy work a
busy prosody-admin beside it takes, on the same SQLite file and on the same flat files.

Prosody's work runs inside Prosody (one chunk through its admin socket, so no client's
CPU is in the figure): registrations (usermanager.create_user, as mod_register does) and
offline deliveries (appends to the `offline` archive, as mod_offline does), each timed
with util.time. It runs alone, then beside prosody-admin answering POST /groups (a new
group and its audit entry each: a write of the same small size on either storage) at a
fixed rate that leaves CPU to spare (wrk with a per-connection delay), then beside
prosody-admin at full saturation (wrk without a delay).
What differs between the runs is the write lock (SQLite) or the files (internal), not CPU.
Prosody loads mod_sql_busy_timeout (this repository's prosody/), as the README tells
operators to."""

import os
import re
import signal
import subprocess
import sqlite3
import time

import peer

CONFIG = """
run_as_root = true
pidfile = "{dir}/prosody.pid"
data_path = "{dir}/data"
plugin_paths = {{ "{plugins}" }}
modules_enabled = {{ "roster"; "saslauth"; "disco"; "offline"; "invites"; "tokenauth"; "admin_shell";
                    "admin_socket"; "sql_busy_timeout" }}
modules_disabled = {{ "s2s"; "c2s" }}
c2s_ports = {{ }}
s2s_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
authentication = "internal_hashed"
{storage}
log = {{ warn = "{dir}/prosody.log" }}
VirtualHost "localhost"
admins = {{ "admin@localhost" }}
"""

# Prosody's own writes, timed inside Prosody: `regs` registrations, then `msgs` offline
# deliveries (to an account of the run's own: Prosody keeps at most 10 000 archive items
# per account); "regs/s;p99 ms;msgs/s;p99 ms".
WORK_LUA = (
    'local um = require "prosody.core.usermanager"; local now = require "prosody.util.time".now; '
    'local st = require "prosody.util.stanza"; '
    'local off = require "prosody.core.storagemanager".open("localhost", "offline", "archive"); '
    'local function p99(t) table.sort(t); return t[math.max(1, math.ceil(#t * 0.99))] * 1000 end; '
    'local reg, msg = {{}}, {{}}; local t0 = now(); '
    'for i = 1, {regs} do local t = now(); assert(um.create_user("{prefix}" .. i, "pw", "localhost")); '
    '  reg[#reg + 1] = now() - t end; '
    'local t1 = now(); '
    'for i = 1, {msgs} do local t = now(); '
    '  local m = st.message({{ to = "admin@localhost", from = "x@localhost", type = "chat" }}):tag("body"):text("m" .. i); '
    '  assert(off:append("{prefix}", nil, m, os.time(), "x@localhost")); msg[#msg + 1] = now() - t end; '
    'local t2 = now(); '
    'return ("%.1f;%.2f;%.1f;%.2f"):format({regs} / (t1 - t0), p99(reg), {msgs} / (t2 - t1), p99(msg))')

# wrk: each connection waits DELAY ms before its next request (the fixed rate).
# (The request is wrk's static one, so that -H's Authorization stays in it.)
SATURATE_LUA = """wrk.method = "POST"
wrk.body = '{"name": "fair"}'
wrk.headers["Content-Type"] = "application/json"
"""
RATE_LUA = SATURATE_LUA + "delay = function() return %d end\n"


class Beside:
    """Prosody 13 on `engine` ("sql": a SQLite file; "internal": flat files) and
    prosody-admin on its config."""

    def __init__(self, tmp, engine, bin_):
        peer.check_installed()
        self.dir = os.path.join(tmp, f"fair-{engine}")
        os.makedirs(os.path.join(self.dir, "data"))
        self.cfg = os.path.join(self.dir, "prosody.cfg.lua")
        storage = ('storage = "sql"\nsql = { driver = "SQLite3", database = "prosody.sqlite" }' if engine == "sql"
                   else 'storage = "internal"')
        with open(self.cfg, "w") as f:
            f.write(CONFIG.format(dir=self.dir, plugins=peer.ROOT / "prosody", storage=storage))
        self.proc = subprocess.Popen([str(peer.PROSODY13 / "prosody"), "--config", self.cfg, "-F"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sock = os.path.join(self.dir, "data", "prosody.sock")
        deadline = time.monotonic() + 30
        while not os.path.exists(sock):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("Prosody 13 did not start (fair share)")
            time.sleep(0.1)
        if engine == "sql":
            db = os.path.join(self.dir, "data", "prosody.sqlite")
            while True:
                try:
                    with sqlite3.connect(db) as c:
                        if c.execute("SELECT count(*) FROM sqlite_master WHERE name = 'prosody_unique_index'") \
                                .fetchone()[0]:
                            break
                except sqlite3.Error:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("Prosody 13 did not create its tables")
                time.sleep(0.1)
        self.shell('assert(require "prosody.core.usermanager".create_user("admin", "pw", "localhost")); '
                   'return "made"')
        self.bin = bin_
        self.token = subprocess.run([str(bin_), "--prosody-config", self.cfg, "token", "create", "--user", "admin"],
                                    check=True, capture_output=True, text=True).stdout.strip()
        self.api = None
        self.runs = 0

    def shell(self, lua):
        out = subprocess.run([str(peer.PROSODY13 / "prosodyctl"), "--config", self.cfg, "shell"],
                             input=f"> {lua}\n", capture_output=True, text=True, timeout=600)
        m = re.search(r"Result: (\S+)", out.stdout + out.stderr)
        if not m:
            raise RuntimeError(f"Prosody's work failed: {out.stdout}{out.stderr}")
        return m.group(1)

    def start_api(self, start, extra=()):
        self.api, addr = start([str(self.bin), "--prosody-config", self.cfg, "serve", "--listen", "127.0.0.1:0",
                                *extra], "prosody-admin")
        return f"http://{addr}"

    def work(self, regs, msgs):
        """Prosody's own work, once: (registrations/s, p99 ms, offline deliveries/s, p99 ms)."""
        self.runs += 1
        out = self.shell(WORK_LUA.format(regs=regs, msgs=msgs, prefix=f"fair{self.runs}x"))
        return tuple(float(x) for x in out.split(";"))

    def stop(self):
        if self.api and self.api.poll() is None:
            self.api.kill()
            self.api.wait()
        self.proc.terminate()
        self.proc.wait(timeout=30)


def cpu_seconds(pid):
    """User + system CPU seconds a process has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# A busy loop taking `cores` of one CPU (busy, then idle, every 10 ms): the control row.
BURN = """import sys, time
c = float(sys.argv[1])
while True:
    t = time.perf_counter()
    while time.perf_counter() - t < 0.010 * c:
        pass
    time.sleep(0.010 * (1 - c))
"""


def measure(tmp, bin_, start, wrk_cmd, engine, regs, msgs, load_secs, extra=()):
    """Prosody's work beside a fixed rate of audited writes, beside saturation, and beside
    the control's busy loop, each paired with a run alone just before it (Prosody's own
    work slows as its data grows run after run: a loaded run is compared with its
    neighbour, not with the first): [(label, prosody figures, alone just before, our
    writes/s, cores the load took: ours + wrk's)]."""
    b = Beside(tmp, engine, bin_)
    rows = []
    try:
        base = b.start_api(start, extra)
        for label, script in (("beside a fixed rate (wrk -c10, 4 ms apart)", RATE_LUA % 4),
                              ("beside saturation (wrk -c16, no pause)", SATURATE_LUA)):
            alone = b.work(regs, msgs)
            path = os.path.join(tmp, f"fair-{engine}-{len(rows)}.lua")
            with open(path, "w") as f:
                f.write(script)
            conns = 10 if "fixed" in label else 16
            load = subprocess.Popen(wrk_cmd(conns, load_secs, path, b.token, base + "/admin_api/groups"),
                                    stdout=subprocess.PIPE, text=True)
            try:
                time.sleep(1)  # the load is steady before Prosody's work starts
                t0, c0 = time.monotonic(), cpu_seconds(b.api.pid) + cpu_seconds(load.pid)
                figures = b.work(regs, msgs)
                cores = (cpu_seconds(b.api.pid) + cpu_seconds(load.pid) - c0) / (time.monotonic() - t0)
            except BaseException:
                load.kill()  # no wrk left running when Prosody's work fails
                load.wait()
                raise
            load.send_signal(signal.SIGINT)  # wrk stops and prints what it did
            out, _ = load.communicate(timeout=60)
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
            bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            if bad:
                raise RuntimeError(f"the load got {bad.group(1)} non-2xx answers")
            rows.append((label, figures, alone, rps, cores))
        # The control: the CPU the fixed rate took, without any database work. What
        # Prosody loses here is this machine's CPU sharing, not our writes.
        fixed_cores = min(rows[0][4], 1.0)
        alone = b.work(regs, msgs)
        burner = subprocess.Popen(["python3", "-c", BURN, str(fixed_cores)])
        try:
            time.sleep(0.5)
            rows.append((f"control: a busy loop taking {fixed_cores:.2f} cores, no database", b.work(regs, msgs),
                         alone, 0.0, fixed_cores))
        finally:
            burner.kill()
            burner.wait()
    finally:
        b.stop()
    return rows


def lines(engine, rows):
    out = []
    for label, (rs, rp, ms, mp), (ars, arp, ams, amp), ours, cores in rows:
        out.append(f"| {engine} | {label} | {ours:.0f} | {cores:.2f} | {ars:.0f} ({arp:.1f}) | {rs:.0f} ({rp:.1f}) | "
                   f"{(rs / ars - 1) * 100:+.0f} % | {ams:.0f} ({amp:.2f}) | {ms:.0f} ({mp:.2f}) | "
                   f"{(ms / ams - 1) * 100:+.0f} % |")
    return out


HEADER = ["| storage | Prosody's work | our audited writes/s | cores taken (ours + wrk) "
          "| registrations/s alone just before (p99 ms) | registrations/s beside (p99 ms) | change "
          "| offline deliveries/s alone just before (p99 ms) | offline deliveries/s beside (p99 ms) | change |",
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
