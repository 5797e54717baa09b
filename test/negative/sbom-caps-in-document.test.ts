import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { cycloneDxValidator } from "../support/schemas.js";
import { tempDir } from "../support/tmp.js";

/**
 * Negative test: a file the catalogers could not read (here a jar over the 64 MiB limit for
 * files read whole) was named only on stderr; the CycloneDX document itself looked complete, so
 * whoever reads the SBOM later could not tell that a part of the image went unexamined. The
 * document now carries each such issue, with the limit it hit, as a metadata property.
 */
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");

describe("an SBOM names what it could not read", { timeout: 120_000 }, () => {
  it("records the jar over the size limit, and the limit, in the CycloneDX metadata", () => {
    const root = tempDir();
    mkdirSync(join(root, "app"));
    const big = join(root, "app", "big.jar");
    writeFileSync(big, "");
    truncateSync(big, 65 * 1024 * 1024); // sparse: no bytes written
    const out = join(tempDir(), "sbom.cdx.json");
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        MAIN,
        "--home",
        tempDir(),
        "sbom",
        `dir:${root}`,
        "--format",
        "cyclonedx-1.6",
        "-o",
        out,
      ],
      { encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(out, "utf8"));
    expect(cycloneDxValidator("1.6")(doc)).toEqual([]);
    const issues = (doc.metadata.properties ?? []).filter(
      (p: { name: string }) => p.name === "cleanimg:issue",
    );
    const about = issues
      .map((p: { value: string }) => p.value)
      .filter((v: string) => v.includes("/app/big.jar"));
    expect(about.length).toBeGreaterThan(0);
    expect(about.join("\n")).toMatch(/67108864|64 MiB/);
  });
});
