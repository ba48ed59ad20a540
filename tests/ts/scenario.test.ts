// The TypeScript (typescript-fetch) client generated from the spec, against a live
// prosody-admin (PROSODY_ADMIN_BIN, default: the debug build) on a fresh database.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync, ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import {
  Configuration, GroupApi, InviteApi, ResponseError, ServerApi, UserApi,
} from "../../clients/typescript";

const root = resolve(__dirname, "../../..");
const bin = process.env.PROSODY_ADMIN_BIN ?? join(root, "target/debug/prosody-admin");

async function start(): Promise<{ proc: ChildProcess; url: string; token: string; db: string }> {
  const dir = mkdtempSync(join(tmpdir(), "prosody-admin-ts-"));
  const db = join(dir, "db.sqlite");
  const proc = spawn(bin, ["--database", db, "serve", "--listen", "127.0.0.1:0"], {
    stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, RUST_LOG: "warn" },
  });
  const lines = createInterface({ input: proc.stdout! });
  for await (const line of lines) {
    const m = /^prosody-admin listening on (\S+)/.exec(line);
    if (m) {
      lines.on("line", () => {}); // keep draining
      return { proc, url: m[1], token: readFileSync(join(dir, "admin-token"), "utf8").trim(), db };
    }
  }
  throw new Error("prosody-admin exited before listening");
}

test("scenario through the generated TypeScript client", async () => {
  const s = await start();
  try {
    execFileSync(bin, ["--database", s.db, "user", "add", "dana"], { input: "secret\n" });
    const cfg = new Configuration({ basePath: s.url, accessToken: s.token });
    const users = new UserApi(cfg), groups = new GroupApi(cfg), invites = new InviteApi(cfg);

    assert.equal((await new ServerApi(cfg).getServerInfo()).siteName, "localhost");
    const g = await groups.createGroup({ newGroup: { name: "TS team" } });
    assert.equal(g.id.length, 12);
    await groups.addGroupMember({ id: g.id, username: "dana" });
    assert.deepEqual((await groups.getGroupById({ id: g.id })).members, ["dana"]);
    assert.deepEqual(await users.getUserGroups({ username: "dana" }), [g.id]);

    const inv = await invites.createInviteForAccount({ newAccountInvite: { groups: [g.id] } });
    assert.equal(inv.token, inv.id);
    assert.match(inv.uri, /^xmpp:localhost\?register;preauth=/);
    const got = await invites.getInviteById({ id: inv.id });
    assert.equal(got.createdAt, inv.createdAt);

    const u = await users.updateUser({ username: "dana", body: { displayName: "Dana", roles: ["custom:role"] } });
    assert.equal(u.displayName, "Dana");
    // A new database has Prosody 13's layout: roles include the primary role in effect.
    assert.deepEqual((await users.getUserByName({ username: "dana" })).roles, ["custom:role", "prosody:registered"]);

    // The later module's operations.
    const off = await users.patchUser({ username: "dana", body: { enabled: false } });
    assert.equal(off.enabled, false);
    assert.equal((await users.patchUser({ username: "dana", body: { enabled: true } })).enabled, true);
    assert.equal((await users.updateUser({ username: "dana", body: { role: "prosody:member" } })).role, "prosody:member");
    await groups.updateGroup({ id: g.id, body: { name: "TS team 2" } });
    const chat = await groups.createGroupChat({ id: g.id, body: { name: "TS side" } });
    assert.equal(chat.jid, `${chat.id}@groups.localhost`);
    const renamed = await groups.getGroupById({ id: g.id });
    assert.equal(renamed.name, "TS team 2");
    assert.deepEqual(renamed.chats?.map((c) => c.name), ["TS side"]);
    await groups.deleteGroupChat({ id: g.id, chatId: chat.id });
    const later = await invites.createInviteForAccount({
      newAccountInvite: { ttl: "3600", roles: ["prosody:member"], note: "for TS" },
    });
    assert.equal(later.expires - later.createdAt, 3600);
    assert.deepEqual([later.roles, later.note], [["prosody:member"], "for TS"]);
    await invites.deleteInvite({ id: later.id });
    const server = new ServerApi(cfg);
    assert.equal((await server.getServerMetrics()).users?.active30d, 0);
    const sent = await server.postServerAnnouncement({ body: { body: "Hello from TS", recipients: ["dana@localhost"] } });
    assert.deepEqual([sent.sentLive, sent.storedOffline], [0, 1]);

    await invites.deleteInvite({ id: inv.id });
    await groups.deleteGroup({ id: g.id });
    await users.deleteUser({ username: "dana" });

    await assert.rejects(users.getUserByName({ username: "dana" }), (e: unknown) =>
      e instanceof ResponseError && e.response.status === 404);
    const anon = new UserApi(new Configuration({ basePath: s.url, accessToken: "garbage" }));
    await assert.rejects(anon.listUsers(), (e: unknown) =>
      e instanceof ResponseError && e.response.status === 401 &&
      e.response.headers.get("www-authenticate") === 'Bearer realm="localhost/admin_api"');
  } finally {
    s.proc.kill("SIGTERM");
  }
});
