import { randomBytes } from "node:crypto";
import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { plausibleDeflateStart } from "./rust-audit.js";

describe("the zlib pre-check of the cargo-auditable sniffers", () => {
  it("accepts the start of every stream zlib writes for audit JSON, at every level and size", () => {
    for (const size of [1, 10, 200, 5000]) {
      const json = JSON.stringify({
        packages: Array.from({ length: size }, (_, i) => ({
          name: `crate-${i}`,
          version: `1.${i}.0`,
          source: "crates.io",
        })),
      });
      for (let level = 0; level <= 9; level++) {
        const c = deflateSync(json, { level });
        expect(plausibleDeflateStart(c), `size ${size} level ${level}`).toBe(true);
      }
    }
  });

  it("rejects nearly all random bytes behind a zlib header, so few are ever inflated", () => {
    let passed = 0;
    for (let i = 0; i < 20_000; i++) {
      const head = Buffer.concat([Buffer.from([0x78, 0x9c]), randomBytes(64)]);
      if (plausibleDeflateStart(head)) {
        passed++;
      }
    }
    expect(passed).toBeLessThan(20_000 * 0.05);
  });
});
