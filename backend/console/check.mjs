// The console's drift check (make test-console):
// 1. the committed build (backend/assets/console/) is what a rebuild from the sources
//    and the client generated from the current contract gives, byte for byte;
// 2. a contract that loses a field the console reads (User.display_name) fails the
//    console's build: the client generated from it no longer type-checks with it.
//
//   GENERATOR=<openapi-generator-cli> node check.mjs

import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const tmp = mkdtempSync(join(tmpdir(), "console-check-"));
let failed = false;

// 1. Rebuild and compare.
execFileSync(process.execPath, [join(here, "build.mjs"), "--out", join(tmp, "out")], { stdio: "inherit" });
for (const f of ["index.html", "app.js", "app.css"]) {
  const committed = readFileSync(join(repo, "backend/assets/console", f));
  const rebuilt = readFileSync(join(tmp, "out", f));
  if (!committed.equals(rebuilt)) {
    console.error(`backend/assets/console/${f} differs from a rebuild: run make console and commit it`);
    failed = true;
  }
}

// 2. A contract without User.display_name.
const spec = readFileSync(join(repo, "api-spec/openapi.yaml"), "utf8").split("\n");
const user = spec.indexOf("    User:");
const field = spec.findIndex((l, i) => i > user && l === "        display_name:");
if (user < 0 || field < 0) throw new Error("User.display_name not found in the spec");
let end = field + 1;
while (end < spec.length && (spec[end].startsWith("          ") || spec[end].trim() === "")) end++;
spec.splice(field, end - field);
writeFileSync(join(tmp, "openapi.yaml"), spec.join("\n"));
const generator = process.env.GENERATOR ?? join(repo, ".tools/venv/bin/openapi-generator-cli");
execFileSync(generator, ["generate", "-g", "typescript-fetch", "-i", join(tmp, "openapi.yaml"), "-o", join(tmp, "client")], {
  stdio: "ignore",
});
const broken = spawnSync(
  process.execPath,
  [join(here, "build.mjs"), "--client", join(tmp, "client"), "--out", join(tmp, "broken")],
  { encoding: "utf8" },
);
const said = broken.stdout + broken.stderr;
if (broken.status === 0 || !/displayName/.test(said)) {
  console.error(`the console built against a contract without User.display_name (status ${broken.status}):\n${said}`);
  failed = true;
} else {
  console.log("a contract without User.display_name breaks the console's build, as it should:");
  console.log(said.split("\n").filter((l) => l.includes("displayName"))[0]);
}
process.exit(failed ? 1 : 0);
