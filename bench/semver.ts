// Benchmark and agreement check: cleanimg's own node-semver grammar (src/versions/npm-semver.ts as
// it was before the `semver` package replaced it, read from git at BASELINE) against `semver`
// (npm's own implementation) and against src/versions as it is now, in the same run.
//
// Agreement: node-semver's fixtures (../shared/corpus/versions/npm-semver*.jsonl), the validity and
// order of every SEMVER bound of the Go and crates.io OSV corpora (read as src/versions/range.ts
// reads them: a leading "v" dropped) and of generated strings, and crafted cases where SemVer 2.0
// and node-semver part (numeric prerelease identifiers past 2^53). Speed and peak RSS: each
// implementation in its own child process over the same workload (process.resourceUsage()).
//
//   node --import tsx bench/semver.ts            (BENCH_ROUNDS: workload repetitions, default 3)
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import fc from "fast-check";
import * as semver from "semver";

const ROOT = resolve(import.meta.dirname, "..");
/** The last commit with cleanimg's own node-semver grammar. */
const BASELINE = "0d33e3ee76cf091985b894b2b6e788586d13640c";
const CORPUS = resolve(ROOT, "../shared/corpus");
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 3);

type Cmp = -1 | 0 | 1;
interface Impl {
  compare(a: string, b: string, o?: { loose?: boolean }): Cmp;
  valid(v: string): boolean;
  satisfies(v: string, r: string, o?: { loose?: boolean; includePrerelease?: boolean }): boolean;
  /** range.ts's SEMVER reading: parse after dropping a leading "v", SemVer 2.0 order. */
  osvValid(v: string): boolean;
  osvCompare(a: string, b: string): Cmp;
}

/** Writes the baseline's npm-semver.ts and what it imports into .cache, unchanged. */
function baselineDir(): string {
  const dir = join(ROOT, ".cache", "bench", `semver-baseline-${BASELINE.slice(0, 12)}`);
  for (const f of [
    "src/versions/npm-semver.ts",
    "src/versions/comparator.ts",
    "src/versions/semver-core.ts",
    "src/core/errors.ts",
  ]) {
    mkdirSync(join(dir, f, ".."), { recursive: true });
    writeFileSync(
      join(dir, f),
      execFileSync("git", ["show", `${BASELINE}:${f}`], { cwd: ROOT, maxBuffer: 1 << 26 }),
    );
  }
  return dir;
}

type NpmSemverModule = typeof import("../src/versions/npm-semver.js");

function fromModule(m: NpmSemverModule): Impl {
  const ok = (f: () => unknown): boolean => {
    try {
      f();
      return true;
    } catch {
      return false;
    }
  };
  const osv = (v: string) => m.parseSemver(v.replace(/^v/, ""));
  return {
    compare: (a, b, o) => m.compareNpm(a, b, o ?? {}),
    valid: (v) => m.npmComparator.isValid(v),
    satisfies: (v, r, o) => m.semverSatisfies(v, r, o ?? {}),
    osvValid: (v) => ok(() => osv(v)),
    osvCompare: (a, b) => m.compareSemver(osv(a), osv(b)),
  };
}

const library: Impl = {
  compare: (a, b, o) => semver.compare(a, b, o ?? {}),
  valid: (v) => semver.valid(v) !== null,
  satisfies: (v, r, o) => semver.satisfies(v, r, o ?? {}),
  osvValid: (v) => semver.valid(v.replace(/^v/, "")) !== null,
  osvCompare: (a, b) => semver.compare(a.replace(/^v/, ""), b.replace(/^v/, "")),
};

async function load(which: string): Promise<Impl> {
  if (which === "semver") {
    return library;
  }
  const file =
    which === "baseline"
      ? join(baselineDir(), "src/versions/npm-semver.ts")
      : join(ROOT, "src/versions/npm-semver.ts");
  return fromModule((await import(file)) as NpmSemverModule);
}

function jsonl<T>(file: string): T[] {
  const raw = readFileSync(file);
  return (file.endsWith(".gz") ? gunzipSync(raw) : raw)
    .toString("utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

interface CmpVector {
  a: string;
  b: string;
  cmp: Cmp;
  options?: { loose?: boolean };
}
interface RangeVector {
  version: string;
  range: string;
  satisfies: boolean;
  options?: { loose?: boolean; includePrerelease?: boolean };
}
const cmpVectors = jsonl<CmpVector>(join(CORPUS, "versions/npm-semver.jsonl"));
const rangeVectors = jsonl<RangeVector>(join(CORPUS, "versions/npm-semver-ranges.jsonl"));

/** Every SEMVER event version of the Go and crates.io OSV corpora. */
function osvBounds(): string[] {
  const out = new Set<string>();
  for (const f of ["go-osv.jsonl.gz", "crates-osv.jsonl.gz"]) {
    for (const rec of jsonl<{
      affected?: { ranges?: { type: string; events: Record<string, string>[] }[] }[];
    }>(join(CORPUS, "vulndb", f))) {
      for (const a of rec.affected ?? []) {
        for (const r of a.ranges ?? []) {
          if (r.type === "SEMVER") {
            for (const e of r.events) {
              for (const v of Object.values(e)) {
                out.add(v);
              }
            }
          }
        }
      }
    }
  }
  return [...out].sort();
}

const bounds = osvBounds();
const generated = fc.sample(
  fc
    .array(fc.constantFrom("1", "0", "01", "2", ".", "-", "+", "v", "=", "rc", " ", "x", "9"), {
      minLength: 1,
      maxLength: 8,
    })
    .map((p) => p.join("")),
  { numRuns: 4000, seed: 26 },
);
const crafted = [
  "1.0.0-9007199254740992",
  "1.0.0-9007199254740993",
  "1.0.0-99999999999999999999",
  "1.0.0-99999999999999999998",
  "9007199254740991.0.0",
  "9007199254740992.0.0",
  `1.2.3-${"a".repeat(250)}`,
  `1.2.3-${"a".repeat(251)}`,
  "=1.2.3",
  "v1.2.3",
  " 1.2.3\t",
];
const strings = [
  ...new Set([
    ...cmpVectors.flatMap((v) => [v.a, v.b]),
    ...rangeVectors.map((v) => v.version),
    ...bounds,
    ...generated,
    ...crafted,
  ]),
];

/**
 * Neighbouring pairs of the sorted valid strings, every pair among a spread sample, and every
 * pair of valid crafted strings.
 */
function pairs(valid: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  const set = new Set(valid);
  for (const a of crafted) {
    for (const b of crafted) {
      if (set.has(a) && set.has(b)) {
        out.push([a, b]);
      }
    }
  }
  for (let i = 1; i < valid.length; i++) {
    out.push([valid[i - 1] as string, valid[i] as string]);
  }
  const step = Math.max(1, Math.floor(valid.length / 150));
  const spread = valid.filter((_, i) => i % step === 0);
  for (const a of spread) {
    for (const b of spread) {
      out.push([a, b]);
    }
  }
  return out;
}

function workload(impl: Impl): number {
  let n = 0;
  const valid = strings.filter((s) => impl.valid(s));
  const osvValid = bounds.filter((s) => impl.osvValid(s));
  const ps = pairs(valid);
  const os = pairs(osvValid);
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of strings) {
      n += impl.valid(s) ? 1 : 0;
    }
    for (const [a, b] of ps) {
      n += impl.compare(a, b);
    }
    for (const [a, b] of os) {
      n += impl.osvCompare(a, b);
    }
    for (const v of rangeVectors) {
      n += impl.satisfies(v.version, v.range, v.options) ? 1 : 0;
    }
  }
  return n;
}

if (process.argv[2] === "--child") {
  const which = process.argv[3] ?? "";
  const impl = await load(which);
  const t = process.hrtime.bigint();
  const checksum = which === "floor" ? 0 : workload(impl);
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  process.stdout.write(
    `${JSON.stringify({ ms, maxRssKiB: process.resourceUsage().maxRSS, checksum })}\n`,
  );
  process.exit(0);
}

// ------------------------------------------------------------------ agreement
const baseline = await load("baseline");
const current = await load("current");
const safe = <T>(f: () => T): T | "throws" => {
  try {
    return f();
  } catch {
    return "throws";
  }
};

function agreement(name: string, a: Impl, b: Impl): void {
  const diffs: string[] = [];
  let checked = 0;
  const note = (s: string) => {
    if (diffs.length < 12) {
      diffs.push(s);
    }
  };
  for (const s of strings) {
    checked++;
    if (a.valid(s) !== b.valid(s)) {
      note(`valid ${JSON.stringify(s)}: ${a.valid(s)} vs ${b.valid(s)}`);
    }
  }
  const valid = strings.filter((s) => a.valid(s) && b.valid(s));
  for (const [x, y] of pairs(valid)) {
    checked++;
    const p = safe(() => a.compare(x, y));
    const q = safe(() => b.compare(x, y));
    if (p !== q) {
      note(`compare ${x} ${y}: ${p} vs ${q}`);
    }
  }
  for (const v of rangeVectors) {
    checked++;
    if (a.satisfies(v.version, v.range, v.options) !== b.satisfies(v.version, v.range, v.options)) {
      note(`satisfies ${v.version} "${v.range}"`);
    }
  }
  const osvStrings = [...bounds, ...crafted, ...generated];
  for (const s of osvStrings) {
    checked++;
    if (a.osvValid(s) !== b.osvValid(s)) {
      note(`OSV SEMVER valid ${JSON.stringify(s)}: ${a.osvValid(s)} vs ${b.osvValid(s)}`);
    }
  }
  for (const [x, y] of pairs(osvStrings.filter((s) => a.osvValid(s) && b.osvValid(s)))) {
    checked++;
    const p = safe(() => a.osvCompare(x, y));
    const q = safe(() => b.osvCompare(x, y));
    if (p !== q) {
      note(`OSV SEMVER compare ${x} ${y}: ${p} vs ${q}`);
    }
  }
  process.stdout.write(`${name}: ${checked} checks, ${diffs.length ? "differs" : "identical"}\n`);
  for (const d of diffs) {
    process.stdout.write(`  ${d}\n`);
  }
}

function fixtures(name: string, impl: Impl): void {
  const c = cmpVectors.filter(
    (v) =>
      safe(() => impl.compare(v.a, v.b, v.options)) !== v.cmp ||
      safe(() => impl.compare(v.b, v.a, v.options)) !== -v.cmp,
  ).length;
  const r = rangeVectors.filter(
    (v) => impl.satisfies(v.version, v.range, v.options) !== v.satisfies,
  ).length;
  process.stdout.write(
    `${name}: node-semver fixtures: comparisons ${cmpVectors.length - c}/${cmpVectors.length}, ranges ${rangeVectors.length - r}/${rangeVectors.length}\n`,
  );
}

process.stdout.write(
  `strings: ${strings.length} (${bounds.length} OSV SEMVER bounds of Go and crates.io, ${generated.length} generated, ${crafted.length} crafted)\n`,
);
fixtures("baseline", baseline);
fixtures("semver", library);
fixtures("current", current);
agreement("baseline vs semver", baseline, library);
agreement("current vs semver", current, library);
agreement("current vs baseline", current, baseline);

// ------------------------------------------------------------------ speed and peak RSS
function child(which: string): { ms: number; maxRssKiB: number; checksum: number } {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", join(ROOT, "bench/semver.ts"), "--child", which],
    { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 24 },
  );
  if (r.status !== 0) {
    throw new Error(`${which}: ${r.stderr}`);
  }
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}");
}

const runs = Object.fromEntries(
  ["floor", "baseline", "semver", "current"].map((w) => [w, child(w)] as const),
);
const base = runs["baseline"];
if (!base) {
  throw new Error("no baseline run");
}
process.stdout.write(`\nworkload x${ROUNDS}, one child process each\n`);
process.stdout.write("impl       time ms   x baseline   peak RSS MiB   x baseline   checksum\n");
for (const [w, r] of Object.entries(runs)) {
  process.stdout.write(
    `${w.padEnd(9)} ${r.ms.toFixed(0).padStart(8)}   ${w === "floor" ? "      -" : (r.ms / base.ms).toFixed(2).padStart(7)}      ${(r.maxRssKiB / 1024).toFixed(1).padStart(9)}      ${(r.maxRssKiB / base.maxRssKiB).toFixed(2).padStart(7)}   ${r.checksum}\n`,
  );
}
