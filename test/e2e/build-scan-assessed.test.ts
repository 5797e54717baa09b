import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { buildImage, createAppContext, importVulnData, scan } from "../../src/app/index.js";
import { tempDir } from "../support/tmp.js";

/**
 * Build, then scan: every Debian package of a built image is assessed when the database holds
 * its release's data. The corpus's Debian data (DSA/DLA lists up to 2023-03) covers Debian 11, so
 * the image is built from the real bullseye archive, with no base-files: its /etc/os-release is
 * generated from the archive's signed Release, and that alone must make every package assessable.
 */
const CACHE = resolve(import.meta.dirname, "../../.cache/build-cache");
const CORPUS = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");

describe("a built image scans itself", () => {
  it("assesses every Debian package (0 unassessed) against its release's data", async () => {
    const dir = tempDir("cleanimg-assessed-ctx-");
    writeFileSync(
      join(dir, "cleanimg.yaml"),
      [
        "image: bullseye-app:1.0.0",
        "archive:",
        "  suite: bullseye",
        "packages: [curl, ca-certificates, openssl]",
        "",
      ].join("\n"),
    );
    const ctx = createAppContext({
      home: tempDir("cleanimg-assessed-home-"),
      env: { CLEANIMG_CACHE: CACHE, SOURCE_DATE_EPOCH: "1700000000" },
    });
    try {
      const built = await buildImage(ctx, { spec: join(dir, "cleanimg.yaml") });
      await importVulnData(ctx, [
        join(CORPUS, "debian-dsa-osv.jsonl.gz"),
        join(CORPUS, "debian-dla-osv.jsonl.gz"),
      ]);
      const r = await scan(ctx, "bullseye-app:1.0.0");
      const debs = r.sbom.packages.filter((p) => p.type === "deb");
      expect(built.image.digest).toMatch(/^sha256:/);
      expect(r.sbom.distro).toMatchObject({ id: "debian", versionId: "11" });
      expect(debs.length).toBeGreaterThan(20);
      expect(r.unassessed).toEqual([]);
      expect(r.issues.filter((i) => i.code.startsWith("VULN_"))).toEqual([]);
      // assessed, not skipped: the packages were looked up (the openssl source has DSA/DLA
      // records in the corpus, all fixed below bullseye's current version)
      expect(debs.map((p) => p.source?.name ?? p.name)).toContain("openssl");
      expect(r.findings.filter((f) => f.status === "unknown")).toEqual([]);
      // and the scan names the release's support state from distro-info-data (Debian LTS for
      // bullseye ended 2026-08-31)
      const lts = Date.parse("2026-08-31T23:59:59Z");
      expect(r.distroSupport?.state).toBe(
        Date.now() > lts ? "end of life" : "regular support ended",
      );
    } finally {
      await ctx.close();
    }
  }, 600_000);
});
