import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createAppContext, importVulnData, type ScanResult, scan } from "../../src/app/index.js";
import type { Package, Sbom } from "../../src/sbom/index.js";
import { goSymbolsAbsent } from "../../src/vex/analyze.js";
import type { Finding } from "../../src/vuln/index.js";
import { buildImageLayout } from "../support/build-image.js";
import { GO_OSV } from "../support/go-binaries.js";
import { goToolchain } from "../support/go-fixture.js";
import { buildGoVexFixture } from "../support/go-vex-fixture.js";
import { tempDir } from "../support/tmp.js";

/**
 * Go symbol VEX must not say not_affected for code that is in the binary, and must read names
 * as govulncheck does. The real cases scan a Go 1.19 program (unstripped and stripped) that links
 * stand-ins of gopkg.in/square/go-jose.v2 v2.6.0 and github.com/gin-gonic/gin v1.5.0 against the
 * corpus's advisories.
 */
describe("Go symbol VEX: no not_affected for linked code", () => {
  let result: ScanResult;
  let fx: { bin: string; stripped: string };
  const go = (...args: string[]) => {
    const { go: bin, goroot } = goToolchain();
    return execFileSync(bin, args, { encoding: "utf8", env: { ...process.env, GOROOT: goroot } });
  };

  beforeAll(async () => {
    fx = buildGoVexFixture();
    const dir = join(tempDir("cleanimg-neg-go-"), "img");
    await buildImageLayout({
      dir,
      tag: "go",
      compression: "none",
      layers: [
        {
          kind: "files",
          files: [
            { name: "app/", type: "dir" },
            { name: "app/vexapp", type: "file", mode: 0o755, body: readFileSync(fx.bin) },
            { name: "app/stripped", type: "file", mode: 0o755, body: readFileSync(fx.stripped) },
          ],
        },
      ],
    });
    const ctx = createAppContext({ home: tempDir("cleanimg-neg-go-home-"), env: {} });
    await importVulnData(ctx, [GO_OSV]);
    result = await scan(ctx, `oci:${dir}:go`, { created: new Date(0) });
    await ctx.close();
  }, 120_000);

  /** The statements for one advisory, by binary. */
  const statuses = (id: string): Record<string, string> => {
    const out: Record<string, string> = {};
    result.findings.forEach((f, i) => {
      const p = result.sbom.packages.find((x) => x.id === f.package.id);
      if (f.id === id && p) {
        out[p.locations[0]?.path ?? ""] = result.vex[i]?.status ?? "";
      }
    });
    return out;
  };
  const both = (status: string) => ({ "/app/vexapp": status, "/app/stripped": status });

  it("escaped path: gopkg.in/square/go-jose.v2's Decrypt, written gopkg.in/square/go-jose%2ev2, is present", () => {
    expect(go("tool", "nm", fx.bin)).toContain(
      "gopkg.in/square/go-jose%2ev2.(*JSONWebEncryption).Decrypt",
    );
    // GO-2024-2631 names JSONWebEncryption.Decrypt: linked, so it stays affected
    expect(statuses("GO-2024-2631")).toEqual(both("affected"));
    // the module is judged: GO-2021-0052's gin functions are not linked
    expect(statuses("GO-2021-0052")).toEqual(both("not_affected"));
  });

  it("inlined-only: gin.Logger, inlined into main.main and linked as no function of its own, is present", () => {
    expect(go("tool", "nm", fx.bin)).not.toMatch(/gin-gonic\/gin\.Logger/);
    // its instructions are in main.main, attributed to Logger's lines (gin.go 10-13)
    const lines = go("tool", "objdump", "-s", "^main\\.main$", fx.bin)
      .split("\n")
      .map((l) => /\bgin\.go:(\d+)/.exec(l)?.[1])
      .filter(Boolean)
      .map(Number);
    expect(lines.filter((n) => n >= 10 && n <= 13).length).toBeGreaterThan(0);
    // GO-2020-0001 names Logger: stays affected
    expect(statuses("GO-2020-0001")).toEqual(both("affected"));
  });

  it("generics: (*Context[...]).FileAttachment is Context.FileAttachment", () => {
    expect(go("tool", "nm", fx.bin)).toMatch(
      /gin\.\(\*Context\[go\.shape\.string_0\]\)\.FileAttachment/,
    );
    expect(statuses("GO-2023-1737")).toEqual(both("affected"));
  });

  it("imports for other systems: GO-2025-3750 (os.Open on windows) does not apply to a linux binary", () => {
    expect(statuses("GO-2025-3750")).toEqual(both("not_affected"));
  });
});

describe("Go symbol VEX: closures and method values are not their function", () => {
  const record = (symbols: string[]) =>
    new Map([
      [
        "GO-TEST-2",
        {
          id: "GO-TEST-2",
          affected: [
            {
              package: { ecosystem: "Go", name: "example.com/lib" },
              ecosystem_specific: { imports: [{ path: "example.com/lib/x", symbols }] },
            },
          ],
        } as never,
      ],
    ]);
  const finding = {
    id: "GO-TEST-2",
    flags: [],
    matchedAs: { ecosystem: "Go", name: "example.com/lib" },
  } as unknown as Finding;
  const sbom = { packages: [] } as unknown as Sbom;
  const bin = (names: string[]) =>
    ({
      type: "golang",
      name: "example.com/lib",
      locations: [{ path: "/app/bin" }],
      symbols: { table: "gopclntab", names: [...names, "example.com/lib/y.Other", "main.main"] },
    }) as unknown as Package;
  const verdict = (symbols: string[], names: string[]) =>
    goSymbolsAbsent(finding, bin(names), sbom, record(symbols))?.justification ?? "no verdict";

  it("a closure F.func1 (or F.func1.2) is not F", () => {
    expect(
      verdict(["Parse"], ["example.com/lib/x.Parse.func1", "example.com/lib/x.Parse.func1.2"]),
    ).toBe("vulnerable_code_not_present");
    expect(verdict(["Parse"], ["example.com/lib/x.Parse"])).toBe("no verdict");
  });

  it("a method value wrapper (*T).M-fm is not T.M, and (*T).M is", () => {
    expect(verdict(["T.M"], ["example.com/lib/x.(*T).M-fm"])).toBe("vulnerable_code_not_present");
    expect(verdict(["T.M"], ["example.com/lib/x.(*T).M"])).toBe("no verdict");
    expect(verdict(["T.M"], ["example.com/lib/x.T.M"])).toBe("no verdict");
  });

  it("a closure of a generic function Map[...].func1 is not Map; Map[...] is", () => {
    expect(verdict(["Map"], ["example.com/lib/x.Map[...].func1"])).toBe(
      "vulnerable_code_not_present",
    );
    expect(verdict(["Map"], ["example.com/lib/x.Map[...]"])).toBe("no verdict");
    expect(verdict(["Box.Put"], ["example.com/lib/x.(*Box[...]).Put"])).toBe("no verdict");
  });

  it("an escaped package path is the import path it escapes", () => {
    const jose = (names: string[]) =>
      ({
        ...bin([]),
        symbols: { table: "gopclntab", names },
      }) as unknown as Package;
    const rec = new Map([
      [
        "GO-TEST-2",
        {
          id: "GO-TEST-2",
          affected: [
            {
              package: { ecosystem: "Go", name: "example.com/lib" },
              ecosystem_specific: { imports: [{ path: "example.com/lib/v.2", symbols: ["F"] }] },
            },
          ],
        } as never,
      ],
    ]);
    const names = ["example.com/lib/v%2e2.F", "example.com/lib/y.Other"];
    expect(goSymbolsAbsent(finding, jose(names), sbom, rec)).toBeUndefined();
  });
});
