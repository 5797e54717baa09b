import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VersionError } from "../core/errors.js";
import { fixedAfter, isAffected, type OsvAffected } from "./range.js";
import { comparatorFor, ECOSYSTEMS } from "./registry.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");

function record(
  file: string,
  id: string,
): { affected: (OsvAffected & { package: { name: string; ecosystem: string } })[] } {
  for (const line of gunzipSync(readFileSync(resolve(VULNDB, file)))
    .toString()
    .split("\n")) {
    if (line.includes(`"id":"${id}"`)) {
      return JSON.parse(line);
    }
  }
  throw new Error(`${id} not in ${file}`);
}

describe("OSV range evaluation on real records", () => {
  it("DSA-5380-1 (xorg-server, Debian 11): affected below the fixed version, not at or after it", () => {
    const a = record("debian-dsa-osv.jsonl.gz", "DSA-5380-1").affected[0];
    if (!a) {
      throw new Error("no affected entry");
    }
    expect(isAffected("2:1.20.11-1+deb11u5", a, a.package.ecosystem).kind).toBe("affected");
    expect(isAffected("2:1.20.11-1+deb11u6", a, a.package.ecosystem).kind).toBe("not-affected");
    expect(isAffected("2:21.1.7-3", a, a.package.ecosystem).kind).toBe("not-affected");
    // the epoch matters: without it, 1.20.11 is far older than 2:1.20.11
    expect(isAffected("1:9.9", a, a.package.ecosystem).kind).toBe("affected");
    expect(isAffected("not a version", a, a.package.ecosystem).kind).toBe("unknown");
  });

  it("GO-2020-0001 (gin, SEMVER): Go module versions with their v prefix", () => {
    const a = record("go-osv.jsonl.gz", "GO-2020-0001").affected[0] as OsvAffected;
    expect(isAffected("v1.5.0", a, "Go").kind).toBe("affected");
    expect(isAffected("v1.6.0", a, "Go").kind).toBe("not-affected");
    expect(isAffected("v1.6.0-rc.1", a, "Go").kind).toBe("affected");
  });

  it("handles last_affected, limit, explicit versions and GIT-only ranges", () => {
    const last: OsvAffected = {
      ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "1.0" }, { last_affected: "1.4" }] }],
    };
    expect(isAffected("1.4", last, "PyPI").kind).toBe("affected");
    expect(isAffected("1.4.post1", last, "PyPI").kind).toBe("not-affected");
    expect(isAffected("0.9", last, "PyPI").kind).toBe("not-affected");
    const limit: OsvAffected = {
      ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { limit: "2.0.0" }] }],
    };
    expect(isAffected("1.9.9", limit, "npm").kind).toBe("affected");
    expect(isAffected("2.0.0", limit, "npm").kind).toBe("not-affected");
    expect(isAffected("3.1", { versions: ["3.1"] }, "PyPI").kind).toBe("affected");
    const git: OsvAffected = {
      ranges: [{ type: "GIT", events: [{ introduced: "0" }, { fixed: "abc123" }] }],
    };
    expect(isAffected("1.0", git, "PyPI")).toMatchObject({
      kind: "unknown",
      reason: expect.stringContaining("GIT"),
    });
    // re-introduced after a fix
    const twice: OsvAffected = {
      ranges: [
        {
          type: "ECOSYSTEM",
          events: [
            { introduced: "1.0" },
            { fixed: "1.2" },
            { introduced: "2.0" },
            { fixed: "2.1" },
          ],
        },
      ],
    };
    expect(
      ["0.5", "1.1", "1.5", "2.0.1", "2.2"].map((v) => isAffected(v, twice, "PyPI").kind),
    ).toEqual(["not-affected", "affected", "not-affected", "affected", "not-affected"]);
  });

  it("names an unsupported ecosystem", () => {
    expect(() => comparatorFor("Hackage")).toThrow(VersionError);
    expect(comparatorFor("Debian:12").ecosystem).toBe("Debian");
    expect(comparatorFor("Alpine:v3.19").ecosystem).toBe("Alpine");
  });
});

// Generators of plausible versions per scheme, for order laws on inputs beyond the vectors.
const num = fc.integer({ min: 0, max: 30 }).map(String);
const dotted = (n: number) =>
  fc.array(num, { minLength: 1, maxLength: n }).map((xs) => xs.join("."));
const GENERATORS: Record<string, fc.Arbitrary<string>> = {
  Debian: fc
    .tuple(
      fc.option(num),
      dotted(3),
      fc.option(fc.constantFrom("~rc1", "+dfsg", "~", "a")),
      fc.option(dotted(2)),
    )
    .map(([e, u, s, r]) => `${e ? `${e}:` : ""}${u}${s ?? ""}${r ? `-${r}` : ""}`),
  Alpine: fc
    .tuple(
      dotted(3),
      fc.option(fc.constantFrom("a", "b")),
      fc.option(fc.constantFrom("_alpha", "_pre2", "_rc1", "_p1", "_git20240101")),
      fc.option(num),
    )
    .map(([d, l, s, r]) => `${d}${l ?? ""}${s ?? ""}${r ? `-r${r}` : ""}`),
  "Red Hat": fc
    .tuple(fc.option(num), dotted(3), fc.option(fc.constantFrom("~rc1", "^post", "a", ".el9")), num)
    .map(([e, v, s, r]) => `${e ? `${e}:` : ""}${v}${s ?? ""}-${r}`),
  PyPI: fc
    .tuple(dotted(3), fc.option(fc.constantFrom("a1", "b2", "rc3", ".post1", ".dev4", "+local.7")))
    .map(([v, s]) => `${v}${s ?? ""}`),
  npm: fc
    .tuple(
      num,
      num,
      num,
      fc.option(fc.constantFrom("-alpha", "-alpha.1", "-beta.2", "-0", "-rc.1")),
    )
    .map(([a, b, c, p]) => `${a}.${b}.${c}${p ?? ""}`),
  Go: fc
    .tuple(
      num,
      num,
      num,
      fc.option(fc.constantFrom("-pre", "-0.20240101000000-abcdef012345", "-rc.1")),
    )
    .map(([a, b, c, p]) => `v${a}.${b}.${c}${p ?? ""}`),
  Maven: fc
    .tuple(
      dotted(3),
      fc.option(
        fc.constantFrom(
          "-SNAPSHOT",
          "-alpha-1",
          "-beta2",
          "-rc1",
          "-sp1",
          "-1",
          ".Final",
          "-redhat-1",
        ),
      ),
    )
    .map(([v, s]) => `${v}${s ?? ""}`),
  RubyGems: fc
    .tuple(dotted(4), fc.option(fc.constantFrom(".pre", ".rc1", ".a", "-1")))
    .map(([v, s]) => `${v}${s ?? ""}`),
  NuGet: fc
    .tuple(dotted(4), fc.option(fc.constantFrom("-beta", "-RC.1", "-alpha.2")))
    .map(([v, s]) => `${v}${s ?? ""}`),
  "crates.io": fc
    .tuple(num, num, num, fc.option(fc.constantFrom("-alpha", "-beta.1")))
    .map(([a, b, c, p]) => `${a}.${b}.${c}${p ?? ""}`),
};

describe("order laws on generated versions", () => {
  for (const eco of ECOSYSTEMS.filter((e) => e in GENERATORS)) {
    const gen = GENERATORS[eco] as fc.Arbitrary<string>;
    const c = comparatorFor(eco);
    it(`${eco}: reflexive, antisymmetric and transitive`, () => {
      fc.assert(
        fc.property(gen, gen, gen, (a, b, x) => {
          expect(c.compare(a, a)).toBe(0);
          expect(c.compare(a, b)).toBe(-c.compare(b, a) || 0);
          const [p, q, r] = [a, b, x].sort((u, v) => c.compare(u, v));
          expect(c.compare(p as string, r as string)).toBeLessThanOrEqual(0);
          if (
            c.compare(p as string, q as string) === 0 &&
            c.compare(q as string, r as string) === 0
          ) {
            expect(c.compare(p as string, r as string)).toBe(0);
          }
        }),
        { numRuns: 500 },
      );
    });
  }
});

describe("fixedAfter (negative: each case gave a fix before)", () => {
  const r = (events: object[], type = "ECOSYSTEM") => ({ type, events });
  it("gives no fix when a bound cannot be placed, or the version is only listed, or schemes disagree", () => {
    const bad = {
      ranges: [
        r([{ introduced: "1.0.0" }, { fixed: "1.5.0!!bad" }]),
        r([{ introduced: "2.0.0" }, { fixed: "2.5.0" }]),
      ],
    };
    expect(fixedAfter("1.2.0", bad as never, "npm")).toBeUndefined();
    const listed = {
      versions: ["1.2.0"],
      ranges: [r([{ introduced: "2.0.0" }, { fixed: "2.5.0" }])],
    };
    expect(fixedAfter("1.2.0", listed as never, "npm")).toBeUndefined();
    const mixed = {
      ranges: [
        r([{ introduced: "0" }, { fixed: "1.4.0" }], "SEMVER"),
        r([{ introduced: "0" }, { fixed: "1.3.post1" }]),
      ],
    };
    expect(fixedAfter("1.2.0", mixed as never, "PyPI")).toBeUndefined();
  });
  it("gives the fix of the release line that holds the version", () => {
    const django = {
      ranges: [
        r([{ introduced: "3.1" }, { fixed: "3.1.13" }, { introduced: "3.2" }, { fixed: "3.2.5" }]),
      ],
    };
    expect(fixedAfter("3.2.4", django as never, "PyPI")).toBe("3.2.5");
    expect(
      fixedAfter(
        "v1.13.1",
        { ranges: [r([{ introduced: "0" }, { fixed: "1.13.15" }])] } as never,
        "Go",
      ),
    ).toBe("1.13.15");
  });
});
