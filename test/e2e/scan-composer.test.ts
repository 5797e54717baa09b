import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { createAppContext, importVulnData, scan } from "../../src/app/index.js";
import { tempDir } from "../support/tmp.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");

describe("PHP packages against the Packagist data", () => {
  it("matches installed Composer packages with GitHub's advisory, in Composer's version order", async () => {
    const root = join(tempDir(), "root");
    const vendor = (app: string, version: string) => {
      mkdirSync(join(root, app, "vendor/composer"), { recursive: true });
      writeFileSync(
        join(root, app, "vendor/composer/installed.json"),
        JSON.stringify({
          packages: [{ name: "typo3/cms-core", version, license: ["GPL-2.0-or-later"] }],
          dev: false,
          "dev-package-names": [],
        }),
      );
    };
    // GHSA-22q7-cg4r-p9mx: affected from 8.0.0 before 8.7.23 and from 9.0.0 before 9.5.4
    vendor("old", "v9.5.3");
    vendor("fixed", "v9.5.4");
    vendor("lts", "8.7.22");
    vendor("rc", "v9.5.4-RC1");
    const ctx = createAppContext({ home: tempDir(), env: {} });
    await importVulnData(ctx, [join(VULNDB, "ghsa-sample-osv.jsonl.gz")]);
    const r = await scan(ctx, `dir:${root}`, { created: new Date(0), record: false });
    await ctx.close();
    const hits = r.findings
      .filter((f) => f.id === "GHSA-22q7-cg4r-p9mx")
      .map((f) => [f.package.version, f.status, f.fixedIn])
      .sort();
    expect(hits).toEqual([
      ["8.7.22", "affected", "8.7.23"],
      ["v9.5.3", "affected", "9.5.4"],
      // a release candidate of the fix comes before the fix
      ["v9.5.4-RC1", "affected", "9.5.4"],
    ]);
    expect(r.findings.find((f) => f.id === "GHSA-22q7-cg4r-p9mx")?.matchedAs.ecosystem).toBe(
      "Packagist",
    );
  });
});
