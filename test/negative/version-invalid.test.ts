import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { untarMembers } from "../../src/app/vulndb.js";
import type { Sbom } from "../../src/sbom/index.js";
import {
  apkComparator,
  composerComparator,
  cratesComparator,
  debComparator,
  goComparator,
  isAffected,
  mavenComparator,
  npmComparator,
  nugetComparator,
  type OsvAffected,
  type OsvRange,
  pep440Comparator,
  rpmComparator,
  rubygemsComparator,
} from "../../src/versions/index.js";
import { matchSbom, VulnDb } from "../../src/vuln/index.js";
import { fetchDebs } from "../support/debs.js";
import { goToolchain } from "../support/go-fixture.js";
import { tempDir } from "../support/tmp.js";

/**
 * Invalid versions: each comparator either orders them exactly as its ecosystem's own tool does
 * (the tool run here as the oracle, where Debian has it) or refuses them; the matcher turns a
 * refused version, or a range bound that is no version, into "unknown", never "not affected".
 * The deviations are the table in src/versions/README.md.
 */

const CACHE = resolve(import.meta.dirname, "../../.cache");
const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");

type Cmp = -1 | 0 | 1;

/** Every ordered pair of a sample, each pair once. */
const pairsOf = (xs: readonly string[]): [string, string][] =>
  xs.flatMap((a) => xs.map((b) => [a, b] as [string, string]));

/** Versions built from pieces, most of them invalid in some scheme. */
function generated(pieces: readonly string[], n: number, seed: number): string[] {
  return fc.sample(
    fc.array(fc.constantFrom(...pieces), { minLength: 1, maxLength: 6 }).map((p) => p.join("")),
    { numRuns: n, seed },
  );
}

const range = (r: OsvRange): OsvAffected => ({ ranges: [r] });
const fixedIn = (fixed: string, introduced = "0"): OsvAffected =>
  range({ type: "ECOSYSTEM", events: [{ introduced }, { fixed }] });

// ---------------------------------------------------------------------------------------------
// Go: golang.org/x/mod/semver itself (Debian's golang-golang-x-mod-dev source, built with
// Debian's Go 1.19) is the oracle.

/** Builds (once, cached) a program running x/mod's semver.Compare and IsValid on JSON pairs. */
function xmodOracle(): string {
  const dir = join(CACHE, "xmod-semver-oracle");
  const bin = join(dir, "oracle");
  if (existsSync(bin)) {
    return bin;
  }
  const { go, goroot } = goToolchain();
  const [deb] = fetchDebs(["golang-golang-x-mod-dev"]);
  mkdirSync(CACHE, { recursive: true });
  const tmp = mkdtempSync(`${dir}.tmp-`);
  try {
    execFileSync("dpkg-deb", ["-x", deb as string, join(tmp, "deb")]);
    mkdirSync(join(tmp, "src/semver"), { recursive: true });
    writeFileSync(
      join(tmp, "src/semver/semver.go"),
      readFileSync(join(tmp, "deb/usr/share/gocode/src/golang.org/x/mod/semver/semver.go")),
    );
    writeFileSync(join(tmp, "src/go.mod"), "module oracle\n\ngo 1.19\n");
    writeFileSync(
      join(tmp, "src/main.go"),
      `package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"oracle/semver"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		var p [2]string
		if err := json.Unmarshal(in.Bytes(), &p); err != nil {
			panic(err)
		}
		fmt.Fprintf(out, "%d %t %t\\n", semver.Compare(p[0], p[1]), semver.IsValid(p[0]), semver.IsValid(p[1]))
	}
}
`,
    );
    execFileSync(go, ["build", "-o", join(tmp, "oracle"), "."], {
      cwd: join(tmp, "src"),
      env: {
        ...process.env,
        GOROOT: goroot,
        GOPATH: join(tmp, "gopath"),
        GOCACHE: join(tmp, "gocache"),
        GOFLAGS: "-mod=mod",
        GOPROXY: "off",
        GO111MODULE: "on",
        CGO_ENABLED: "0",
        GOTOOLCHAIN: "local",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    rmSync(join(tmp, "deb"), { recursive: true, force: true });
    rmSync(join(tmp, "gocache"), { recursive: true, force: true });
    rmSync(join(tmp, "gopath"), { recursive: true, force: true });
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(bin)) {
      throw e;
    }
  }
  return bin;
}

function xmod(pairs: [string, string][]): { cmp: Cmp; va: boolean; vb: boolean }[] {
  const out = execFileSync(xmodOracle(), {
    input: pairs.map((p) => JSON.stringify(p)).join("\n"),
    encoding: "utf8",
    maxBuffer: 64 * 1024 ** 2,
  });
  return out
    .trim()
    .split("\n")
    .map((l) => {
      const [c, a, b] = l.split(" ");
      return { cmp: Number(c) as Cmp, va: a === "true", vb: b === "true" };
    });
}

/** A real GitHub advisory whose Go bounds are written without the "v" ("1.13.15"). */
function ghsaRecord(id: string): { affected: OsvAffected[] } & Record<string, unknown> {
  for (const line of gunzipSync(readFileSync(join(VULNDB, "ghsa-sample-osv.jsonl.gz")))
    .toString()
    .split("\n")) {
    if (line.includes(`"id":"${id}"`)) {
      return JSON.parse(line);
    }
  }
  throw new Error(`${id} not in ghsa-sample-osv.jsonl.gz`);
}

describe("Go (golang.org/x/mod/semver is the oracle)", () => {
  const SAMPLE = [
    "v1.2.3",
    "v1.2",
    "v1",
    "v1.2.3-rc.1",
    "v1.2.3+meta",
    "v0.0.0-20200101000000-abcdefabcdef",
    "1.2.3",
    "v01.2.3",
    "v1.2.3-01",
    "V1.2.3",
    "v1.2.3.4",
    "(devel)",
    "",
    "latest",
    ...generated(["v", "1", "0", "01", "2", "10", ".", "-", "+", "rc", "x", " "], 120, 7),
  ];

  it("orders every pair, invalid versions included, as x/mod's Compare does, and agrees on IsValid", () => {
    const pairs = pairsOf(SAMPLE);
    const truth = xmod(pairs);
    const wrong: string[] = [];
    pairs.forEach(([a, b], i) => {
      const t = truth[i] as { cmp: Cmp; va: boolean; vb: boolean };
      const got = goComparator.compare(a, b);
      if (got !== t.cmp || goComparator.isValid(a) !== t.va || goComparator.isValid(b) !== t.vb) {
        wrong.push(`${JSON.stringify(a)} vs ${JSON.stringify(b)}: x/mod ${t.cmp}, ours ${got}`);
      }
    });
    expect(truth.some((t) => !t.va)).toBe(true);
    expect(wrong).toEqual([]);
  });

  it("GHSA-4xc9-8hmq-j652 (go-ethereum, fixed in 1.13.15 without a v): v1.13.14 is affected, v1.13.15 is not", () => {
    // x/mod orders "1.13.15" below every valid version: read as written, v1.13.14 would be past the fix
    expect(xmod([["v1.13.14", "1.13.15"]])[0]?.cmp).toBe(1);
    const a = ghsaRecord("GHSA-4xc9-8hmq-j652").affected[0] as OsvAffected;
    expect(isAffected("v1.13.14", a, "Go").kind).toBe("affected");
    expect(isAffected("v1.13.15", a, "Go").kind).toBe("not-affected");
  });

  it("a bound that is no Go version at all makes the verdict unknown, not 'not affected'", () => {
    // x/mod puts "latest" below v0.0.1, so v0.0.1 would look fixed
    expect(xmod([["v0.0.1", "latest"]])[0]?.cmp).toBe(1);
    expect(isAffected("v0.0.1", fixedIn("latest"), "Go").kind).toBe("unknown");
    expect(isAffected("v0.0.1", fixedIn("v0.2.0", "latest"), "Go").kind).toBe("unknown");
  });

  it("an invalid installed version is unknown", () => {
    expect(isAffected("(devel)", fixedIn("v1.0.0"), "Go").kind).toBe("unknown");
    expect(isAffected("1.0.0", fixedIn("v2.0.0"), "Go").kind).toBe("unknown");
  });
});

// ---------------------------------------------------------------------------------------------
// rpm: librpm (rpm.vercmp of Debian's rpm 4.18, the rpmverCmp of lib/rpmver.c) is the oracle.

function rpmVercmp(pairs: [string, string][]): (Cmp | "refused")[] {
  const file = join(tempDir(), "pairs.tsv");
  writeFileSync(file, pairs.map(([a, b]) => `${a}\t${b}\n`).join(""));
  const lua = `for line in io.lines("${file}") do local a, b = line:match("^(.*)\\t(.*)$"); local ok, r = pcall(rpm.vercmp, a, b); io.write(ok and tostring(r) or "refused", "\\n") end`;
  const out = execFileSync("rpm", ["--eval", `%{lua: ${lua}}`], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 ** 2,
  });
  return out
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => (l.trim() === "refused" ? "refused" : (Number(l) as Cmp)));
}

describe("rpm (librpm's rpm.vercmp is the oracle)", () => {
  const SAMPLE = [
    "1.0-",
    "1.0-1",
    "1.0",
    "1.0-~",
    "1.0-^",
    "0:1.0",
    ":1.0",
    "1:1.0",
    "01:1.0",
    "a:1.0",
    "1:2:3",
    "1.0-1-2",
    "-",
    "-1",
    " ",
    " 1.0",
    "1.0- ",
    "",
    ...generated(["1", "0", "2", "a", "b", ".", "-", ":", "~", "^", "_", "+", " "], 150, 11),
  ];

  it("orders every pair exactly as rpm.vercmp, and refuses only what rpm refuses", () => {
    const pairs = pairsOf(SAMPLE).filter(([a, b]) => !/[\t\n]/.test(a + b));
    const truth = rpmVercmp(pairs);
    expect(truth).toHaveLength(pairs.length);
    const wrong: string[] = [];
    pairs.forEach(([a, b], i) => {
      const t = truth[i];
      let got: Cmp | "refused";
      try {
        got = rpmComparator.compare(a, b);
      } catch {
        got = "refused";
      }
      if (got !== t) {
        wrong.push(`${JSON.stringify(a)} vs ${JSON.stringify(b)}: rpm ${t}, ours ${got}`);
      }
      const validNow = rpmComparator.isValid(a) && rpmComparator.isValid(b);
      if (validNow !== (t !== "refused")) {
        wrong.push(`${JSON.stringify(a)} / ${JSON.stringify(b)}: validity differs from rpm`);
      }
    });
    expect(truth).toContain("refused");
    expect(wrong).toEqual([]);
  });

  it("1.0- (empty release) is older than 1.0-1, as in rpm, so a fix in 1.0-1 leaves it affected", () => {
    expect(rpmVercmp([["1.0-", "1.0-1"]])).toEqual([-1]);
    expect(rpmComparator.compare("1.0-", "1.0-1")).toBe(-1);
    expect(rpmComparator.compare("1.0-1", "1.0-")).toBe(1);
    expect(isAffected("1.0-", fixedIn("1.0-1"), "Red Hat").kind).toBe("affected");
  });

  it("a version without a release is older than the same version with one (rpm.vercmp), so it is not past a fix", () => {
    expect(rpmVercmp([["1.0", "1.0-1"]])).toEqual([-1]);
    expect(isAffected("0:1.0", fixedIn("0:1.0-1.el9"), "Red Hat").kind).toBe("affected");
  });

  it("the empty version, which rpm refuses, is unknown", () => {
    expect(rpmVercmp([["", "1"]])).toEqual(["refused"]);
    expect(isAffected("", fixedIn("1.0-1"), "Red Hat").kind).toBe("unknown");
  });
});

// ---------------------------------------------------------------------------------------------
// Debian: dpkg --compare-versions is the oracle. dpkg refuses some versions (an error, exit 2)
// and orders others after a warning; we refuse both.

type DpkgVerdict = { kind: "error" | "warning" | "ok"; cmp?: Cmp };

/**
 * dpkg's verdict on each pair, with one process per question (a process each is slow: callers
 * keep the number of pairs small). Exit 2 is dpkg's "bad syntax" error; a warning on stderr means
 * dpkg read the version with bad syntax and compared it anyway.
 */
function dpkgCompare(pairs: [string, string][]): DpkgVerdict[] {
  return pairs.map(([a, b]) => {
    const run = (op: string) =>
      spawnSync("dpkg", ["--compare-versions", a, op, b], { encoding: "utf8" });
    const lt = run("lt");
    if (lt.status === 2) {
      return { kind: "error" };
    }
    const cmp: Cmp = lt.status === 0 ? -1 : run("eq").status === 0 ? 0 : 1;
    return { kind: /warning/.test(lt.stderr) ? "warning" : "ok", cmp };
  });
}

describe("Debian (dpkg --compare-versions is the oracle)", () => {
  const SAMPLE = [
    "1.0-",
    "1.0-1",
    "1.0",
    "1:1.0",
    "a:1.0",
    ":1.0",
    "1:",
    "99999999999:1.0",
    "2147483647:1.0",
    "abc",
    "1.0_1",
    "1.0-1_2",
    "1.0-a-b",
    "1.0~rc1",
    " 1.0 ",
    "1 0",
    ...generated(["1", "0", "2", "a", ".", "-", ":", "~", "+", "_"], 40, 13).filter(
      (v) => !v.startsWith("-"), // dpkg would read it as an option
    ),
  ];

  it("refuses what dpkg refuses or only warns about, and orders the rest as dpkg does", () => {
    // each version against itself (its validity), then neighbours and a sample of other pairs
    const valid = SAMPLE.filter((v) => debComparator.isValid(v));
    const pairs: [string, string][] = [
      ...SAMPLE.map((v) => [v, v] as [string, string]),
      ...SAMPLE.slice(1).map((v, i) => [SAMPLE[i] as string, v] as [string, string]),
      ...fc.sample(fc.tuple(fc.constantFrom(...valid), fc.constantFrom(...valid)), {
        numRuns: 120,
        seed: 5,
      }),
    ];
    const truth = dpkgCompare(pairs);
    const wrong: string[] = [];
    pairs.forEach(([a, b], i) => {
      const t = truth[i] as DpkgVerdict;
      const valid = debComparator.isValid(a) && debComparator.isValid(b);
      if (t.kind === "ok") {
        if (!valid || debComparator.compare(a, b) !== t.cmp) {
          wrong.push(`${JSON.stringify(a)} vs ${JSON.stringify(b)}: dpkg ${t.cmp}`);
        }
      } else if (valid) {
        wrong.push(`${JSON.stringify(a)} vs ${JSON.stringify(b)}: dpkg ${t.kind}, we accept`);
      }
    });
    expect(truth.some((t) => t.kind === "error")).toBe(true);
    expect(truth.some((t) => t.kind === "warning")).toBe(true);
    expect(wrong).toEqual([]);
  });

  it("1.0- (empty revision), which dpkg refuses, is refused, so it never looks fixed in 1.0", () => {
    expect(dpkgCompare([["1.0-", "1.0"]])[0]?.kind).toBe("error");
    expect(debComparator.isValid("1.0-")).toBe(false);
    expect(() => debComparator.compare("1.0-", "1.0")).toThrow(/revision/);
    expect(isAffected("1.0-", fixedIn("1.0"), "Debian:12").kind).toBe("unknown");
  });

  it("an epoch dpkg cannot hold is refused", () => {
    expect(dpkgCompare([["99999999999:1.0", "1.0"]])[0]?.kind).toBe("error");
    expect(debComparator.isValid("99999999999:1.0")).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Alpine: Debian has no apk-tools; apk-tools' own version.data rows with invalid versions are in
// the comparator vectors (src/versions/versions.test.ts). Here: the matcher never orders them.

describe("Alpine (no apk-tools on Debian: the matcher refuses what apk would order)", () => {
  it("a bound apk cannot parse makes the verdict unknown", () => {
    // apk orders 1.2-r0 after the invalid 1.2_foo (a valid tail beats an invalid one)
    expect(apkComparator.isValid("1.2_foo")).toBe(false);
    expect(apkComparator.compare("1.2-r0", "1.2_foo")).toBe(1);
    expect(isAffected("1.2-r0", fixedIn("1.2_foo"), "Alpine:v3.19").kind).toBe("unknown");
  });

  it("an invalid installed version is unknown", () => {
    expect(isAffected("1.0bc", fixedIn("1.1-r0"), "Alpine:v3.19").kind).toBe("unknown");
  });
});

// ---------------------------------------------------------------------------------------------
// npm: node-semver (the copy npm itself ships) is the oracle; it throws on invalid versions.

function nodeSemver(): {
  valid(v: string): string | null;
  compare(a: string, b: string): Cmp;
} {
  const root = execFileSync("npm", ["root", "-g"], { encoding: "utf8" }).trim();
  return createRequire(join(root, "npm", "package.json"))("semver");
}

describe("npm (node-semver is the oracle)", () => {
  const semver = nodeSemver();
  const SAMPLE = [
    "1.2.3",
    "v1.2.3",
    " 1.2.3 ",
    "=1.2.3",
    "1.2",
    "01.2.3",
    "1.2.3-01",
    "1.2.3-rc.1+b",
    `1.2.3-${"a".repeat(260)}`,
    "9007199254740992.0.0",
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-0.3.7",
    "1.0.0-x.7.z.92",
    "1.0.0",
    "2.0.0",
    "10.0.0",
    ...generated(["1", "0", "01", "2", ".", "-", "+", "v", "rc", " ", "x"], 150, 17),
  ];

  it("accepts exactly what node-semver accepts, and orders it the same", () => {
    const wrong: string[] = [];
    for (const v of SAMPLE) {
      if (npmComparator.isValid(v) !== (semver.valid(v) !== null)) {
        wrong.push(`${JSON.stringify(v)}: node-semver valid=${semver.valid(v) !== null}`);
      }
    }
    const valid = SAMPLE.filter((v) => semver.valid(v) !== null);
    for (const [a, b] of pairsOf(valid)) {
      if (npmComparator.compare(a, b) !== semver.compare(a, b)) {
        wrong.push(`${a} vs ${b}`);
      }
    }
    expect(valid.length).toBeGreaterThan(5);
    expect(wrong).toEqual([]);
  });

  it("a version longer than 256 characters, which node-semver refuses, is refused and unknown", () => {
    const long = `1.2.3-${"a".repeat(260)}`;
    expect(semver.valid(long)).toBeNull();
    expect(npmComparator.isValid(long)).toBe(false);
    expect(
      isAffected(
        long,
        range({ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "1.2.3" }] }),
        "npm",
      ).kind,
    ).toBe("unknown");
  });

  it("an invalid version or bound in a SEMVER range is unknown", () => {
    const r = range({ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "1.x" }] });
    expect(isAffected("2.0.0", r, "npm").kind).toBe("unknown");
    expect(isAffected("latest", fixedIn("1.0.0"), "npm").kind).toBe("unknown");
  });
});

describe("crates.io (the semver crate's grammar: no oracle on Debian)", () => {
  it("refuses a v prefix and surrounding whitespace, which Version::parse refuses", () => {
    for (const v of ["v1.0.0", " 1.0.0", "1.0.0 ", "1.0"]) {
      expect(cratesComparator.isValid(v), v).toBe(false);
      expect(isAffected(v, fixedIn("1.0.1"), "crates.io").kind, v).toBe("unknown");
    }
    expect(cratesComparator.compare("1.0.0-alpha.1", "1.0.0")).toBe(-1);
  });
});

// ---------------------------------------------------------------------------------------------
// PyPI: packaging (Debian's python3-packaging, run by /usr/bin/python3) is the oracle; its
// Version raises InvalidVersion.

function packaging(pairs: [string, string][]): { va: boolean; vb: boolean; cmp: Cmp | null }[] {
  const script = `
import json, sys
from packaging.version import Version, InvalidVersion
def parse(v):
    try:
        return Version(v)
    except InvalidVersion:
        return None
for line in sys.stdin:
    a, b = json.loads(line)
    x, y = parse(a), parse(b)
    cmp = None if x is None or y is None else (x > y) - (x < y)
    print(json.dumps({"va": x is not None, "vb": y is not None, "cmp": cmp}))
`;
  return execFileSync("/usr/bin/python3", ["-c", script], {
    input: pairs.map((p) => JSON.stringify(p)).join("\n"),
    encoding: "utf8",
    maxBuffer: 64 * 1024 ** 2,
  })
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

describe("PyPI (packaging is the oracle)", () => {
  const SAMPLE = [
    "1.0",
    "1.0.post1",
    "1.0a1",
    "1!2.0",
    "1.0+local.1",
    "1.0\u00a0",
    "1.0\ufeff",
    "1.0\u001c",
    "1.0\n",
    "1.9007199254740992",
    "1.9007199254740993",
    "1.0.dev9007199254740993",
    "2019-09-12",
    "0.2.0-n653",
    "",
    ...generated(
      ["1", "0", "9", ".", "-", "_", "a", "b", "rc", "post", "dev", "+", "!", "v", " "],
      150,
      19,
    ),
  ];

  it("accepts exactly what packaging accepts, and orders it the same", () => {
    const pairs = pairsOf(SAMPLE);
    const truth = packaging(pairs);
    const wrong: string[] = [];
    pairs.forEach(([a, b], i) => {
      const t = truth[i] as { va: boolean; vb: boolean; cmp: Cmp | null };
      if (pep440Comparator.isValid(a) !== t.va || pep440Comparator.isValid(b) !== t.vb) {
        wrong.push(`${JSON.stringify(a)} / ${JSON.stringify(b)}: validity`);
      } else if (t.cmp !== null && pep440Comparator.compare(a, b) !== t.cmp) {
        wrong.push(`${JSON.stringify(a)} vs ${JSON.stringify(b)}: packaging ${t.cmp}`);
      }
    });
    expect(truth.some((t) => !t.va)).toBe(true);
    expect(wrong).toEqual([]);
  });

  it("release numbers past 2^53 keep their order, so 1.9007199254740992 is not past a fix in 1.9007199254740993", () => {
    expect(packaging([["1.9007199254740992", "1.9007199254740993"]])[0]?.cmp).toBe(-1);
    expect(pep440Comparator.compare("1.9007199254740992", "1.9007199254740993")).toBe(-1);
    expect(isAffected("1.9007199254740992", fixedIn("1.9007199254740993"), "PyPI").kind).toBe(
      "affected",
    );
  });

  it("a bound that is no PEP 440 version (2019-09-12 in a real PYSEC record) is unknown", () => {
    expect(isAffected("1.0", fixedIn("2019-09-12"), "PyPI").kind).toBe("unknown");
  });
});

// ---------------------------------------------------------------------------------------------
// RubyGems: Ruby's own Gem::Version is the oracle; Gem::Version.new raises on invalid versions.

function gem(pairs: [string, string][]): { va: boolean; vb: boolean; cmp: Cmp | null }[] {
  const script = `
require "json"
STDIN.each_line do |line|
  a, b = JSON.parse(line)
  va = Gem::Version.correct?(a)
  vb = Gem::Version.correct?(b)
  cmp = va && vb ? (Gem::Version.new(a) <=> Gem::Version.new(b)) : nil
  puts JSON.generate({ "va" => !!va, "vb" => !!vb, "cmp" => cmp })
end`;
  return execFileSync("ruby", ["-e", script], {
    input: pairs.map((p) => JSON.stringify(p)).join("\n"),
    encoding: "utf8",
    maxBuffer: 64 * 1024 ** 2,
  })
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

describe("RubyGems (Gem::Version is the oracle)", () => {
  const SAMPLE = [
    "1.0",
    "1.0.a",
    "1.0-rc1",
    "",
    " 1.0 ",
    "1.0\u00a0",
    "1.0\u2003",
    "1.0\v",
    "1.99999999999999999999",
    "1.99999999999999999998",
    "1..0",
    "a1",
    ...generated(["1", "0", "9", ".", "-", "a", "pre", " ", "_"], 120, 23),
  ];

  it("accepts exactly what Gem::Version accepts, and orders it the same", () => {
    const pairs = pairsOf(SAMPLE);
    const truth = gem(pairs);
    const wrong: string[] = [];
    pairs.forEach(([a, b], i) => {
      const t = truth[i] as { va: boolean; vb: boolean; cmp: Cmp | null };
      if (rubygemsComparator.isValid(a) !== t.va || rubygemsComparator.isValid(b) !== t.vb) {
        wrong.push(`${JSON.stringify(a)} / ${JSON.stringify(b)}: validity`);
      } else if (t.cmp !== null && rubygemsComparator.compare(a, b) !== t.cmp) {
        wrong.push(`${JSON.stringify(a)} vs ${JSON.stringify(b)}: Gem::Version ${t.cmp}`);
      }
    });
    expect(truth.some((t) => !t.va)).toBe(true);
    expect(wrong).toEqual([]);
  });

  it("a non-ASCII space, which Ruby refuses, is refused and unknown", () => {
    expect(gem([["1.0\u00a0", "1.0"]])[0]?.va).toBe(false);
    expect(isAffected("1.0\u00a0", fixedIn("1.1"), "RubyGems").kind).toBe("unknown");
  });

  it("segments past 2^53 keep their order (Ruby Integers), so the older one is not past the fix", () => {
    expect(
      isAffected("1.99999999999999999998", fixedIn("1.99999999999999999999"), "RubyGems").kind,
    ).toBe("affected");
  });
});

// ---------------------------------------------------------------------------------------------
// Composer: composer/semver (Debian's php-composer-semver) is the oracle of composer.test.ts;
// its normalize throws on invalid versions, which we refuse.

describe("Packagist (composer/semver refuses invalid versions; so do we)", () => {
  it("an invalid version or a branch is unknown", () => {
    const normalize = (v: string): boolean =>
      spawnSync(
        "php",
        [
          "-r",
          'require "/usr/share/php/Composer/Semver/autoload.php"; try { (new Composer\\Semver\\VersionParser())->normalize($argv[1]); exit(0); } catch (Exception $e) { exit(1); }',
          v,
        ],
        { encoding: "utf8" },
      ).status === 0;
    expect(normalize("not-a-version")).toBe(false);
    expect(composerComparator.isValid("not-a-version")).toBe(false);
    expect(isAffected("not-a-version", fixedIn("1.0.0"), "Packagist").kind).toBe("unknown");
    expect(isAffected("dev-main", fixedIn("1.0.0"), "Packagist").kind).toBe("unknown");
    expect(isAffected("1.0.0", fixedIn("not-a-version"), "Packagist").kind).toBe("unknown");
  });
});

describe("NuGet and Maven (no oracle on Debian: their documented grammars)", () => {
  it("NuGet: a part past Int32, which NuGet.Versioning cannot read, is refused and unknown", () => {
    expect(nugetComparator.isValid("1.2147483648.0")).toBe(false);
    expect(nugetComparator.isValid("1.2147483647.0")).toBe(true);
    expect(isAffected("1.2147483648.0", fixedIn("2.0.0"), "NuGet").kind).toBe("unknown");
    expect(isAffected("not.a.version", fixedIn("2.0.0"), "NuGet").kind).toBe("unknown");
  });

  it("Maven: an unresolved property or a blank version is unknown, though ComparableVersion orders it", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Maven property, not a template
    const unresolved = "${revision}";
    // ComparableVersion puts it below 1.0: with introduced 1.0 it would look unaffected
    expect(mavenComparator.compare(unresolved, "1.0")).toBe(-1);
    expect(isAffected(unresolved, fixedIn("2.0", "1.0"), "Maven").kind).toBe("unknown");
    expect(isAffected("", fixedIn("2.0", "1.0"), "Maven").kind).toBe("unknown");
    expect(isAffected("1.5", fixedIn("2.0", "1.0"), "Maven").kind).toBe("affected");
  });
});

// ---------------------------------------------------------------------------------------------
// The matcher: a refused version is an "unknown" finding, never a clean package.

describe("matching an SBOM: refused versions are unknown findings", () => {
  it("reports go-ethereum v1.13.14 as affected, a (devel) build and a bad rpm-less version as unknown", async () => {
    const dir = tempDir();
    const ghsa = ghsaRecord("GHSA-4xc9-8hmq-j652");
    const file = join(dir, "osv.jsonl");
    writeFileSync(
      file,
      `${[
        JSON.stringify(ghsa),
        JSON.stringify({
          schema_version: "1.4.0",
          id: "PYSEC-0000-TEST",
          modified: "2024-01-01T00:00:00Z",
          affected: [
            {
              package: { ecosystem: "PyPI", name: "demo" },
              ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "1.0" }, { fixed: "1.5" }] }],
            },
          ],
        }),
      ].join("\n")}\n`,
    );
    const db = VulnDb.open(join(dir, "db"));
    await db.import([file], untarMembers);
    const pkg = (name: string, version: string, type: string, purl: string) => ({
      id: `${name}@${version}`,
      name,
      version,
      type,
      purl,
      cpes: [],
      licenseDeclared: [],
      foundBy: "test",
      locations: [],
      checksums: [],
      files: [],
      dependsOn: [],
    });
    const sbom = {
      subject: { kind: "directory", name: "t" },
      packages: [
        pkg("github.com/ethereum/go-ethereum", "v1.13.14", "golang", "pkg:golang/a@v1.13.14"),
        pkg("github.com/ethereum/go-ethereum", "(devel)", "golang", "pkg:golang/b@(devel)"),
        pkg("demo", "not a version", "pypi", "pkg:pypi/demo@x"),
        pkg("demo", "0.9", "pypi", "pkg:pypi/demo@0.9"),
      ],
      relationships: [],
      issues: [],
      created: "2024-01-01T00:00:00Z",
      tool: { name: "t", version: "0" },
    } as unknown as Sbom;
    const r = matchSbom(sbom, db);
    const by = Object.fromEntries(r.findings.map((f) => [f.package.id, f.status]));
    expect(by).toEqual({
      "github.com/ethereum/go-ethereum@v1.13.14": "affected",
      "github.com/ethereum/go-ethereum@(devel)": "unknown",
      "demo@not a version": "unknown",
    });
  });
});
