import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { createAppContext, importVulnData, scan } from "../../src/app/index.js";
import { compareVersions } from "../../src/versions/index.js";
import { tempDir } from "../support/tmp.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");

/**
 * "Fixed in" names the release that fixes the installed version, never a fix of another release
 * line: Django 3.2.4 under PYSEC-2021-109 (fixed in 3.1.13 for 3.1.x and in 3.2.5 for 3.2.x) was
 * reported as fixed in 3.1.13, a version below the one installed, telling the reader to
 * downgrade. Real records from the corpus, a real requirements file layout.
 */
describe("fixed-in of a finding", () => {
  it("is the lowest fix above the installed version, in its ecosystem's order", async () => {
    const dir = tempDir("cleanimg-fixedin-");
    mkdirSync(join(dir, "app"));
    writeFileSync(
      join(dir, "app", "requirements.txt"),
      "Django==3.2.4\nurllib3==1.26.4\nWerkzeug==2.0.1\n",
    );
    const ctx = createAppContext({ home: tempDir("cleanimg-fixedin-home-"), env: {} });
    try {
      await importVulnData(ctx, [join(VULNDB, "pypi-osv.jsonl.gz")]);
      const r = await scan(ctx, `dir:${dir}`, { record: false, created: new Date(0) });
      const django = r.findings.find(
        (f) => f.id === "PYSEC-2021-109" && f.package.name === "Django",
      );
      expect(django?.fixedIn).toBe("3.2.5");
      const below = r.findings
        .filter((f) => f.fixedIn && compareVersions("PyPI", f.package.version, f.fixedIn) >= 0)
        .map((f) => `${f.id} ${f.package.name} ${f.package.version} fixed in ${f.fixedIn}`);
      expect(below).toEqual([]);
      expect(r.findings.filter((f) => f.fixedIn).length).toBeGreaterThan(20);
    } finally {
      await ctx.close();
    }
  });
});
