"""prosody-admin administering a real Prosody (0.12 and 13) through their shared SQLite
file. Every step asserts what Prosody itself does (log in, register, serve PEP, enforce
roles), not our own reading of the rows."""

import json
import os
import pathlib
import re
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest

import xmpp
from conftest import ROOT, eventually


def test_account_registered_by_prosodyctl_is_listed(env):
    env.prosodyctl("register", "pr_user", "localhost", "pw-pr")
    listed = lambda: "pr_user" in [u["username"] for u in env.call("GET", "/users")[1]]
    assert eventually(listed, True)
    status, u = env.call("GET", "/users/pr_user")
    assert status == 200 and u["username"] == "pr_user"


def test_account_made_here_logs_in_until_deleted(env):
    env.cli("user", "add", "made_here", stdin="s3cret\n")
    assert xmpp.can_login(env.c2s, "made_here", "s3cret")
    assert not xmpp.can_login(env.c2s, "made_here", "wrong")
    assert env.call("DELETE", "/users/made_here")[0] == 200
    assert not xmpp.can_login(env.c2s, "made_here", "s3cret")


def test_invites_are_redeemed_by_prosody(env):
    # Account invite: Prosody's invite-based registration creates the account and
    # consumes the invite.
    status, inv = env.call("POST", "/invites/account", {"username": "invited"})
    assert status == 200
    xmpp.register_with_invite(env.c2s, inv["id"], "invited", "inv-pw")
    assert xmpp.can_login(env.c2s, "invited", "inv-pw")
    assert eventually(lambda: env.call("GET", "/users/invited")[0], 200) == 200
    listed = [i["id"] for i in env.call("GET", "/invites")[1]]
    assert inv["id"] not in listed
    assert env.call("GET", f"/invites/{inv['id']}")[0] == 404

    # A reusable group invite stays after a redemption.
    status, g = env.call("POST", "/invites/group", {"group_options": {"name": "Interop"}})
    assert status == 200 and g["reusable"]
    xmpp.register_with_invite(env.c2s, g["id"], "via_group", "grp-pw")
    assert xmpp.can_login(env.c2s, "via_group", "grp-pw")
    assert g["id"] in [i["id"] for i in env.call("GET", "/invites")[1]]

    # A reset invite lets the user set a new password through Prosody.
    status, r = env.call("POST", "/invites/reset", {"username": "invited"})
    assert status == 200
    xmpp.register_with_invite(env.c2s, r["id"], "invited", "new-pw")
    assert xmpp.can_login(env.c2s, "invited", "new-pw")
    assert not xmpp.can_login(env.c2s, "invited", "inv-pw")

    # An invite revoked here is refused by Prosody.
    status, gone = env.call("POST", "/invites/account", {})
    assert env.call("DELETE", f"/invites/{gone['id']}")[0] == 200
    try:
        xmpp.register_with_invite(env.c2s, gone["id"], "nobody_here", "x")
        raise AssertionError("Prosody accepted a revoked invite")
    except xmpp.XmppError as e:
        assert "preauth refused" in str(e)


def test_cli_invite_uri_is_redeemed_by_prosody(env):
    out = env.cli("invite", "create")
    uri = out.splitlines()[0]
    assert uri.startswith("xmpp:localhost?register;preauth="), out
    xmpp.register_with_invite(env.c2s, uri.split("preauth=", 1)[1], "cli_invited", "cli-pw")
    assert xmpp.can_login(env.c2s, "cli_invited", "cli-pw")


def test_tokens_minted_by_prosody(env):
    if env.version != "0.12":
        pytest.skip("0.12's create_jid_token; 13's grants are tested below")
    # mod_tokenauth's own create_jid_token, called inside the running Prosody.
    mint = ('local t = prosody.hosts["localhost"].modules.tokenauth.create_jid_token('
            '"admin@localhost", "admin@localhost", "%s", 3600); return t')
    tok = env.prosody_shell(mint % "prosody:scope:admin")
    status, _ = env.call("GET", "/users", token=tok)
    assert status == 200
    plain = env.prosody_shell(mint % "prosody:scope:default")
    status, body = env.call("GET", "/users", token=plain)
    assert status == 403 and body["error"]["code"] == 403


def test_nicknames_both_ways(env):
    env.prosodyctl("register", "nick_a", "localhost", "pw-a")
    env.prosodyctl("register", "nick_b", "localhost", "pw-b")
    # Set here, served by Prosody (to the user and to another user).
    assert env.call("PUT", "/users/nick_a", {"display_name": "Ada <Admin> & co"})[0] == 200
    a = xmpp.Stream(env.c2s).login("nick_a", "pw-a")
    b = xmpp.Stream(env.c2s).login("nick_b", "pw-b")
    try:
        assert xmpp.pep_nick(a, "nick_a@localhost") == "Ada <Admin> & co"
        assert xmpp.pep_nick(b, "nick_a@localhost") == "Ada <Admin> & co"
        # Published through Prosody, shown here.
        xmpp.publish_nick(b, "Bea from her client")
    finally:
        a.close()
        b.close()
    assert eventually(lambda: env.call("GET", "/users/nick_b")[1]["display_name"],
                      "Bea from her client") == "Bea from her client"


def test_concurrent_writers(env):
    status, g = env.call("POST", "/invites/group", {"group_options": {"name": "Busy"}})
    gid = g["groups"][0]
    env.prosodyctl("register", "busy_target", "localhost", "pw")
    failures = []

    def api_writes():
        for i in range(150):
            for method, path, body in (("PUT", "/users/busy_target", {"display_name": f"n{i}"}),
                                       ("PUT", f"/groups/{gid}/members/busy_target", None),
                                       ("POST", "/invites/account", {}),
                                       ("DELETE", f"/groups/{gid}/members/busy_target", None)):
                st, _ = env.call(method, path, body)
                if st >= 300:
                    failures.append((method, path, st))

    t = threading.Thread(target=api_writes)
    t.start()
    registered = 0
    try:
        for i in range(25):
            xmpp.register_with_invite(env.c2s, g["id"], f"busy{i}", "pw")
            registered += 1
    finally:
        t.join()
    assert failures == []
    assert registered == 25
    for i in (0, 24):
        assert xmpp.can_login(env.c2s, f"busy{i}", "pw")
    assert env.prosody_errors() == []
    assert env.intact()
    def all_listed():
        names = [u["username"] for u in env.call("GET", "/users")[1]]
        return all(f"busy{i}" in names for i in range(25))
    assert eventually(all_listed, True)


# --- Prosody 13 only -------------------------------------------------------------------

def only13(env):
    if env.version != "13":
        pytest.skip("Prosody 13 semantics")


def mint13(env, user, role, ttl=3600):
    """A grant and a token made by Prosody 13's own mod_tokenauth."""
    lua = ('local tm = prosody.hosts["localhost"].modules.tokenauth; '
           f'local g = tm.create_grant("{user}@localhost", "{user}@localhost", nil, nil); '
           f'return (tm.create_token("{user}@localhost", g, "{role}", {ttl}, nil))')
    tok = env.prosody_shell(lua)
    assert tok.startswith("secret-token:"), tok
    return tok


def prosody_role(env, user):
    return env.prosody_shell('local um = require "prosody.core.usermanager"; '
                             f'return um.get_user_role("{user}", "localhost").name')


def test_13_tokens_minted_by_prosody(env):
    only13(env)
    assert env.call("GET", "/users", token=mint13(env, "admin", "prosody:admin"))[0] == 200
    env.prosodyctl("register", "plain13", "localhost", "pw")
    status, body = env.call("GET", "/users", token=mint13(env, "plain13", "prosody:registered"))
    assert status == 403 and body["error"]["code"] == 403
    # A forged secret: right grant, wrong secret.
    good = mint13(env, "admin", "prosody:admin")
    import base64
    raw = base64.b64decode(good[len("secret-token:"):])
    gid, rest = raw[2:].split(b";", 1)
    forged = "secret-token:" + base64.b64encode(b"2;" + gid + b";" + b"x" * 18 + rest[18:]).decode()
    status, body = env.call("GET", "/users", token=forged)
    assert status == 401 and body["error"]["code"] == 401


def post(req):
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        raise AssertionError(f"{req.full_url}: {e.code} {e.read()!r}")


def oauth2_password_token(env, user, password, base=None):
    base = (base or f"http://127.0.0.1:{env.http}") + "/oauth2"
    meta = {"client_name": "interop", "client_uri": "https://portal.example.org/",
            "redirect_uris": ["https://portal.example.org/callback"], "grant_types": ["password"],
            "token_endpoint_auth_method": "client_secret_post"}
    req = urllib.request.Request(base + "/register", data=json.dumps(meta).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Host": "localhost"})
    client = post(req)
    form = urllib.parse.urlencode({"grant_type": "password", "username": f"{user}@localhost", "password": password,
                                   "client_id": client["client_id"], "client_secret": client["client_secret"],
                                   "scope": "prosody:restricted prosody:registered prosody:admin"}).encode()
    req = urllib.request.Request(base + "/token", data=form, method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded", "Host": "localhost"})
    return post(req)["access_token"]


def test_13_oauth2_password_grant_tokens(env):
    only13(env)
    tok = oauth2_password_token(env, "admin", "adminpw")
    assert tok.startswith("secret-token:")
    assert env.call("GET", "/users", token=tok)[0] == 200
    env.prosodyctl("register", "oauth_user", "localhost", "pw-o")
    status, _ = env.call("GET", "/users", token=oauth2_password_token(env, "oauth_user", "pw-o"))
    assert status == 403


def test_13_roles_both_ways(env):
    only13(env)
    env.prosodyctl("register", "roly", "localhost", "pw")
    env.shell('user:set_role("roly@localhost", "prosody:member")')
    roles = lambda: env.call("GET", "/users/roly")[1]["roles"]
    assert eventually(roles, ["prosody:member"]) == ["prosody:member"]
    # Set here, enforced by Prosody: it now treats roly as an admin, and a token of
    # role prosody:admin minted by Prosody for roly works here.
    assert env.call("PUT", "/users/roly", {"roles": ["prosody:admin"]})[0] == 200
    assert prosody_role(env, "roly") == "prosody:admin"
    assert env.call("GET", "/users", token=mint13(env, "roly", "prosody:admin"))[0] == 200
    # And taken away again.
    assert env.call("PUT", "/users/roly", {"roles": ["prosody:registered"]})[0] == 200
    assert prosody_role(env, "roly") == "prosody:registered"


def test_13_disabled_account_token_refused(env):
    only13(env)
    env.prosodyctl("register", "dis_admin", "localhost", "pw")
    env.shell('user:set_role("dis_admin@localhost", "prosody:admin")')
    tok = mint13(env, "dis_admin", "prosody:admin")
    assert env.call("GET", "/users", token=tok)[0] == 200
    assert "OK" in env.shell('user:disable("dis_admin@localhost")')
    assert eventually(lambda: env.call("GET", "/users", token=tok)[0], 401) == 401
    assert not xmpp.can_login(env.c2s, "dis_admin", "pw")


def test_13_cli_accounts_and_api_invites(env):
    only13(env)
    # `user add` writes what 13 writes: Prosody logs the account in, and reports it enabled.
    env.cli("user", "add", "cli13", stdin="pw13\n")
    assert xmpp.can_login(env.c2s, "cli13", "pw13")
    info = env.prosody_shell('local um = require "prosody.core.usermanager"; '
                             'local i = um.get_account_info("cli13", "localhost"); '
                             'return tostring(i.enabled) .. "/" .. tostring(i.created ~= nil)')
    assert info == "true/true"
    # A password change here voids the tokens Prosody granted before it.
    env.shell('user:set_role("cli13@localhost", "prosody:admin")')
    tok = mint13(env, "cli13", "prosody:admin")
    assert env.call("GET", "/users", token=tok)[0] == 200
    import time
    time.sleep(1.1)  # grants compare whole seconds
    env.cli("user", "passwd", "cli13", stdin="pw13-new\n")
    assert eventually(lambda: env.call("GET", "/users", token=tok)[0], 401) == 401
    assert xmpp.can_login(env.c2s, "cli13", "pw13-new")
    assert env.call("DELETE", "/users/cli13")[0] == 200
    assert not xmpp.can_login(env.c2s, "cli13", "pw13-new")


def test_13_patch_disables_and_enables_logins(env):
    only13(env)
    env.prosodyctl("register", "toggle", "localhost", "pw-t")
    assert xmpp.can_login(env.c2s, "toggle", "pw-t")
    status, u = env.call("PATCH", "/users/toggle", {"enabled": False})
    assert status == 200 and u["enabled"] is False
    assert not xmpp.can_login(env.c2s, "toggle", "pw-t")
    enabled = env.prosody_shell('local um = require "prosody.core.usermanager"; '
                                'return tostring(um.user_is_enabled("toggle", "localhost"))')
    assert enabled == "false"
    status, u = env.call("PATCH", "/users/toggle", {"enabled": True})
    assert status == 200 and u["enabled"] is True
    assert xmpp.can_login(env.c2s, "toggle", "pw-t")
    # Disabled in Prosody, shown here.
    env.shell('user:disable("toggle@localhost")')
    assert eventually(lambda: env.call("GET", "/users/toggle")[1]["enabled"], False) is False


def test_0_12_cannot_disable(env):
    if env.version != "0.12":
        pytest.skip("0.12's answer")
    env.prosodyctl("register", "stays", "localhost", "pw-s")
    status, body = env.call("PATCH", "/users/stays", {"enabled": False})
    assert status == 400 and "0.12" in body["error"]["text"]
    assert xmpp.can_login(env.c2s, "stays", "pw-s")


def test_invite_roles_granted_by_prosody(env):
    roles = ["prosody:member", "prosody:admin"]
    status, inv = env.call("POST", "/invites/account", {"roles": roles, "note": "for rolf", "ttl": "3600"})
    assert status == 200 and inv["note"] == "for rolf"
    xmpp.register_with_invite(env.c2s, inv["id"], "rolf", "pw-r")
    assert xmpp.can_login(env.c2s, "rolf", "pw-r")
    if env.version == "13":
        # Prosody made prosody:member the primary role, prosody:admin a secondary one.
        assert prosody_role(env, "rolf") == "prosody:member"
        secondary = env.prosody_shell('local um = require "prosody.core.usermanager"; '
                                      'return tostring(um.get_user_secondary_roles("rolf", "localhost")["prosody:admin"] ~= nil)')
        assert secondary == "true"
        u = eventually(lambda: env.call("GET", "/users/rolf")[1].get("role"), "prosody:member")
        assert u == "prosody:member"
    else:
        # 0.12's mod_invites_register stores the map as the account's roles.
        got = eventually(lambda: env.call("GET", "/users/rolf")[1].get("roles"), ["prosody:admin", "prosody:member"])
        assert got == ["prosody:admin", "prosody:member"]


def test_group_chats_are_rooms_prosody_serves(env):
    env.prosodyctl("register", "chatter", "localhost", "pw-c")
    status, g = env.call("POST", "/groups", {"name": "Chatty", "create_muc": True})
    assert status == 200
    gid = g["id"]
    assert env.call("PUT", f"/groups/{gid}/members/chatter")[0] == 200
    # Renaming renames the group's original chat (mod_groups_internal's set_info).
    assert env.call("PUT", f"/groups/{gid}", {"name": "Chatty 2"})[0] == 204
    status, chat = env.call("POST", f"/groups/{gid}/chats", {"name": "Side room"})
    assert status == 200
    status, gone = env.call("POST", f"/groups/{gid}/chats", {"name": "Short-lived"})
    assert env.call("DELETE", f"/groups/{gid}/chats/{gone['id']}")[0] == 204
    # After a restart Prosody loads the rooms from the file.
    env.stop_prosody()
    env.start_prosody()
    s = xmpp.Stream(env.c2s).login("chatter", "pw-c")
    try:
        # The member got the new chats' invitations (XEP-0249) at login.
        invited = xmpp.presence_and_invites(s, timeout=2)
        assert chat["jid"] in invited, invited
        assert xmpp.room_name(s, chat["jid"]) == "Side room"
        assert xmpp.room_name(s, g["muc_jid"]) == "Chatty 2"
        assert xmpp.room_name(s, gone["jid"]) is None
    finally:
        s.close()


def test_announcement_to_all_reaches_the_next_login(env):
    """Without a live path: an offline message in Prosody's store, delivered at login."""
    env.prosodyctl("register", "later", "localhost", "pw-l")
    status, r = env.call("POST", "/server/announcement", {"body": "Upgrade at 22:00 <UTC>", "recipients": "all"})
    assert status == 201 and r["stored_offline"] >= 1 and r["sent_live"] == 0
    s = xmpp.Stream(env.c2s).login("later", "pw-l")
    try:
        assert "Upgrade at 22:00 <UTC>" in xmpp.presence_and_messages(s, timeout=2)
    finally:
        s.close()
    # Without a component, "online" goes through Prosody's admin socket: nobody is online.
    status, r = env.call("POST", "/server/announcement", {"body": "x", "recipients": "online"})
    assert status == 201 and r["stored_offline"] == 0, r


def test_announcements_through_the_live_path(env):
    """With the component configured: online users get it at once; for "all", Prosody
    stores it for the offline ones; "online" reaches only the online ones."""
    url = env.start_live_api()
    env.prosodyctl("register", "here", "localhost", "pw-h")
    env.prosodyctl("register", "away", "localhost", "pw-a")
    on = xmpp.Stream(env.c2s).login("here", "pw-h")
    try:
        # Initial presence; delivers what earlier tests left offline for "here".
        xmpp.presence_and_messages(on, timeout=1)
        status, r = env.call("POST", "/server/announcement", {"body": "Live news", "recipients": "all"}, url=url)
        assert status == 201 and r["sent_live"] >= 2 and r["stored_offline"] == 0, r
        got = xmpp.presence_and_messages(on, timeout=2)
        assert "Live news" in got
        status, _ = env.call("POST", "/server/announcement", {"body": "Only online", "recipients": "online"}, url=url)
        assert status == 201
        assert "Only online" in xmpp.presence_and_messages(on, timeout=2)
    finally:
        on.close()
    away = xmpp.Stream(env.c2s).login("away", "pw-a")
    try:
        got = xmpp.presence_and_messages(away, timeout=2)
        assert "Live news" in got and "Only online" not in got, got
    finally:
        away.close()


def test_13_metrics_show_prosodys_connections(env):
    only13(env)
    before = env.call("GET", "/server/metrics")[1]
    assert "c2s" in before and "users" in before, before
    env.prosodyctl("register", "counted", "localhost", "pw-m")
    streams = [xmpp.Stream(env.c2s).login("counted", "pw-m") for _ in range(2)]
    try:
        during = env.call("GET", "/server/metrics")[1]
        assert during["c2s"] >= before["c2s"] + 2, (before, during)
        assert during["users"]["active_1d"] >= 1
    finally:
        for st in streams:
            st.close()


def test_zz_prosody_restarts_on_the_file(env):
    """Last in the module: after every write above, Prosody starts again on the file."""
    env.stop_prosody()
    assert env.intact()
    env.start_prosody()
    assert xmpp.can_login(env.c2s, "via_group", "grp-pw")
    assert env.prosody_errors() == []


def test_landing_pages_from_prosodys_invites_page(env):
    """Every invite, made here or by Prosody, is answered with Prosody's invites_page
    rendered for its token (13: exactly the link Prosody's own shell prints)."""
    from conftest import INVITES_PAGE
    page = lambda token: INVITES_PAGE.replace("{invite.token}", token).replace("{host}", "localhost")
    status, inv = env.call("POST", "/invites/account", {})
    assert status == 200 and inv["landing_page"] == page(inv["id"])
    if env.version == "13":
        out = env.shell('invite:create_account("localhost")')
        m = re.search(r"https://invite\.example/([\w-]+)/\?host=localhost", out)
        assert m, out
        theirs = m.group(0)
    else:
        out = env.prosodyctl("mod_invites", "generate", "localhost")
        m = re.search(r"preauth=([\w-]+)", out)
        assert m, out
        theirs = page(m.group(1))
    token = re.search(r"invite\.example/([\w-]+)/", theirs).group(1)
    # Prosody's commit reaches us within the watch interval.
    assert eventually(lambda: token in [i["id"] for i in env.call("GET", "/invites")[1]], True), out
    listed = {i["id"]: i for i in env.call("GET", "/invites")[1]}
    assert listed[token]["landing_page"] == theirs
    assert env.call("GET", f"/invites/{token}")[1]["landing_page"] == theirs


def test_13_custom_role_round_trip(env):
    """Snikket's `custom_roles`: the role Prosody knows from its config is accepted
    here, reads back as `role`, and Prosody's usermanager reports it; invites grant it;
    a role nobody declared is refused and changes nothing."""
    only13(env)
    env.prosodyctl("register", "limited", "localhost", "pw")
    status, u = env.call("PUT", "/users/limited", {"role": "prosody:restricted"})
    assert status == 200 and u["role"] == "prosody:restricted", u
    assert env.call("GET", "/users/limited")[1]["role"] == "prosody:restricted"
    assert prosody_role(env, "limited") == "prosody:restricted"
    status, inv = env.call("POST", "/invites/account", {"roles": ["prosody:restricted"]})
    assert status == 200 and inv["roles"] == ["prosody:restricted"]
    xmpp.register_with_invite(env.c2s, inv["id"], "limited2", "pw2")
    assert prosody_role(env, "limited2") == "prosody:restricted"
    assert eventually(lambda: env.call("GET", "/users/limited2")[1].get("role"),
                      "prosody:restricted") == "prosody:restricted"
    before = env.state()
    assert env.call("PUT", "/users/limited", {"role": "example:nobody"})[0] == 400
    assert env.call("POST", "/invites/account", {"roles": ["example:nobody"]})[0] == 400
    assert env.state() == before
    assert prosody_role(env, "limited") == "prosody:restricted"


def packaged_config(version):
    """A copy of the config Debian's package ships (0.12: installed in /etc/prosody; 13:
    unpacked in .tools/prosody13), with conf.d as the package's postinst makes it."""
    import shutil
    import tempfile
    etc = pathlib.Path("/etc/prosody") if version == "0.12" else ROOT / ".tools/prosody13/root/etc/prosody"
    d = pathlib.Path(tempfile.mkdtemp(prefix="pa-cfg-"))
    shutil.copy(etc / "prosody.cfg.lua", d / "prosody.cfg.lua")
    (d / "conf.d").mkdir()
    shutil.copy(etc / "conf.avail" / "localhost.cfg.lua", d / "conf.d" / "localhost.cfg.lua")
    return d


@pytest.mark.parametrize("version", ["0.12", "13"])
def test_debians_packaged_configs_evaluate(version, tmp_path):
    """Debian's shipped config (internal storage, conf.d included) evaluates: its host
    is found; with a database given by flag, the settings resolve; without one, the
    storage is Prosody's flat files in Debian's data_path."""
    d = packaged_config(version)
    binary = os.environ.get("PROSODY_ADMIN_BIN", str(ROOT / "target" / "debug" / "prosody-admin"))
    cfg = str(d / "prosody.cfg.lua")
    out = subprocess.run([binary, "--prosody-config", cfg, "--database", str(tmp_path / "x.sqlite"), "config"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "host: localhost" in out.stdout, out.stdout
    out = subprocess.run([binary, "--prosody-config", cfg, "config"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "database: Prosody's flat files in /var/lib/prosody" in out.stdout, out.stdout


def test_accounts_prosodyctl_registers_are_listed_within_a_second(env):
    """Prosody's own writes (here prosodyctl's, while we run) reach our listings within
    1 s, whatever the storage (internal: the data directory's inotify watch)."""
    import time
    env.call("GET", "/users")  # a listing in the cache, to be retired
    env.prosodyctl("register", "fresh_one", "localhost", "pw")
    start = time.monotonic()
    seen = eventually(lambda: "fresh_one" in [u["username"] for u in env.call("GET", "/users")[1]], True,
                      timeout=1.0)
    assert seen, f"not listed after {time.monotonic() - start:.2f} s"


def test_13_groups_are_read_by_prosodys_storagemanager(env):
    """A group written here is what Prosody's storage API reads from mod_groups_internal's
    stores (group_info, groups), on every storage."""
    only13(env)
    env.prosodyctl("register", "grouper", "localhost", "pw")
    status, g = env.call("POST", "/groups", {"name": "ReadByProsody"})
    assert status == 200, g
    gid = g["id"]
    assert env.call("PUT", f"/groups/{gid}/members/grouper")[0] in (200, 204)
    sm = 'require "prosody.core.storagemanager"'
    assert env.prosody_shell(f'return {sm}.open("localhost", "group_info"):get("{gid}").name') == "ReadByProsody"
    member = env.prosody_shell(f'return tostring({sm}.open("localhost", "groups", "map"):get("{gid}", "grouper") ~= nil)')
    assert member == "true"


def test_zzz_every_file_prosody_wrote_is_read_here(env):
    """Last in the module: every data file of the run (Prosody's and ours) is read by
    prosody-admin as it reads them (`prosody-admin check`), and loads in lua5.4."""
    if env.engine != "internal":
        pytest.skip("flat files only")
    out = env.cli("check")
    m = re.search(r"(\d+) files read, 0 unreadable", out)
    assert m and int(m.group(1)) > 0, out
    assert env.intact()


def stream_error_within(stream, seconds):
    """The stream error Prosody ends a session with, if it does within `seconds`."""
    import time
    stream.sock.settimeout(seconds)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            el = stream.next()
            if el.tag == f"{{{xmpp.NS_STREAM}}}error":
                return [c.tag.split("}")[1] for c in el], "".join(el.itertext())
    except (OSError, xmpp.XmppError):
        return None
    return None


def test_live_sessions_end_when_the_account_is_disabled_or_deleted(env):
    """The live path (Prosody's admin socket): a connected client's session ends at once,
    with Prosody's own stream error, when its account is disabled (13) or deleted here;
    and the account's debug info names the connected resource."""
    env.prosodyctl("register", "live_one", "localhost", "pw")
    s = xmpp.Stream(env.c2s).login("live_one", "pw")
    sessions = env.call("GET", "/users/live_one/debug")[1]["sessions"]
    assert len(sessions) == 1 and sessions[0]["full_jid"].startswith("live_one@localhost/"), sessions
    if env.version == "13":
        assert env.call("PATCH", "/users/live_one", {"enabled": False})[0] == 200
        err = stream_error_within(s, 1.0)
        assert err and "not-authorized" in err[0] and "Account disabled" in err[1], err
        assert env.call("PATCH", "/users/live_one", {"enabled": True})[0] == 200
        s = xmpp.Stream(env.c2s).login("live_one", "pw")
    assert env.call("DELETE", "/users/live_one")[0] == 200
    err = stream_error_within(s, 1.0)
    assert err and "not-authorized" in err[0] and "Account deleted" in err[1], err
    assert env.call("GET", "/users/live_one/debug")[0] == 404


def test_live_announcement_to_online_users_through_the_admin_socket(env):
    """No component configured: an announcement to "online" reaches a connected client
    within 1 s through Prosody's admin socket, hostile text carried as data."""
    env.prosodyctl("register", "listener", "localhost", "pw")
    on = xmpp.Stream(env.c2s).login("listener", "pw")
    try:
        xmpp.presence_and_messages(on, timeout=1)
        body = 'Tea at 5 "]] ]==] \\ ..os.exit() <b>&amp;'
        status, r = env.call("POST", "/server/announcement", {"body": body, "recipients": "online"})
        assert status == 201 and r["sent_live"] >= 1 and r["stored_offline"] == 0, r
        assert body in xmpp.presence_and_messages(on, timeout=1)
    finally:
        on.close()
    assert xmpp.can_login(env.c2s, "listener", "pw"), "Prosody still serves logins"


def test_live_path_down_and_back(env):
    """Prosody stopped: writes still succeed at once and nothing hangs (the debug info has
    no sessions); Prosody back: the live path works again without a restart of ours."""
    import time
    env.prosodyctl("register", "resilient", "localhost", "pw")
    env.prosodyctl("register", "resilient2", "localhost", "pw")
    assert env.call("GET", "/server/info")[1]["live_path"]["up"] is True
    env.stop_prosody()
    try:
        t = time.monotonic()
        assert env.call("DELETE", "/users/resilient")[0] == 200
        assert env.call("GET", "/users/resilient2/debug")[1]["sessions"] == []
        status, g = env.call("POST", "/groups", {"name": "While down", "create_muc": True})
        assert status == 200
        assert env.call("PUT", f"/groups/{g['id']}/members/resilient2")[0] in (200, 204)
        assert env.call("PUT", f"/groups/{g['id']}", {"name": "Still down"})[0] == 204
        assert env.call("DELETE", f"/groups/{g['id']}")[0] == 204
        live = env.call("GET", "/server/info")[1]["live_path"]
        assert live["configured"] is True and live["up"] is False and live["error"], live
        assert env.call("POST", "/server/announcement", {"body": "x", "recipients": "online"})[0] == 409
        assert time.monotonic() - t < 5, "a stopped Prosody held a request"
    finally:
        env.start_prosody()
    s = xmpp.Stream(env.c2s).login("resilient2", "pw")
    assert len(env.call("GET", "/users/resilient2/debug")[1]["sessions"]) == 1
    assert env.call("GET", "/server/info")[1]["live_path"]["up"] is True
    assert env.call("DELETE", "/users/resilient2")[0] == 200
    err = stream_error_within(s, 1.0)
    assert err and "not-authorized" in err[0], err


def loaded_room(env, room_jid, what):
    """Reads `what` (`affiliation:JID` or `name`) of a room in the running Prosody's
    memory, "unloaded" when the MUC host has no such room loaded."""
    kind, _, arg = what.partition(":")
    get = f'r:get_affiliation({lua_literal(arg)})' if kind == "affiliation" else "r:get_name()"
    return env.prosody_shell(
        'local m = prosody.hosts["groups.localhost"].modules.muc; '
        f'for r in m.live_rooms() do if r.jid == {lua_literal(room_jid)} then return tostring({get}) end end; '
        'return "unloaded"')


def lua_literal(text):
    """A Lua string literal of `text` (every byte but letters and digits escaped)."""
    return '"' + "".join(chr(b) if chr(b).isascii() and chr(b).isalnum() else f"\\{b:03d}"
                         for b in text.encode()) + '"'



def test_live_group_changes_reach_the_running_prosody(env):
    """The live path for groups: a room Prosody has loaded follows a rename, a new
    member's affiliation and a chat's removal without a restart (every version); with
    mod_groups_internal loaded (13), a new member is pushed to an online member's roster
    within 1 s and gets the chat's mediated invitation."""
    env.prosodyctl("register", "g_alice", "localhost", "pw")
    env.prosodyctl("register", "g_bob", "localhost", "pw")
    status, g = env.call("POST", "/groups", {"name": "Team", "create_muc": True})
    assert status == 200, g
    gid, room = g["id"], g["muc_jid"]
    assert env.call("PUT", f"/groups/{gid}/members/g_alice")[0] in (200, 204)
    alice = xmpp.Stream(env.c2s).login("g_alice", "pw")
    bob = xmpp.Stream(env.c2s).login("g_bob", "pw")
    try:
        xmpp.presence_and_messages(bob, timeout=0.5)
        # Loads the room in Prosody (a disco#info query restores it from storage).
        assert xmpp.room_name(alice, room) == "Team"
        assert loaded_room(env, room, "name") == "Team"
        xmpp.roster(alice)
        assert env.call("PUT", f"/groups/{gid}/members/g_bob")[0] in (200, 204)
        if env.version == "13":
            push = xmpp.wait_for(alice, xmpp.roster_push_of("g_bob@localhost"), 1.0)
            assert push is not None, "no roster push of the new member within 1 s"
            assert xmpp.wait_for(bob, xmpp.invitation_to(room), 1.0) is not None, "no invitation within 1 s"
        assert loaded_room(env, room, "affiliation:g_bob@localhost") == "member"
        # Renamed here: the loaded room answers with its new name, no restart.
        assert env.call("PUT", f"/groups/{gid}", {"name": "Team 2"})[0] == 204
        assert eventually(lambda: xmpp.room_name(alice, room), "Team 2", timeout=1.0) == "Team 2"
        assert env.call("DELETE", f"/groups/{gid}/members/g_bob")[0] in (200, 204)
        assert eventually(lambda: loaded_room(env, room, "affiliation:g_bob@localhost"), "nil", 3) == "nil"
        # A chat removed here leaves Prosody's memory too.
        assert env.call("DELETE", f"/groups/{gid}/chats/{room.split('@')[0]}")[0] == 204
        assert eventually(lambda: loaded_room(env, room, "name"), "unloaded", 3) == "unloaded"
        assert xmpp.room_name(alice, room) is None
    finally:
        alice.close()
        bob.close()
    # The group as stored is what we wrote (Prosody saved nothing stale over it).
    status, got = env.call("GET", f"/groups/{gid}")
    assert status == 200 and got["name"] == "Team 2" and got["members"] == ["g_alice"], got


HOSTILE_USER = 'h]]]==]\\..os.exit()(1)[['
HOSTILE_GROUP = 'Ops "]] ]==] \\ \n..os.exit() <b>&amp; \'x\''
HOSTILE_CHAT = 'Chat ]==] "); os.exit() --[['


def test_live_hostile_names_through_every_socket_operation(env):
    """Every operation that reaches Prosody's admin socket, with names and texts made to
    break out of a Lua literal: each is stored and read back verbatim, Prosody acts on
    it, and Prosody still runs and serves logins afterwards."""
    u = HOSTILE_USER
    out = env.cli("user", "add", u, stdin="pw-hostile\n")
    assert "created" in out, out
    assert [x["username"] for x in env.call("GET", "/users")[1] if x["username"] == u] == [u]
    s = xmpp.Stream(env.c2s).login(u, "pw-hostile")
    sessions = env.call("GET", f"/users/{urllib.parse.quote(u, safe='')}/debug")[1]["sessions"]
    assert len(sessions) == 1 and sessions[0]["full_jid"].startswith(u + "@localhost/"), sessions
    xmpp.presence_and_messages(s, timeout=0.5)
    status, r = env.call("POST", "/server/announcement", {"body": HOSTILE_GROUP, "recipients": "online"})
    assert status == 201 and r["sent_live"] >= 1, r
    assert HOSTILE_GROUP in xmpp.presence_and_messages(s, timeout=1)
    status, g = env.call("POST", "/groups", {"name": HOSTILE_GROUP, "create_muc": True})
    assert status == 200 and g["name"] == HOSTILE_GROUP, g
    gid, room = g["id"], g["muc_jid"]
    # Loads the room. (An XML parser reads a newline in an attribute as a space.)
    assert xmpp.room_name(s, room) == HOSTILE_GROUP.replace("\n", " ")
    member = f"/groups/{gid}/members/{urllib.parse.quote(u, safe='')}"
    assert env.call("PUT", member)[0] in (200, 204)
    assert loaded_room(env, room, f"affiliation:{u}@localhost") == "member"
    renamed = HOSTILE_CHAT + " 2"
    assert env.call("PUT", f"/groups/{gid}", {"name": renamed})[0] == 204
    assert eventually(lambda: xmpp.room_name(s, room), renamed, timeout=1.0) == renamed
    status, chat = env.call("POST", f"/groups/{gid}/chats", {"name": HOSTILE_CHAT})
    assert status == 200 and chat["name"] == HOSTILE_CHAT, chat
    assert env.call("DELETE", f"/groups/{gid}/chats/{chat['id']}")[0] == 204
    assert env.call("DELETE", member)[0] in (200, 204)
    assert eventually(lambda: loaded_room(env, room, f"affiliation:{u}@localhost"), "nil", 3) == "nil"
    status, got = env.call("GET", f"/groups/{gid}")
    assert got["name"] == renamed and [c["name"] for c in got["chats"]] == [renamed], got
    assert env.call("DELETE", f"/groups/{gid}")[0] == 204
    assert eventually(lambda: loaded_room(env, room, "name"), "unloaded", 3) == "unloaded"
    # The account's own events: a password change (the command line) resets the session
    # as Prosody's own does; on 13 a role change and disabling too.
    env.cli("user", "passwd", u, stdin="pw-hostile-2\n")
    err = stream_error_within(s, 1.0)
    assert err and "reset" in err[0] and "Password changed" in err[1], err
    quoted = urllib.parse.quote(u, safe="")
    if env.version == "13":
        s = xmpp.Stream(env.c2s).login(u, "pw-hostile-2")
        assert env.call("PUT", f"/users/{quoted}", {"role": "prosody:member"})[0] == 200
        err = stream_error_within(s, 1.0)
        assert err and "reset" in err[0] and "Role changed" in err[1], err
        s = xmpp.Stream(env.c2s).login(u, "pw-hostile-2")
        assert env.call("PATCH", f"/users/{quoted}", {"enabled": False})[0] == 200
        err = stream_error_within(s, 1.0)
        assert err and "Account disabled" in err[1], err
        assert env.call("PATCH", f"/users/{quoted}", {"enabled": True})[0] == 200
    s = xmpp.Stream(env.c2s).login(u, "pw-hostile-2")
    assert env.call("DELETE", f"/users/{quoted}")[0] == 200
    err = stream_error_within(s, 1.0)
    assert err and "Account deleted" in err[1], err
    # Prosody is still up and serving.
    assert env.prosody.poll() is None
    env.prosodyctl("register", "after_hostile", "localhost", "pw")
    assert xmpp.can_login(env.c2s, "after_hostile", "pw")
    assert env.call("GET", "/server/info")[1]["live_path"]["up"] is True


# --- Prose pods' expectations (issue 31) ---------------------------------------------

def test_13_invite_additional_data_both_ways(env):
    """An invite made here with `additional_data` is read back by Prosody's own invites
    module with that email (what Prose reads when the invite is redeemed); an invite
    Prosody makes with additional data shows it here."""
    only13(env)
    email = "carol@example.org"
    status, inv = env.call("POST", "/invites/account", {"additional_data": {"email": email}})
    assert status == 200 and inv["additional_data"] == {"email": email}, inv
    got = env.prosody_shell('local i = prosody.hosts["localhost"].modules.invites.get('
                            f'{lua_literal(inv["id"])}); return i and i.additional_data and i.additional_data.email')
    assert got == email, got
    # Prosody's own: the invite's token, then our read of it.
    token = env.prosody_shell('local i = prosody.hosts["localhost"].modules.invites.create_account('
                              'nil, { email = "dave@example.org", source = "prosody" }, 3600); return i.token')
    assert eventually(lambda: env.call("GET", f"/invites/{token}")[0], 200) == 200
    made = env.call("GET", f"/invites/{token}")[1]
    assert made["additional_data"] == {"email": "dave@example.org"} and made["source"] == "prosody", made
    # Redeemed through Prosody, as any invite.
    xmpp.register_with_invite(env.c2s, inv["id"], "carol", "pw")
    assert xmpp.can_login(env.c2s, "carol", "pw")


def test_13_last_active_is_now_while_connected(env):
    """A connected account's `last_active` is now (within Prose's 5 s) in a read and a
    listing, even once the time Prosody stored at login is older; after it disconnects,
    the time Prosody stored."""
    import time
    only13(env)
    env.prosodyctl("register", "present_one", "localhost", "pw")
    s = xmpp.Stream(env.c2s).login("present_one", "pw")
    time.sleep(6)  # what was stored at login is now more than 5 s old

    def read():
        one = env.call("GET", "/users/present_one")[1]
        listed = [u for u in env.call("GET", "/users")[1] if u["username"] == "present_one"][0]
        return one.get("last_active"), listed.get("last_active")

    for value in read():
        assert value is not None and abs(value - time.time()) <= 5, value
    s.close()
    time.sleep(1.5)  # Prosody has stored the logout; the cached answers have expired
    stored = env.prosody_shell('return prosody.hosts["localhost"].modules.account_activity'
                               '.get_last_active("present_one")')
    one, listed = read()
    assert one == listed == int(float(stored)), (one, listed, stored)


def test_13_one_base_url_forwards_prosodys_own_http(env):
    """With prosody_http, clients given one Prosody URL (the Snikket portal, Prose) reach
    Prosody's own HTTP through us: the portal's OAuth2 client registration and password
    grant, Prosody's metrics, Prosody's own 404; bounded like our requests; a Prosody that
    cannot be reached is a 502."""
    only13(env)
    api, url = env.start_api(["--prosody-http", f"http://127.0.0.1:{env.http}", "--max-body-bytes", "65536"])
    env.extra_apis.append(api)
    base = url[: -len("/admin_api")]
    tok = oauth2_password_token(env, "admin", "adminpw", base=base)
    assert env.call("GET", "/users", token=tok, url=url)[0] == 200
    with urllib.request.urlopen(base + "/metrics", timeout=30) as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("application/openmetrics-text")
        assert b"prosody_" in r.read()
    try:
        urllib.request.urlopen(urllib.request.Request(base + "/no/such/page", headers={"Host": "localhost"}))
        raise AssertionError("Prosody answers no such page")
    except urllib.error.HTTPError as e:
        assert e.code == 404 and not e.read().startswith(b'{"type":"error"'), "Prosody's own 404, not ours"
    big = urllib.request.Request(base + "/oauth2/register", data=b"x" * 100_000, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(big)
        raise AssertionError("a body over max_body_bytes went through")
    except urllib.error.HTTPError as e:
        assert e.code == 413 and json.loads(e.read())["code"] == 413
    from conftest import free_port
    down, down_url = env.start_api(["--prosody-http", f"http://127.0.0.1:{free_port()}"])
    env.extra_apis.append(down)
    try:
        urllib.request.urlopen(down_url[: -len("/admin_api")] + "/oauth2/token")
        raise AssertionError("no Prosody, no answer")
    except urllib.error.HTTPError as e:
        assert e.code == 502 and json.loads(e.read())["code"] == 502


def test_live_sessions_ended_by_an_administrator(env):
    """DELETE /users/{u}/sessions: Prosody closes the account's sessions (or one
    resource's) with policy-violation through its admin socket; the account logs in
    again; audited."""
    env.prosodyctl("register", "kickme", "localhost", "pw")
    phone = xmpp.Stream(env.c2s).login("kickme", "pw")
    laptop = xmpp.Stream(env.c2s).login("kickme", "pw")
    sessions = env.call("GET", "/users/kickme/debug")[1]["sessions"]
    assert len(sessions) == 2, sessions
    one = sessions[0]["full_jid"].split("/", 1)[1]
    status, body = env.call("DELETE", f"/users/kickme/sessions?resource={urllib.parse.quote(one)}")
    assert (status, body) == (200, {"ended": 1}), body
    left = env.call("GET", "/users/kickme/debug")[1]["sessions"]
    assert [s["full_jid"] for s in left] == [s["full_jid"] for s in sessions[1:]], left
    status, body = env.call("DELETE", "/users/kickme/sessions")
    assert (status, body) == (200, {"ended": 1}), body
    for s in (phone, laptop):
        err = stream_error_within(s, 1.0)
        assert err and "policy-violation" in err[0] and "administrator" in err[1], err
    assert xmpp.can_login(env.c2s, "kickme", "pw")
    entries = env.call("GET", "/audit?operation=endUserSessions")[1]["entries"]
    assert len(entries) == 2 and entries[0]["target"] == "/admin_api/users/kickme/sessions", entries


# --- The web console's sign-in --------------------------------------------------------

def sign_in(url, user, password):
    """POST /console/session, as the console sends it (no token); (status, body)."""
    req = urllib.request.Request(url + "/console/session", method="POST",
                                 data=json.dumps({"username": user, "password": password}).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def make_admin(env, user):
    body = {"role": "prosody:admin"} if env.version == "13" else {"roles": ["prosody:admin"]}
    assert env.call("PUT", f"/users/{user}", body)[0] == 200


def test_console_password_sign_in(env):
    """The console's password sign-in on Prosody's own credentials (set by prosodyctl,
    SASLprep'd), on every engine and both versions: wrong password 401, a non-admin 403,
    an admin gets a token in the database's format, which Prosody 13 itself validates;
    sign-out revokes it there too; a password Prosody changes is the one that counts."""
    url = env.fresh_api()
    env.prosodyctl("register", "signme", "localhost", "Pässwörd\u00a0one")
    env.prosodyctl("register", "plainsign", "localhost", "plain pw")
    assert sign_in(url, "signme", "wrong")[0] == 401
    assert sign_in(url, "plainsign", "plain pw")[0] == 403
    assert sign_in(url, "signme", "Pässwörd one")[0] == 403  # right (SASLprep: NBSP is a space), not admin yet
    make_admin(env, "signme")
    status, session = sign_in(url, "signme", "Pässwörd one")
    assert status == 201, session
    token = session["token"]
    assert session["jid"] == "signme@localhost"
    assert env.call("GET", "/users", token=token, url=url)[0] == 200
    check = ('local tm = prosody.hosts["localhost"].modules.tokenauth; '
             f'local info = tm.get_token_info("{token}"); return info and info.role or "none"')
    if env.version == "13":
        # Prosody's own mod_tokenauth knows the token, with its role.
        assert env.prosody_shell(check) == "prosody:admin"
        grants = env.prosody_shell('local tm = prosody.hosts["localhost"].modules.tokenauth; local n = 0; '
                                   'for _ in pairs(tm.get_user_grants("signme") or {}) do n = n + 1 end; return n')
        assert grants == "1", grants
    status, _ = env.call("DELETE", "/console/session", token=token, url=url)
    assert status == 204
    assert env.call("GET", "/users", token=token, url=url)[0] == 401
    if env.version == "13":
        assert env.prosody_shell(check) == "none"
    # Prosody changes the password: the old one is refused, the new one signs in.
    env.prosodyctl("passwd", "signme@localhost", stdin="new secret\nnew secret\n")
    assert sign_in(url, "signme", "Pässwörd one")[0] == 401
    assert sign_in(url, "signme", "new secret")[0] == 201


def test_13_console_disables_a_user_in_chromium_and_prosody_ends_the_session(env):
    """The console in Chromium: an admin signs in with a password, opens a user who is
    online (the live path lists the session), disables them; Prosody 13 ends the session."""
    only13(env)
    if env.engine != "sqlite":
        pytest.skip("the browser run once, on SQLite")
    docs = ROOT / "tests" / "docs"
    if not (docs / "node_modules" / "playwright-core").exists():
        pytest.fail("tests/docs/node_modules is missing: `make test` installs it (test-docs)")
    env.prosodyctl("register", "chief", "localhost", "chief pw")
    make_admin(env, "chief")
    env.prosodyctl("register", "online1", "localhost", "pw")
    stream = xmpp.Stream(env.c2s).login("online1", "pw")
    out = subprocess.run(["node", "console-disable.mjs"], cwd=docs, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "BASE": env.fresh_api(), "USERNAME": "chief", "PASSWORD": "chief pw",
                              "TARGET": "online1"})
    assert out.returncode == 0, out.stdout + out.stderr
    err = stream_error_within(stream, 2.0)
    assert err is not None, "Prosody did not end the disabled account's session"
    assert not xmpp.can_login(env.c2s, "online1", "pw")
