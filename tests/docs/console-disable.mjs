// Used by tests/interop/test_prosody.py against a real Prosody 13: in Chromium, signs in
// to the console at BASE with USERNAME/PASSWORD, opens TARGET and disables it, then
// waits until the console shows the account disabled. Exit status 0 on success.
import { chromium } from "playwright-core";

const { BASE, USERNAME, PASSWORD, TARGET } = process.env;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
try {
  const page = await browser.newPage();
  page.on("pageerror", (e) => {
    console.error(String(e));
    process.exitCode = 1;
  });
  await page.goto(`${BASE}/console/`);
  await page.fill("#signin input[name=username]", USERNAME);
  await page.fill("#signin input[name=password]", PASSWORD);
  await page.click("#signin button[type=submit]");
  await page.waitForSelector(`tr[data-user="${TARGET}"] button`);
  await page.click(`tr[data-user="${TARGET}"] button`);
  // Online now: the live path's sessions are listed.
  await page.waitForSelector(`[data-detail="${TARGET}"] h4:has-text("Online now")`);
  await page.click(`[data-detail="${TARGET}"] button:has-text("Disable")`);
  await page.waitForSelector(`[data-detail="${TARGET}"] button:has-text("Enable")`);
  console.log("disabled");
} finally {
  await browser.close();
}
