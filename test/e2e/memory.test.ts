import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { buildLargeImage } from "../support/big-image.js";
import { tempDir } from "../support/tmp.js";

describe("memory on big images", () => {
  it("walks every file of a 2 GiB-uncompressed image in under 300 MB RSS", async () => {
    const dir = join(tempDir("cleanimg-big-"), "img");
    // 4 layers x 512 files x 1 MiB = 2 GiB uncompressed
    await buildLargeImage(dir, { layers: 4, filesPerLayer: 512, fileSize: 1024 * 1024 });
    const out = execFileSync(
      process.execPath,
      [
        "--import",
        "tsx",
        resolve(import.meta.dirname, "../support/walk-rss.ts"),
        `oci:${dir}:big`,
        tempDir(),
      ],
      {
        encoding: "utf8",
      },
    );
    const r = JSON.parse(out) as { files: number; bytes: number; maxRss: number };
    expect(r.files).toBe(4 * 513);
    expect(r.bytes).toBe(2 * 1024 ** 3);
    expect(r.maxRss).toBeLessThan(300 * 1024 * 1024);
  }, 300_000);
});
