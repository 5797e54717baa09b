import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { createAppContext, importVulnData } from "../../src/app/index.js";
import { offlineBuild, REQUESTS_2_28_1 } from "../negative/offline-build.js";
import { tempDir } from "../support/tmp.js";

/** `db status` ages, the `maxDbAge` config key, and the data's age in `--compliance-status`. */
const VULNDB = "/work/shared/corpus/vulndb";
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const TSX = pathToFileURL(
  resolve(import.meta.dirname, "../../node_modules/tsx/dist/loader.mjs"),
).href;
const DAY = 86_400_000;

describe("the vulnerability data's age", () => {
  let home: string;
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ["--import", TSX, MAIN, ...args], {
      encoding: "utf8",
      env: { ...process.env, CLEANIMG_HOME: home, SOURCE_DATE_EPOCH: "1700000000" },
    });
  beforeAll(async () => {
    home = tempDir("cleanimg-fresh-");
    const ctx = createAppContext({ home, env: { SOURCE_DATE_EPOCH: "1700000000" } });
    await importVulnData(ctx, [
      join(VULNDB, "pypi-osv.jsonl.gz"),
      join(VULNDB, "kev/known_exploited_vulnerabilities.json.gz"),
    ]);
    await offlineBuild(
      ctx,
      "image: req:1.0.0\nfiles:\n  - src: site/\n    dst: /usr/local/lib/python3.11/dist-packages/\n",
      REQUESTS_2_28_1,
    );
    await ctx.close();
  }, 300_000);

  it("db status gives each source's age, from its newest record and its import", () => {
    const r = cli("--json", "db", "status");
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.sources.map((s: { source: string }) => s.source).sort()).toEqual([
      "cisa:kev",
      "osv:PYSEC",
    ]);
    for (const s of doc.sources) {
      const now = Date.now();
      // whole days, from the dates the same document shows (a day boundary may pass meanwhile)
      const age = Math.floor((now - Date.parse(s.newestModified)) / DAY);
      expect([age - 1, age]).toContain(s.dataAgeDays);
      expect(s.importedAgeDays).toBe(0);
    }
    const table = cli("db", "status").stdout;
    expect(table).toMatch(
      /osv:PYSEC +\d+ records +newest \S+ \(\d+ days old\) +imported \S+ \(0 days ago\)/,
    );
  }, 60_000);

  it("takes the maximum age from the config's maxDbAge, and --max-db-age over it", () => {
    const age = JSON.parse(cli("--json", "db", "status").stdout).sources.reduce(
      (m: number, s: { dataAgeDays: number }) => Math.min(m, s.dataAgeDays),
      Number.POSITIVE_INFINITY,
    ) as number;
    writeFileSync(join(home, "config.json"), JSON.stringify({ maxDbAge: `${age + 2}d` }));
    const within = cli("scan", "req:1.0.0", "--fail-on-stale");
    expect(within.status, within.stderr).toBe(0);
    const over = cli("scan", "req:1.0.0", "--fail-on-stale", "--max-db-age", "1d");
    expect(over.status).toBe(3);
    writeFileSync(join(home, "config.json"), JSON.stringify({ maxDbAge: "soon" }));
    expect(cli("scan", "req:1.0.0").stderr).toMatch(
      /maxDbAge in config.json "soon" is not a duration/,
    );
    writeFileSync(join(home, "config.json"), "{}");
  }, 120_000);

  it("--compliance-status shows the data's age beside the vulnerability lines", () => {
    expect(cli("scan", "req:1.0.0").status).toBe(0);
    const r = cli("--compliance-status", "--image", "req:1.0.0");
    const lines = r.stdout.split("\n");
    for (const title of [
      "Every vulnerability has a VEX status",
      "No unresolved critical vulnerability",
    ]) {
      expect(lines.find((l) => l.includes(title))).toMatch(
        /vulnerability data built \S+: \d+ days old now, \d+ at the scan \(over the maximum 5 days\)/,
      );
    }
  }, 120_000);
});
