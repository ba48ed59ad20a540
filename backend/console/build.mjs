// Builds the console into backend/assets/console/ (committed; `cargo build` needs no
// Node): type-checks src/ against the TypeScript client generated from the contract
// (so a contract change that breaks the console breaks this build), then bundles and
// minifies with esbuild. The same inputs give the same bytes (the drift test rebuilds
// and compares).
//
//   node build.mjs [--client DIR] [--out DIR]
//
// --client: the generated typescript-fetch client (default ../../clients/typescript,
// written by `make clients`); --out: where the three files go.

import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? resolve(process.argv[i + 1]) : fallback;
};
const client = arg("--client", resolve(here, "../../clients/typescript"));
const out = arg("--out", resolve(here, "../assets/console"));

// The type check, against this client.
const tsconfig = join(here, "tsconfig.build.json");
writeFileSync(
  tsconfig,
  JSON.stringify({
    extends: "./tsconfig.json",
    compilerOptions: { paths: { client: [relative(here, join(client, "index.ts"))] } },
  }),
);
let typed = true;
try {
  execFileSync(process.execPath, [join(here, "node_modules/typescript/bin/tsc"), "-p", tsconfig], {
    stdio: "inherit",
  });
} catch {
  typed = false;
}
rmSync(tsconfig, { force: true });
if (!typed) {
  console.error("console: the type check failed (against the client in " + client + ")");
  process.exit(1);
}

mkdirSync(out, { recursive: true });
const common = { bundle: true, minify: true, legalComments: "eof", logLevel: "warning", charset: "utf8" };
await esbuild.build({
  ...common,
  entryPoints: [join(here, "src/main.ts")],
  outfile: join(out, "app.js"),
  format: "iife",
  target: "es2020",
  alias: { client: join(client, "index.ts") },
});
await esbuild.build({ ...common, entryPoints: [join(here, "src/app.css")], outfile: join(out, "app.css") });
copyFileSync(join(here, "src/index.html"), join(out, "index.html"));
for (const f of ["index.html", "app.js", "app.css"]) {
  console.log(`${f}: ${readFileSync(join(out, f)).length} bytes`);
}
