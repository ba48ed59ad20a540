"""Seeds a database in Prosody 0.12's layout, fast (one transaction, not through the API):
accounts with nicknames and roles, groups with members, invites, and an admin token.
The tables must exist: run any prosody-admin command on the file first (it creates
Prosody's schema), as bench/run.py does."""

import base64
import json
import sqlite3
import sys
import time


# SCRAM-SHA-1 rows of password "pass" (from the storage reference): the same for every
# account, which is fine for a benchmark.
ACCOUNT = [("iteration_count", "number", "10000"),
           ("salt", "string", "e92314ef-1b45-4857-92e1-e96382c5689c"),
           ("server_key", "string", "1fb07677e45b613ea3141848d561808e1b6f6784"),
           ("stored_key", "string", "afd5cef63e381ba9a1807beda8b393a954fb9837")]
NICK_NODE = "http://jabber.org/protocol/nick"
TOKEN_ID = "benchbenchbenchbenchbenchbenchbench0"


def seed(path, users, groups=100, invites=1000, host="localhost", roles=True, token=True):
    """Seeds `path`; the admin's 0.12 token. Without `roles` and `token` (a Prosody 13
    file, whose admins come from the config and tokens from Prosody): neither 0.12 row."""
    now = int(time.time())
    db = sqlite3.connect(path)
    rows, archive = [], []
    for n in ["admin"] + [f"user{i}" for i in range(users)]:
        rows += [(host, n, "accounts", k, t, v) for k, t, v in ACCOUNT]
        if n != "admin":
            rows.append((host, n, "pep", NICK_NODE, "json", json.dumps(
                {"config": {"_defaults_only": True, "access_model": "open"}, "name": NICK_NODE,
                 "affiliations": {}, "subscribers": {}})))
            archive.append((host, n, "pep_" + NICK_NODE, "current", now, "", "xml",
                            f"<nick xmlns='{NICK_NODE}'>User {n[4:]}</nick>"))
            if roles:
                rows.append((host, n, "roles", "custom:role", "boolean", "true"))
    if roles:
        rows.append((host, "admin", "roles", "prosody:admin", "boolean", "true"))
    for g in range(groups):
        gid = f"group{g:07d}"
        rows.append((host, gid, "group_info", "name", "string", f"Group {g}"))
        for m in range(10):
            rows.append((host, gid, "groups", f"user{(g * 10 + m) % max(users, 1)}", "json", "{}"))
    for i in range(invites):
        tok = f"benchinvite{i:013d}"
        rows.append((host, "", "invite_token", tok, "json", json.dumps({
            "type": "register", "jid": host, "token": tok, "allow_registration": True,
            "uri": f"xmpp:{host}?register;preauth={tok}", "created_at": now, "expires": now + 86400,
            "additional_data": {"source": f"admin@{host}/admin_api"}})))
    if token:
        rows.append((host, "admin", "auth_tokens", TOKEN_ID, "json", json.dumps({
            "owner": f"admin@{host}", "created": now, "jid": f"admin@{host}",
            "session": {"username": "admin", "host": host, "auth_scope": "prosody:scope:admin"}})))
    with db:
        db.executemany('INSERT INTO "prosody" VALUES (?,?,?,?,?,?)', rows)
        db.executemany('INSERT INTO "prosodyarchive" ("host","user","store","key","when","with","type","value") '
                       'VALUES (?,?,?,?,?,?,?,?)', archive)
    db.close()
    return base64.b64encode(f"1;admin@{host};{TOKEN_ID}".encode()).decode()


if __name__ == "__main__":
    # usage: seed.py DATABASE ACCOUNTS (the database must have Prosody's tables)
    print(seed(sys.argv[1], int(sys.argv[2])))
