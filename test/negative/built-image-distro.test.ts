import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  buildImage,
  complianceStatus,
  createAppContext,
  importVulnData,
  openVulnDb,
  scan,
} from "../../src/app/index.js";
import { tempDir } from "../support/tmp.js";

/**
 * Wrong claim corrected: an image `build` made had no /etc/os-release, so its scan assessed none
 * of its Debian packages and read "0 findings" with no VEX. Built from the real bullseye archive
 * and scanned against the corpus's real bullseye advisories (DSA and DLA), every Debian package
 * must be assessed (bullseye's point release is newer than the corpus's fixes, so findings may be
none: then because each package was looked up, not because none was).
 */
const CACHE = resolve(import.meta.dirname, "../../.cache/build-cache");
const CORPUS = "/work/shared/corpus/vulndb";

describe("a built image's scan assesses its Debian packages", () => {
  let ctx: AppContext;
  beforeAll(async () => {
    mkdirSync(CACHE, { recursive: true });
    ctx = createAppContext({
      home: tempDir("cleanimg-neg-distro-"),
      env: { CLEANIMG_CACHE: CACHE, SOURCE_DATE_EPOCH: "1700000000" },
    });
    const dir = tempDir("cleanimg-neg-distro-ctx-");
    writeFileSync(
      join(dir, "cleanimg.yaml"),
      "image: old:1.0.0\narchive:\n  suite: bullseye\npackages: [curl, ca-certificates]\n",
    );
    await buildImage(ctx, { spec: join(dir, "cleanimg.yaml") });
    await importVulnData(ctx, [
      join(CORPUS, "debian-dsa-osv.jsonl.gz"),
      join(CORPUS, "debian-dla-osv.jsonl.gz"),
    ]);
  }, 600_000);
  afterAll(async () => {
    await ctx.close();
  });

  it("leaves no Debian package unassessed and does not call the image clean", async () => {
    const r = await scan(ctx, "old:1.0.0");
    const debs = r.sbom.packages.filter((p) => p.type === "deb");
    expect(debs.length).toBeGreaterThan(20);
    expect(r.unassessed).toEqual([]);
    expect(r.packagesMatched).toBe(debs.length);
    // the data does speak of these packages: the assessment is not vacuous
    const db = openVulnDb(ctx);
    try {
      const curl = debs.find((p) => p.name === "curl");
      expect(db.lookup("Debian:11", curl?.source?.name ?? "curl").length).toBeGreaterThan(0);
    } finally {
      db.close();
    }
    for (const f of r.findings) {
      expect(debs.map((p) => p.purl)).toContain(f.package.purl);
    }
    expect(r.vex.length).toBe(r.findings.length);
  });

  it("names the release as past its end of life in the scan and the status (distro-info-data)", async () => {
    const row = readFileSync("/usr/share/distro-info/debian.csv", "utf8")
      .split("\n")
      .map((l) => l.split(","))
      .find((r) => r[2] === "bullseye") as string[];
    const r = await scan(ctx, "old:1.0.0");
    const lts = row[6] as string;
    expect(r.distroSupport).toMatchObject({ eol: row[5], eolExtended: lts });
    // past the end of LTS (the last of the dates the file gives) or not, as the file says
    const past = Date.parse(`${lts}T23:59:59Z`) < Date.now();
    expect(past).toBe(true);
    expect(r.distroSupport?.state).toBe("end of life");
    expect(r.distroSupport?.detail).toMatch(/bullseye.* is past its end of life/);
    const s = await complianceStatus(ctx, "old:1.0.0");
    const line = s.checks.find((c) => c.id === "critical-vulnerabilities");
    expect(line?.detail).toMatch(/is past its end of life: security support ended/);
  });
});
