import { spawnSync } from "node:child_process";
import { cpSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  auditSummary,
  createAppContext,
  importVulnData,
  scan,
} from "../../src/app/index.js";
import { tempDir } from "../support/tmp.js";
import { offlineBuild, REQUESTS_2_28_1 } from "./offline-build.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");

/**
 * The audit trail's "N vulnerability assessment gaps" counts every scanned image with packages
 * that could not be assessed; "0 gaps" only when every package of every scanned image was
 * assessed; and with nothing scanned it says so, not "0 gaps".
 */
describe("audit trail: vulnerability assessment gaps", () => {
  let home: string;
  let ctx: AppContext;

  const trail = (h: string): string => {
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", MAIN, "--audit-trail", "--from=2020-01-01", "--to=2099-12-31"],
      { encoding: "utf8", env: { ...process.env, CLEANIMG_HOME: h } },
    );
    expect(r.status, r.stderr).toBe(0);
    return r.stdout;
  };
  const copyOf = (h: string): string => {
    const c = tempDir("cleanimg-negative-audit-copy-");
    rmSync(c, { recursive: true, force: true });
    cpSync(h, c, { recursive: true });
    return c;
  };

  beforeAll(async () => {
    home = tempDir("cleanimg-negative-audit-");
    ctx = createAppContext({ home, env: { SOURCE_DATE_EPOCH: "1700000000" } });
    await importVulnData(ctx, [join(VULNDB, "pypi-osv.jsonl.gz")]);
  }, 300_000);

  it("says that nothing was scanned instead of printing 0 gaps", async () => {
    const out = trail(home);
    expect(out).not.toMatch(/0 vulnerability assessment gaps/);
    expect(out).toMatch(/- no image was scanned in this window/);
    const { summary } = await auditSummary(ctx);
    expect(summary.imagesScanned).toBe(0);
  });

  it("prints 0 gaps only when every package of every scanned image was assessed", async () => {
    await offlineBuild(
      ctx,
      "image: req:1.0.0\nfiles:\n  - src: site/\n    dst: /usr/local/lib/python3.11/dist-packages/\n",
      REQUESTS_2_28_1,
    );
    await scan(ctx, "req:1.0.0");
    expect(trail(copyOf(home))).toMatch(
      /- 0 vulnerability assessment gaps \(1 images scanned, 1 with every package assessed and a VEX\)/,
    );
  });

  it("counts a scanned image with packages the database could not assess as a gap", async () => {
    // an npm package: this database has no npm data
    await offlineBuild(
      ctx,
      "image: node:1.0.0\nfiles:\n  - src: node_modules/\n    dst: /usr/lib/node_modules/\n",
      {
        "node_modules/left-pad/package.json": JSON.stringify({
          name: "left-pad",
          version: "1.3.0",
        }),
      },
    );
    const r = await scan(ctx, "node:1.0.0");
    expect(r.unassessed.reduce((n, u) => n + u.packages, 0)).toBeGreaterThan(0);
    const { summary } = await auditSummary(ctx);
    expect(summary.assessmentGaps).toEqual([
      expect.objectContaining({ name: "node:1.0.0", unassessedPackages: 1 }),
    ]);
    expect(summary.imagesScanned).toBe(2);
    expect(summary.imagesAssessed).toBe(1);
    const out = trail(home);
    expect(out).toMatch(/- 1 vulnerability assessment gaps \(2 images scanned, 1 with every/);
    expect(out).toMatch(/node:1\.0\.0: 1 packages could not be assessed/);
  });
});
