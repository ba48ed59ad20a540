// The docs page in Debian's Chromium (driven by playwright-core, pinned): every
// operation of the spec is listed, a token goes in through "Authorize", "Try it out"
// on GET /users shows a 200 with the user list. A screenshot is kept in output/.
// Also: the vendored Swagger UI files are the pinned npm package's, byte for byte.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, mkdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const bin = process.env.PROSODY_ADMIN_BIN ?? "../../target/debug/prosody-admin";
const browserPath = process.env.CHROMIUM ?? "/usr/bin/chromium";

async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), "prosody-admin-docs-"));
  const db = join(dir, "db.sqlite");
  const proc = spawn(bin, ["--database", db, "serve", "--listen", "127.0.0.1:0"], {
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
  const token = readFileSync(join(dir, "admin-token"), "utf8").trim();
  return { proc, base, token };
}

test("vendored Swagger UI is the pinned package", () => {
  for (const f of ["swagger-ui-bundle.js", "swagger-ui.css"]) {
    assert.ok(
      readFileSync(`../../backend/assets/${f}`).equals(readFileSync(`node_modules/swagger-ui-dist/${f}`)),
      `backend/assets/${f} differs from swagger-ui-dist: run make docs-assets`,
    );
  }
});

test("docs page: every operation, Authorize, Try it out", async () => {
  assert.ok(existsSync(browserPath), `${browserPath} missing: make test installs Debian's chromium`);
  const { proc, base, token } = await startServer();
  const browser = await chromium.launch({ executablePath: browserPath, args: ["--no-sandbox"] });
  try {
    const spec = await (await fetch(`${base}/openapi.json`)).json();
    const operations = Object.values(spec.paths).flatMap((item) => Object.keys(item)).length;
    const page = await browser.newPage({ viewport: { width: 1280, height: 2000 } });
    const failed = [];
    page.on("requestfailed", (r) => failed.push(r.url()));
    await page.goto(`${base}/docs`);
    await page.waitForSelector(".opblock");
    assert.equal(await page.locator(".opblock").count(), operations, "every operation is listed");

    await page.click("button.authorize");
    await page.fill(".modal-ux input", token);
    await page.click(".modal-ux button.authorize");
    await page.click(".modal-ux button.btn-done");

    const op = page.locator("#operations-user-listUsers");
    await op.locator(".opblock-summary").click();
    await op.locator("button.try-out__btn").click();
    await op.locator("button.execute").click();
    const status = op.locator(".live-responses-table .response .response-col_status").first();
    await status.waitFor();
    assert.equal((await status.innerText()).trim(), "200");
    const body = await op.locator(".live-responses-table .microlight").first().innerText();
    assert.match(body, /"username": "admin"/);
    mkdirSync("output", { recursive: true });
    await page.screenshot({ path: "output/docs.png", fullPage: false });
    assert.deepEqual(failed, [], "no request of the page failed (nothing from a CDN)");
  } finally {
    await browser.close();
    proc.kill("SIGTERM");
  }
});
