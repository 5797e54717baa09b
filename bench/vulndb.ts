// Benchmark: import throughput of the whole vulnerability corpus, and the warm time to match an
// SBOM of about 1,000 real Debian 11 packages against the whole database.
// Targets: import >= 20,000 records/s, match <= 100 ms. Then the growth curve: match time
// against package count (100 to 30,000 packages of the same index), with the time per package
// at each size (flat when linear).
//
// The packages are the first 1,000 binary packages of Debian 11 (bullseye) main, names, versions
// and source packages as the archive's Packages index lists them (fetched with apt into a
// private directory, cached), so the Debian advisories really are looked up and evaluated.
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { untarMembers } from "../src/app/vulndb.js";
import type { Package, Sbom } from "../src/sbom/index.js";
import { matchSbom, VulnDb } from "../src/vuln/index.js";

const ROOT = resolve(import.meta.dirname, "..");
const VULNDB = resolve(ROOT, "../shared/corpus/vulndb");
const RUNS = Number(process.env["BENCH_RUNS"] ?? 5);

function bullseyePackages(): string {
  const dir = join(ROOT, ".cache", "apt-bullseye");
  const out = join(dir, "Packages");
  if (existsSync(out)) {
    return readFileSync(out, "utf8");
  }
  mkdirSync(join(dir, "lists", "partial"), { recursive: true });
  mkdirSync(join(dir, "cache", "archives", "partial"), { recursive: true });
  writeFileSync(join(dir, "sources.list"), "deb http://deb.debian.org/debian bullseye main\n");
  const o = [
    `-o`,
    `Dir::Etc::SourceList=${join(dir, "sources.list")}`,
    `-o`,
    "Dir::Etc::SourceParts=/dev/null",
    `-o`,
    `Dir::State::Lists=${join(dir, "lists")}`,
    `-o`,
    `Dir::Cache=${join(dir, "cache")}`,
  ];
  execFileSync("apt-get", [...o, "update", "-qq"], { stdio: "inherit" });
  const index = readdirSync(join(dir, "lists")).find(
    (f) => f.endsWith("_Packages.lz4") || f.endsWith("_Packages"),
  );
  if (!index) {
    throw new Error("no Packages index fetched");
  }
  const text = execFileSync("/usr/lib/apt/apt-helper", ["cat-file", join(dir, "lists", index)], {
    maxBuffer: 1024 ** 3,
  }).toString();
  writeFileSync(out, text);
  return text;
}

function sbomOf(index: string, n: number): Sbom {
  const packages: Package[] = [];
  for (const stanza of index.split("\n\n")) {
    const f = new Map(
      stanza
        .split("\n")
        .filter((l) => /^[A-Za-z-]+: /.test(l))
        .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)]),
    );
    const name = f.get("Package");
    const version = f.get("Version");
    if (!name || !version) {
      continue;
    }
    const src = f.get("Source") ?? name;
    const m = /^(\S+)(?: \((.+)\))?$/.exec(src);
    packages.push({
      id: `pkg-${packages.length}`,
      name,
      version,
      type: "deb",
      purl: `pkg:deb/debian/${name}@${encodeURIComponent(version)}?distro=debian-11`,
      cpes: [],
      licenseDeclared: [],
      foundBy: "bench",
      locations: [],
      checksums: [],
      source: { name: m?.[1] ?? name, version: m?.[2] ?? version },
      files: [],
      dependsOn: [],
    });
    if (packages.length === n) {
      break;
    }
  }
  return {
    subject: { kind: "directory", path: "bench" },
    distro: { id: "debian", versionId: "11" },
    packages,
    relationships: packages.map((p) => ({ from: "root", to: p.id, type: "contains" as const })),
    issues: [],
    created: "2026-01-01T00:00:00Z",
    tool: { name: "bench", version: "0" },
  };
}

// --- import --------------------------------------------------------------------------------
let records = 0;
const importTimes: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const dir = mkdtempSync(join(tmpdir(), "cleanimg-vulndb-bench-"));
  const db = VulnDb.open(dir);
  const t = process.hrtime.bigint();
  const r = await db.import([VULNDB], untarMembers);
  importTimes.push(Number(process.hrtime.bigint() - t) / 1e9);
  records = r.sources.reduce((n, s) => n + s.records, 0);
  db.close();
  rmSync(dir, { recursive: true, force: true });
}
const bestImport = Math.min(...importTimes);

// --- match ---------------------------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), "cleanimg-vulndb-bench-"));
const db = VulnDb.open(dir);
await db.import([VULNDB], untarMembers);
const sbom = sbomOf(bullseyePackages(), 1000);
let findings = 0;
matchSbom(sbom, db); // warm-up: statement cache and OS page cache
const matchTimes: number[] = [];
for (let i = 0; i < RUNS * 2; i++) {
  const t = process.hrtime.bigint();
  findings = matchSbom(sbom, db).findings.length;
  matchTimes.push(Number(process.hrtime.bigint() - t) / 1e6);
}
// the growth curve: the first N packages of the same index, N from 100 to 30,000
const index = bullseyePackages();
const curve = [100, 1000, 3000, 10_000, 30_000].map((n) => {
  const s = sbomOf(index, n);
  matchSbom(s, db);
  let ms = Number.POSITIVE_INFINITY;
  let found = 0;
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    found = matchSbom(s, db).findings.length;
    ms = Math.min(ms, Number(process.hrtime.bigint() - t) / 1e6);
  }
  return { n: s.packages.length, ms, found };
});
db.close();
rmSync(dir, { recursive: true, force: true });
const bestMatch = Math.min(...matchTimes);
const median = [...matchTimes].sort((a, b) => a - b)[Math.floor(matchTimes.length / 2)] ?? 0;

console.log(
  `import: ${records} records of ../shared/corpus/vulndb in ${bestImport.toFixed(2)} s (best of ${RUNS}) = ${Math.round(records / bestImport)} records/s (target >= 20000)`,
);
console.log(
  `match: SBOM of ${sbom.packages.length} Debian 11 packages against ${records} records: ${bestMatch.toFixed(1)} ms best, ${median.toFixed(1)} ms median warm (target <= 100 ms); ${findings} findings`,
);
console.log(`match time against package count (Debian 11 packages, best of ${RUNS}):`);
console.log("| packages | match | µs per package | findings |");
console.log("|---|---|---|---|");
for (const c of curve) {
  console.log(
    `| ${c.n} | ${c.ms.toFixed(1)} ms | ${((c.ms * 1000) / c.n).toFixed(0)} | ${c.found} |`,
  );
}
const c0 = curve[0] as (typeof curve)[number];
const cN = curve.at(-1) as (typeof curve)[number];
console.log(
  `shape: ${(cN.n / c0.n).toFixed(0)}x the packages took ${(cN.ms / c0.ms).toFixed(1)}x the time (linear: ${(cN.n / c0.n).toFixed(0)}x)`,
);
