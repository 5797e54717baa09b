import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { gunzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { createAppContext, importVulnData } from "../../src/app/index.js";
import { tempDir } from "../support/tmp.js";
import { offlineBuild, REQUESTS_2_28_1 } from "./offline-build.js";

/**
 * Wrong claim corrected: a scan on vulnerability data years old printed its findings (or "no
 * known vulnerabilities") as if current, with no word of the data's age. The scan records when
 * the data was built (its newest record), warns past the maximum age (5 days by default), and
 * `--fail-on-stale` refuses to scan (exit 3).
 */
const VULNDB = "/work/shared/corpus/vulndb";
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const TSX = pathToFileURL(
  resolve(import.meta.dirname, "../../node_modules/tsx/dist/loader.mjs"),
).href;
const newest = gunzipSync(readFileSync(join(VULNDB, "pypi-osv.jsonl.gz")))
  .toString("utf8")
  .split("\n")
  .filter(Boolean)
  .map((l) => Date.parse((JSON.parse(l) as { modified?: string }).modified ?? ""))
  .filter((t) => !Number.isNaN(t))
  .sort((a, b) => a - b)
  .at(-1) as number;

describe("a scan on old vulnerability data", () => {
  let home: string;
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ["--import", TSX, MAIN, ...args], {
      encoding: "utf8",
      env: { ...process.env, CLEANIMG_HOME: home, SOURCE_DATE_EPOCH: "1700000000" },
    });
  beforeAll(async () => {
    home = tempDir("cleanimg-neg-stale-");
    const ctx = createAppContext({ home, env: { SOURCE_DATE_EPOCH: "1700000000" } });
    await importVulnData(ctx, [join(VULNDB, "pypi-osv.jsonl.gz")]);
    await offlineBuild(
      ctx,
      "image: req:1.0.0\nfiles:\n  - src: site/\n    dst: /usr/local/lib/python3.11/dist-packages/\n",
      REQUESTS_2_28_1,
    );
    await ctx.close();
  }, 300_000);

  it("records the data's build time and warns that it is older than the maximum", () => {
    const r = cli("--json", "scan", "req:1.0.0");
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(Date.parse(doc.dataFreshness.built)).toBe(newest);
    expect(doc.dataFreshness.stale).toBe(Date.now() - newest > 5 * 86_400_000);
    expect(doc.dataFreshness.stale).toBe(true);
    expect(r.stderr).toMatch(/vulnerability data built .* days old, older than the maximum 5 days/);
  }, 60_000);

  it("--fail-on-stale refuses to scan (exit 3), and a maximum the data is within lets it", () => {
    const stale = cli("scan", "req:1.0.0", "--fail-on-stale");
    expect(stale.status, stale.stderr).toBe(3);
    expect(stale.stderr).toMatch(/too old to scan with --fail-on-stale/);
    const days = Math.ceil((Date.now() - newest) / 86_400_000) + 2;
    const ok = cli("scan", "req:1.0.0", "--fail-on-stale", "--max-db-age", `${days}d`);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).not.toMatch(/older than the maximum/);
  }, 60_000);
});
