"""prosody-admin administering a real Prosody 0.12 through their shared SQLite file.
Every step asserts what Prosody itself does (log in, register, serve PEP), not our own
reading of the rows."""

import sqlite3
import threading

import xmpp
from conftest import eventually


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


def test_tokens_minted_by_prosody(env):
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
    with sqlite3.connect(env.db) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    def all_listed():
        names = [u["username"] for u in env.call("GET", "/users")[1]]
        return all(f"busy{i}" in names for i in range(25))
    assert eventually(all_listed, True)
