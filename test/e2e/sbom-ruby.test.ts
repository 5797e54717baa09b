import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createAppContext, generateSbom } from "../../src/app/index.js";
import { buildImageLayout } from "../support/build-image.js";
import { fetchDebs } from "../support/debs.js";
import { tempDir } from "../support/tmp.js";

describe("Ruby gems", () => {
  it("finds the gems Debian's ruby packages install, linked to those packages", async () => {
    const debs = fetchDebs(["ruby-rack", "ruby-json"]);
    // ground truth: rubygems names each installed spec NAME-VERSION.gemspec
    const x = tempDir();
    for (const d of debs) {
      execFileSync("dpkg-deb", ["-x", d, x]);
    }
    const truth = new Set(
      (readdirSync(x, { recursive: true }) as string[])
        .filter((f) => /\/specifications\/[^/]+\.gemspec$/.test(`/${f}`))
        .map((f) => /([^/]+)-(\d[^/-]*)\.gemspec$/.exec(f)?.slice(1, 3).join(" ") ?? f),
    );
    const layout = join(tempDir(), "img");
    await buildImageLayout({
      dir: layout,
      tag: "rb",
      layers: [{ kind: "debs", debs: fetchDebs(["base-files", "ruby-rack", "ruby-json"]) }],
    });
    const ctx = createAppContext({ home: tempDir(), env: {} });
    const r = await generateSbom(ctx, `oci:${layout}:rb`, { record: false, created: new Date(0) });
    await ctx.close();
    const gems = r.sbom.packages.filter((p) => p.type === "gem");
    expect(new Set(gems.map((p) => `${p.name} ${p.version}`))).toEqual(truth);
    const rack = gems.find((p) => p.name === "rack");
    expect(rack?.license).toBe("MIT");
    expect(rack?.purl).toMatch(/^pkg:gem\/rack@/);
    const deb = r.sbom.packages.find((p) => p.name === "ruby-rack");
    expect(r.sbom.relationships).toContainEqual({ from: deb?.id, to: rack?.id, type: "contains" });
  });
});
