import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { apkComparator, compareApk, isValidApkVersion } from "./apk.js";
import type { Comparator } from "./comparator.js";
import { debComparator } from "./deb.js";
import { goComparator } from "./go.js";
import { mavenComparator } from "./maven.js";
import { compareNpm, cratesComparator, semverSatisfies } from "./npm-semver.js";
import { nugetComparator } from "./nuget.js";
import { pep440Comparator, pep440Satisfies } from "./pep440.js";
import { isAffected } from "./range.js";
import { rpmvercmp } from "./rpm.js";
import { gemSatisfies, rubygemsComparator } from "./rubygems.js";

const VECTORS = resolve(import.meta.dirname, "../../../shared/corpus/versions");

function vectors<T>(file: string): T[] {
  return readFileSync(join(VECTORS, file), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

type Cmp = { a: string; b: string; cmp: -1 | 0 | 1 };

function checkComparisons(
  c: Comparator,
  file: string,
  skip: (v: Cmp) => string | undefined = () => undefined,
): void {
  const rows = vectors<Cmp>(file);
  it(`agrees with every vector of ${file} (${rows.length}), both ways`, () => {
    const wrong: string[] = [];
    for (const v of rows) {
      if (skip(v)) {
        continue;
      }
      const got = c.compare(v.a, v.b);
      const back = c.compare(v.b, v.a);
      if (got !== v.cmp || back !== -v.cmp) {
        wrong.push(
          `${JSON.stringify(v.a)} vs ${JSON.stringify(v.b)}: want ${v.cmp}, got ${got} / reversed ${back}`,
        );
      }
    }
    expect(wrong).toEqual([]);
  });
}

describe("Debian versions (apt's compareversion_test vectors)", () => {
  checkComparisons(debComparator, "dpkg.jsonl");
});

describe("rpm versions (rpm's rpmvercmp.at vectors)", () => {
  it("agrees with every vector of rpm.jsonl, both ways", () => {
    const wrong: string[] = [];
    for (const v of vectors<Cmp>("rpm.jsonl")) {
      const got = rpmvercmp(v.a, v.b);
      const back = rpmvercmp(v.b, v.a);
      if (got !== v.cmp || back !== -v.cmp) {
        wrong.push(`${v.a} vs ${v.b}: want ${v.cmp}, got ${got} / ${back}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe("Go module versions (golang.org/x/mod/semver vectors)", () => {
  checkComparisons(goComparator, "go-semver.jsonl");
});

describe("NuGet versions (NuGet.Versioning vectors)", () => {
  checkComparisons(nugetComparator, "nuget.jsonl");
});

describe("RubyGems versions and requirements (rubygems test vectors)", () => {
  checkComparisons(rubygemsComparator, "rubygems.jsonl");
  it("agrees with every requirement vector", () => {
    const wrong = vectors<{ version: string; range: string; satisfies: boolean }>(
      "rubygems-requirements.jsonl",
    )
      .filter((v) => gemSatisfies(v.version, v.range) !== v.satisfies)
      .map((v) => `${v.version} ${v.range}: want ${v.satisfies}`);
    expect(wrong).toEqual([]);
  });
});

describe("PEP 440 versions and specifiers (packaging's test vectors)", () => {
  checkComparisons(pep440Comparator, "pep440.jsonl");
  it("agrees with every specifier vector", () => {
    const wrong = vectors<{
      version: string;
      range: string;
      satisfies: boolean;
      options?: { prereleases?: boolean };
    }>("pep440-specifiers.jsonl")
      .filter((v) => pep440Satisfies(v.version, v.range, v.options ?? {}) !== v.satisfies)
      .map((v) => `${v.version} ${v.range}: want ${v.satisfies}`);
    expect(wrong).toEqual([]);
  });
});

describe("npm semver versions and ranges (node-semver's fixtures)", () => {
  it("agrees with every comparison vector, both ways", () => {
    const wrong = vectors<{ a: string; b: string; cmp: -1 | 0 | 1; options?: { loose?: boolean } }>(
      "npm-semver.jsonl",
    )
      .filter(
        (v) =>
          compareNpm(v.a, v.b, v.options) !== v.cmp || compareNpm(v.b, v.a, v.options) !== -v.cmp,
      )
      .map((v) => `${v.a} vs ${v.b} ${JSON.stringify(v.options ?? {})}: want ${v.cmp}`);
    expect(wrong).toEqual([]);
  });
  it("agrees with every range vector (range-include and range-exclude)", () => {
    const wrong = vectors<{
      version: string;
      range: string;
      satisfies: boolean;
      options?: { loose?: boolean; includePrerelease?: boolean };
    }>("npm-semver-ranges.jsonl")
      .filter((v) => semverSatisfies(v.version, v.range, v.options) !== v.satisfies)
      .map(
        (v) =>
          `${v.version} in "${v.range}" ${JSON.stringify(v.options ?? {})}: want ${v.satisfies}`,
      );
    expect(wrong).toEqual([]);
  });
  it("OSV SEMVER ranges and crates.io order numeric prerelease identifiers exactly past 2^53, as SemVer 2.0, Go's x/mod and Cargo do; npm keeps node-semver's rounded order", () => {
    const [lo, hi] = ["1.0.0-9007199254740992", "1.0.0-9007199254740993"];
    const fixed = (v: string) => ({
      ranges: [{ type: "SEMVER" as const, events: [{ introduced: "0" }, { fixed: v }] }],
    });
    expect(isAffected(lo, fixed(hi), "Go").kind).toBe("affected");
    expect(isAffected(`v${hi}`, fixed(`v${hi}`), "Go").kind).toBe("not-affected");
    expect(
      isAffected("1.0.0-99999999999999999998", fixed("1.0.0-99999999999999999999"), "crates.io")
        .kind,
    ).toBe("affected");
    expect(cratesComparator.compare(hi, lo)).toBe(1);
    expect(
      cratesComparator.compare("1.0.0-99999999999999999999", "1.0.0-99999999999999999998"),
    ).toBe(1);
    // node-semver reads both as the double 9007199254740992
    expect(compareNpm(hi, lo)).toBe(0);
  });
});

describe("Maven versions (ComparableVersionTest vectors, Maven 4 line)", () => {
  checkComparisons(mavenComparator, "maven.jsonl");
});

describe("Alpine apk versions (apk-tools' version.data)", () => {
  checkComparisons(apkComparator, "apk.jsonl");
  it("agrees on which versions are valid", () => {
    const wrong = vectors<{ version: string; valid: boolean }>("apk-validity.jsonl")
      .filter((v) => isValidApkVersion(v.version) !== v.valid)
      .map((v) => `${JSON.stringify(v.version)}: want ${v.valid}`);
    expect(wrong).toEqual([]);
  });
  it("agrees with the fuzzy operator vectors", () => {
    const holds = (a: string, op: string, b: string): boolean => {
      const neg = op.startsWith("!");
      const o = neg ? op.slice(1) : op;
      const c = compareApk(a, b, o.includes("~"));
      const r = o === "~" ? c === 0 : o === "<~" ? c <= 0 : o === ">~" ? c >= 0 : false;
      return neg ? !r : r;
    };
    const wrong = vectors<{ a: string; op: string; b: string }>("apk-fuzzy.jsonl")
      .filter((v) => !holds(v.a, v.op, v.b))
      .map((v) => `${v.a} ${v.op} ${v.b}`);
    expect(wrong).toEqual([]);
  });
});
