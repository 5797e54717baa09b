import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { createAppContext } from "../../src/app/index.js";
import { tempDir } from "../support/tmp.js";
import { offlineBuild, REQUESTS_2_28_1 } from "./offline-build.js";

/**
 * Wrong exit code and error code corrected: a scan on an empty vulnerability database is an
 * operational failure (the input the answer depends on is missing: exit 3, VULN_DB_EMPTY, as
 * docs/cli.md says), not a usage error (exit 2, CORE_INVALID_ARGUMENT), and nothing is recorded.
 */
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const TSX = pathToFileURL(
  resolve(import.meta.dirname, "../../node_modules/tsx/dist/loader.mjs"),
).href;

describe("a scan on an empty vulnerability database", () => {
  let home: string;
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ["--import", TSX, MAIN, ...args], {
      encoding: "utf8",
      env: { ...process.env, CLEANIMG_HOME: home, SOURCE_DATE_EPOCH: "1700000000" },
    });
  beforeAll(async () => {
    home = tempDir("cleanimg-neg-empty-db-");
    const ctx = createAppContext({ home, env: { SOURCE_DATE_EPOCH: "1700000000" } });
    await offlineBuild(
      ctx,
      "image: req:1.0.0\nfiles:\n  - src: site/\n    dst: /usr/local/lib/python3.11/dist-packages/\n",
      REQUESTS_2_28_1,
    );
    await ctx.close();
  }, 300_000);

  it("exits 3 with VULN_DB_EMPTY, says how to fix it, and records no scan", () => {
    const r = cli("scan", "req:1.0.0");
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/vulnerability database is empty/);
    expect(r.stderr).toMatch(/db import/);
    const j = cli("--json", "scan", "req:1.0.0");
    expect(j.status).toBe(3);
    expect(JSON.parse(j.stderr || j.stdout).error.code).toBe("VULN_DB_EMPTY");
    const ls = cli("--json", "evidence", "ls", "--kind", "scan");
    expect(ls.status, ls.stderr).toBe(0);
    expect(JSON.parse(ls.stdout)).toEqual([]);
  }, 120_000);
});
