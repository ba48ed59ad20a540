// The console's bench rows (bench/run.py): in Debian's Chromium (playwright-core from
// tests/docs), a fresh browser context per run (nothing cached): navigation to the
// console, a pasted token, until the first page of users is rendered. Prints JSON:
// the first load's bytes (page, script, style sheet, as transferred) and each run's
// milliseconds.
//
//   BASE=http://127.0.0.1:PORT/admin_api TOKEN=... RUNS=5 node bench/console.mjs
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const { chromium } = createRequire(join(here, "../tests/docs/package.json"))("playwright-core");
const { BASE, TOKEN } = process.env;
const runs = Number(process.env.RUNS ?? "5");
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
const out = { bytes: 0, files: {}, ms: [] };
try {
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const sizes = {};
    page.on("response", async (r) => {
      const url = new URL(r.url());
      if (url.pathname.includes("/console/")) {
        sizes[url.pathname] = (await r.body()).length + JSON.stringify(await r.allHeaders()).length;
      }
    });
    const t0 = performance.now();
    await page.goto(`${BASE}/console/`);
    await page.fill("#paste input[name=token]", TOKEN);
    await page.click("#paste button[type=submit]");
    await page.waitForFunction(() => document.querySelectorAll("table.users tbody tr").length === 50);
    out.ms.push(performance.now() - t0);
    if (i === 0) {
      await page.waitForLoadState("networkidle");
      out.files = sizes;
      out.bytes = Object.values(sizes).reduce((a, b) => a + b, 0);
    }
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
