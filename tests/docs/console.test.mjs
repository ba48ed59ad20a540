// The web console in Debian's Chromium (playwright-core, pinned), on a server of two
// VirtualHosts (Prosody's config, SQLite): sign in with a password (a wrong one first),
// a hostile display name shown verbatim, search, disable a user, an invite whose QR
// code is read back from the page (jsQR), a group with a member, the audit log
// filtered, the server page, the host switcher, sign-out revoking the token, phone
// width. Screenshots of each page go to docs/ (the README shows them). No CSP
// violation, no request outside the server, nothing in storage.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";
import jsQR from "jsqr";

const bin = resolve(process.env.PROSODY_ADMIN_BIN ?? "../../target/debug/prosody-admin");
const browserPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const shots = resolve("../../docs");
const HOSTILE = `<img src=x onerror="window.pwned=1">"'&amp;<script>window.pwned=2</script>`;

// The accounts are made with the CLI on the database the config names (which the
// first command creates, as Prosody would at its first start).
function cli(db, host, args, stdin) {
  return execFileSync(bin, ["--database", db, "--host", host, ...args], {
    input: stdin ?? "",
    env: { ...process.env, RUST_LOG: "warn" },
  }).toString();
}

async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), "prosody-admin-console-"));
  const cfg = join(dir, "prosody.cfg.lua");
  writeFileSync(
    cfg,
    `data_path = "${dir}"
storage = "sql"
sql = { driver = "SQLite3", database = "prosody.sqlite" }
http_default_host = "a.example"
VirtualHost "a.example"
VirtualHost "b.example"
`,
  );
  for (const [host, users] of [
    ["a.example", ["boss", "bob", "bobby", "eve"]],
    ["b.example", ["boss", "carol"]],
  ]) {
    for (const u of users) cli(join(dir, "prosody.sqlite"), host, ["user", "add", u], `${u} password\n`);
    cli(join(dir, "prosody.sqlite"), host, ["user", "role", "boss", "prosody:admin"]);
  }
  const proc = spawn(bin, ["--prosody-config", cfg, "serve", "--listen", "127.0.0.1:0"], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, RUST_LOG: "warn" },
  });
  const lines = createInterface({ input: proc.stdout });
  const base = await new Promise((resolve, reject) => {
    lines.on("line", (l) => {
      const m = l.match(/listening on (\S+)/);
      if (m) resolve(m[1]);
    });
    proc.on("exit", (c) => reject(new Error(`server exited ${c}`)));
  });
  return { proc, base };
}

async function signInApi(base, user, password, host) {
  const r = await fetch(`${base}/console/session`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(host ? { "X-Prosody-Host": host } : {}) },
    body: JSON.stringify({ username: user, password }),
  });
  assert.equal(r.status, 201, await r.clone().text());
  return (await r.json()).token;
}

async function call(base, token, method, path, body) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, body: r.status === 204 ? null : await r.json() };
}

/** The QR code drawn on a canvas, decoded from its pixels. */
async function readQr(page, selector) {
  const { data, width, height } = await page.$eval(selector, (c) => {
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height);
    return { data: Array.from(d.data), width: d.width, height: d.height };
  });
  const code = jsQR(Uint8ClampedArray.from(data), width, height);
  assert.ok(code, "the QR code decodes");
  return code.data;
}

test("console: sign in, users, invites with QR, groups, audit, hosts, sign out", async () => {
  assert.ok(existsSync(browserPath), `${browserPath} missing: make test installs Debian's chromium`);
  const { proc, base } = await startServer();
  const browser = await chromium.launch({ executablePath: browserPath, args: ["--no-sandbox"] });
  mkdirSync(shots, { recursive: true });
  try {
    // The hostile display name, set through the API beforehand.
    const setup = await signInApi(base, "boss", "boss password");
    assert.equal((await call(base, setup, "PUT", "/users/eve", { display_name: HOSTILE })).status, 200);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems = [];
    const tokens = new Map();
    page.on("console", (m) => {
      if (m.type() === "error" && !/status of 40[13]/.test(m.text())) problems.push(m.text());
    });
    page.on("pageerror", (e) => problems.push(String(e)));
    // A request the server answered whose empty body the client never reads (a void
    // operation) is reported "aborted" later: answered is not failed.
    const answered = new Set();
    page.on("response", (r) => answered.add(r.request()));
    page.on("requestfailed", (r) => {
      if (!answered.has(r)) problems.push(`failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
    });
    page.on("request", (r) => {
      assert.ok(r.url().startsWith(base.replace(/\/admin_api$/, "")), `a request outside the server: ${r.url()}`);
      const a = r.headers()["authorization"];
      if (a) tokens.set(a.replace(/^Bearer /, ""), r.headers()["x-prosody-host"] ?? "a.example");
    });
    page.on("dialog", (d) => d.accept());
    if (process.env.DEBUG_CONSOLE) {
      page.on("request", (r) => console.log(`request ${Date.now() % 100000} ${r.method()} ${r.url()}`));
      page.on("requestfinished", (r) => console.log(`finished ${Date.now() % 100000} ${r.method()} ${r.url()}`));
    }

    // The first load's budget: page, script and style sheet under 300 KB.
    let bytes = 0;
    for (const f of ["", "app.js", "app.css"]) bytes += (await (await fetch(`${base}/console/${f}`)).arrayBuffer()).byteLength;
    assert.ok(bytes < 300 * 1024, `the console's first load is ${bytes} bytes`);

    await page.goto(`${base}/console/`);
    await page.waitForSelector("#signin");
    await page.screenshot({ path: join(shots, "console-signin.png") });
    // A wrong password: told so, still signed out.
    await page.fill("#signin input[name=username]", "boss");
    await page.fill("#signin input[name=password]", "not it");
    await page.click("#signin button[type=submit]");
    await page.waitForSelector(".notice.error");
    assert.match(await page.innerText(".notice"), /Wrong username or password/);
    await page.fill("#signin input[name=password]", "boss password");
    await page.click("#signin button[type=submit]");
    await page.waitForSelector("table.users");
    assert.match(await page.innerText("header"), /boss@a\.example/);

    // Users: the hostile name verbatim, nothing of it ran.
    const eve = page.locator('tr[data-user="eve"] td').nth(1);
    assert.equal(await eve.innerText(), HOSTILE);
    assert.equal(await page.evaluate(() => window.pwned), undefined);
    assert.equal(await page.locator("table.users img, table.users script").count(), 0);
    await page.screenshot({ path: join(shots, "console-users.png") });

    // Search.
    await page.fill("input[name=search]", "bob");
    await page.waitForFunction(() => document.querySelectorAll("table.users tbody tr").length === 2);
    const found = await page.locator("table.users tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.user));
    assert.deepEqual(found.sort(), ["bob", "bobby"]);

    // Disable bob.
    await page.click('tr[data-user="bob"] button');
    await page.waitForSelector('[data-detail="bob"]');
    await page.click('[data-detail="bob"] button:has-text("Disable")');
    await page.waitForSelector('[data-detail="bob"] button:has-text("Enable")');
    assert.equal((await call(base, setup, "GET", "/users/bob")).body.enabled, false);
    await page.screenshot({ path: join(shots, "console-user.png"), fullPage: true });

    // An invite, and its QR code read back.
    await page.click('nav a[href="#invites"]');
    await page.fill("input[name=username]", "newbie");
    await page.fill("input[name=note]", "for the new colleague");
    await page.click('form button[type=submit]:has-text("Create invite")');
    await page.waitForSelector(".created canvas.qr");
    const decoded = await readQr(page, ".created canvas.qr");
    const invites = (await call(base, setup, "GET", "/invites")).body;
    const invite = invites.find((i) => i.jid === "newbie@a.example");
    assert.ok(invite, JSON.stringify(invites));
    assert.equal(decoded, invite.landing_page ?? invite.uri);
    assert.match(decoded, new RegExp(invite.token));
    await page.waitForSelector(`tr[data-invite="${invite.id}"]`);
    await page.screenshot({ path: join(shots, "console-invites.png"), fullPage: true });

    // A group with a member.
    await page.click('nav a[href="#groups"]');
    // The invites page has a group_name field too: wait for the groups page to replace it.
    await page.waitForSelector('h2:has-text("Groups")');
    await page.fill("input[name=group_name]", "Team <b>red</b>");
    await page.click('button:has-text("Create group")');
    await page.waitForSelector("[data-detail] input[name=member]");
    await page.fill("[data-detail] input[name=member]", "bobby");
    await page.click('[data-detail] button:has-text("Add")');
    await page.waitForSelector('[data-detail] ul.members li:has-text("bobby")');
    const groups = (await call(base, setup, "GET", "/groups")).body;
    const team = groups.find((g) => g.name === "Team <b>red</b>");
    assert.ok(team && team.members.includes("bobby"), JSON.stringify(groups));
    assert.equal(await page.locator("[data-detail] h3").innerText(), "Team <b>red</b>");
    await page.screenshot({ path: join(shots, "console-groups.png"), fullPage: true });

    // The audit log, filtered by operation.
    await page.click('nav a[href="#audit"]');
    await page.waitForSelector("table.audit");
    await page.fill("input[name=operation]", "patchUser");
    await page.click('button:has-text("Filter")');
    await page.waitForFunction(() =>
      [...document.querySelectorAll("table.audit tbody tr td:nth-child(3)")].every((td) => td.textContent === "patchUser"),
    );
    const targets = await page.locator("table.audit tbody tr td:nth-child(4)").allInnerTexts();
    assert.deepEqual(targets, ["PATCH /admin_api/users/bob"]);
    await page.screenshot({ path: join(shots, "console-audit.png"), fullPage: true });

    // The server page.
    await page.click('nav a[href="#server"]');
    await page.waitForSelector("dl dd");
    await page.waitForSelector("canvas.chart");
    await page.screenshot({ path: join(shots, "console-server.png"), fullPage: true });

    // Phone width: nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.click('nav a[href="#users"]');
    await page.waitForSelector("table.users");
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1));
    await page.screenshot({ path: join(shots, "console-phone.png") });
    await page.setViewportSize({ width: 1280, height: 900 });

    // The other host: a sign-in of its own; its accounts, not a.example's.
    await page.selectOption("select[name=host]", "b.example");
    await page.waitForSelector("#signin");
    assert.match(await page.innerText("main h2"), /b\.example/);
    await page.fill("#signin input[name=username]", "boss");
    await page.fill("#signin input[name=password]", "boss password");
    await page.click("#signin button[type=submit]");
    await page.waitForSelector('tr[data-user="carol"]');
    assert.equal(await page.locator('tr[data-user="bob"]').count(), 0);
    assert.match(await page.innerText("header"), /boss@b\.example/);

    // A token revoked elsewhere (or expired): the next call signs the page out.
    const bToken = [...tokens].find(([, h]) => h === "b.example")[0];
    const revoked = await fetch(`${base}/console/session`, {
      method: "DELETE",
      headers: { Authorization: `Bearer ${bToken}`, "X-Prosody-Host": "b.example" },
    });
    assert.equal(revoked.status, 204);
    await page.click('nav a[href="#groups"]');
    await page.waitForSelector("#signin");
    assert.match(await page.innerText(".notice"), /session ended/);
    await page.fill("#signin input[name=username]", "boss");
    await page.fill("#signin input[name=password]", "boss password");
    await page.click("#signin button[type=submit]");
    await page.waitForSelector("nav a");

    // Nothing kept where it outlives the page; no token in the URL.
    const kept = await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie]);
    assert.deepEqual(kept, [0, 0, ""]);
    for (const t of tokens.keys()) assert.ok(!page.url().includes(t));

    // Sign out (b.example, then back to a.example and out): both tokens revoked.
    await page.click("#signout");
    await page.waitForSelector("#signin");
    await page.selectOption("select[name=host]", "a.example");
    await page.waitForSelector("#signout");
    await page.click("#signout");
    await page.waitForSelector("#signin");
    tokens.delete(setup);
    assert.equal(tokens.size, 3, "a token per sign-in: a.example's, b.example's twice");
    for (const [t, host] of tokens) {
      const r = await fetch(`${base}/users`, { headers: { Authorization: `Bearer ${t}`, "X-Prosody-Host": host } });
      assert.equal(r.status, 401, `a signed-out token of ${host} still works`);
    }
    assert.deepEqual(problems, [], "no CSP violation, script error or failed request");
  } finally {
    await browser.close();
    proc.kill("SIGTERM");
  }
});
