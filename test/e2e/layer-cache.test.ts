import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createAppContext, generateSbom } from "../../src/app/index.js";
import { OciError } from "../../src/core/errors.js";
import { buildImageLayout } from "../support/build-image.js";
import { fetchDebs } from "../support/debs.js";
import { expectToolError } from "../support/errors.js";
import { tempDir } from "../support/tmp.js";

describe("layer catalog cache", () => {
  it("catalogues a base layer shared by two images once", async () => {
    const base = {
      kind: "debs" as const,
      debs: fetchDebs(["base-files", "python3-six", "python3-idna"]),
    };
    const a = await buildImageLayout({
      dir: join(tempDir(), "a"),
      tag: "a",
      layers: [base, { kind: "files", files: [{ name: "a.txt", type: "file", body: "a" }] }],
    });
    const b = await buildImageLayout({
      dir: join(tempDir(), "b"),
      tag: "b",
      layers: [base, { kind: "files", files: [{ name: "b.txt", type: "file", body: "b" }] }],
    });
    expect(a.diffIds[0]).toBe(b.diffIds[0]);
    const home = tempDir();
    const ctx = createAppContext({ home, env: {} });
    const first = await generateSbom(ctx, `oci:${a.dir}:a`, { created: new Date(0) });
    // B's copy of the shared base layer is gone: only the cache can provide what it holds
    rmSync(join(b.dir, "blobs/sha256", (b.layerDigests[0] as string).slice(7)));
    await expectToolError(
      generateSbom(ctx, `oci:${b.dir}:b`, { created: new Date(0), layerCache: false }),
      "OCI_BLOB_UNKNOWN",
      OciError,
    );
    const second = await generateSbom(ctx, `oci:${b.dir}:b`, { created: new Date(0) });
    const names = (r: typeof first) =>
      r.sbom.packages.map((p) => `${p.type} ${p.name} ${p.version}`).sort();
    expect(names(second)).toEqual(names(first));
    expect(names(second).length).toBeGreaterThan(3);
    // the cached reading is stored as such, linked to the layer's diff id
    const links = await ctx
      .evidence()
      .find({ subject: a.diffIds[0] as never, kind: "layer-catalog-cache" });
    expect(links).toHaveLength(1);
    await ctx.close();
  });
});
