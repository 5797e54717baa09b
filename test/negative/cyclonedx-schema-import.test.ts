import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SbomError } from "../../src/core/errors.js";
import { readSbom } from "../../src/sbom/index.js";
import { SCHEMAS } from "../support/schemas.js";

// Before, the reader checked structure only: of the official functional test BOMs it refused
// 1 of 22 invalid 1.5 documents, 1 of 25 (1.6) and 1 of 29 (1.7), and read the rest as SBOMs.
describe("sbom:FILE refuses a CycloneDX document its official schema refuses", () => {
  for (const version of ["1.5", "1.6", "1.7"]) {
    const dir = join(SCHEMAS, "cyclonedx/testcases", version);
    const files = readdirSync(dir).filter((f) => f.endsWith(".json"));
    it(`CycloneDX ${version}: every valid test BOM is read, every invalid one refused`, () => {
      const read = (f: string): unknown => {
        try {
          return readSbom(new Uint8Array(readFileSync(join(dir, f))), f);
        } catch (e) {
          return e;
        }
      };
      const valid = files.filter((f) => f.startsWith("valid-"));
      const invalid = files.filter((f) => f.startsWith("invalid-"));
      expect(valid.length + invalid.length).toBe(files.length);
      expect(invalid.length).toBeGreaterThan(20);
      for (const f of valid) {
        expect(read(f), f).not.toBeInstanceOf(Error);
      }
      for (const f of invalid) {
        const e = read(f);
        expect(e, f).toBeInstanceOf(SbomError);
        if (/^invalid-bomformat-/.test(f)) {
          // bomFormat is not "CycloneDX": refused before the schema, as no known format
          expect((e as SbomError).code, f).toBe("SBOM_FORMAT_UNKNOWN");
          continue;
        }
        expect((e as SbomError).code, f).toBe("SBOM_INVALID");
        expect((e as Error).message, f).toMatch(
          new RegExp(`^${f}: not valid CycloneDX ${version}: /`),
        );
      }
    });
  }

  it("names where the document breaks the schema, with a hint", () => {
    const doc = {
      bomFormat: "CycloneDX",
      specVersion: "1.7",
      components: [{ type: "library", name: "x", hashes: [{ alg: "SHA-256", content: "zz" }] }],
    };
    const e = (() => {
      try {
        readSbom(new TextEncoder().encode(JSON.stringify(doc)), "bad.cdx.json");
      } catch (err) {
        return err as SbomError;
      }
      return undefined;
    })();
    expect(e?.message).toMatch(
      /^bad\.cdx\.json: not valid CycloneDX 1\.7: \/components\/0\/hashes\/0\/content/,
    );
    expect(e?.hint).toMatch(/bom-1\.7\.schema\.json/);
  });
});
