// Records every module a process loads, one file URL per line in $STARTUP_PROBE_OUT: ES modules
// as the loader loads them (probe-hooks.mjs), CommonJS modules (the packages core/lazy.ts
// requires, and what they require) from require's cache at exit. Used by test/startup.test.ts.
import { appendFileSync } from "node:fs";
import { createRequire, register } from "node:module";
import { pathToFileURL } from "node:url";

const out = process.env.STARTUP_PROBE_OUT;
register(new URL("./probe-hooks.mjs", import.meta.url), { data: { out } });
process.on("exit", () => {
  const cached = Object.keys(createRequire(import.meta.url).cache);
  appendFileSync(out, cached.map((p) => `${pathToFileURL(p).href}\n`).join(""));
});
