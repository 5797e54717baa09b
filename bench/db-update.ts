// Benchmark: `db update` from a mirror on 127.0.0.1 against `db import` of the same files from
// disk, and against the floor of the fetch alone (the same bytes over HTTP, nothing parsed).
// Prints records/s and the ratios. The mirror serves the corpus's real records in the upstream
// layouts: OSV `<ecosystem>/all.zip` for Go, PyPI and crates.io (zips written by Python's
// zipfile), Alpine secdb and CISA's KEV.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { createAppContext, importVulnData, updateVulnDb } from "../src/app/index.js";

const CORPUS = resolve(import.meta.dirname, "../../shared/corpus/vulndb");
const RUNS = Number(process.env["BENCH_RUNS"] ?? 3);
const work = mkdtempSync(join(tmpdir(), "bench-db-update-"));

const lines = (f: string) =>
  gunzipSync(readFileSync(join(CORPUS, f)))
    .toString("utf8")
    .split("\n")
    .filter(Boolean);

function zipOf(name: string, records: string[]): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const r of records) {
    writeFileSync(join(dir, `${(JSON.parse(r) as { id: string }).id}.json`), r);
  }
  const out = join(work, `${name}.zip`);
  execFileSync("python3", [
    "-c",
    "import sys,os,zipfile\nz=zipfile.ZipFile(sys.argv[2],'w',zipfile.ZIP_DEFLATED)\nfor n in sorted(os.listdir(sys.argv[1])): z.write(os.path.join(sys.argv[1],n),n)\nz.close()",
    dir,
    out,
  ]);
  return out;
}

const files = new Map<string, string>([
  ["/osv/Go/all.zip", zipOf("go", lines("go-osv.jsonl.gz"))],
  ["/osv/PyPI/all.zip", zipOf("pypi", lines("pypi-osv.jsonl.gz"))],
  ["/osv/crates.io/all.zip", zipOf("crates", lines("crates-osv.jsonl.gz"))],
]);
const secdb = join(work, "v3.11-main.json");
writeFileSync(
  secdb,
  lines("alpine-secdb.jsonl.gz").find((l) =>
    l.includes('"distroversion":"v3.11","reponame":"main"'),
  ) as string,
);
files.set("/alpine/v3.11/main.json", secdb);
const kev = join(work, "kev.json");
writeFileSync(
  kev,
  gunzipSync(readFileSync(join(CORPUS, "kev/known_exploited_vulnerabilities.json.gz"))),
);
files.set("/kev/known_exploited_vulnerabilities.json", kev);
const bodies = new Map([...files].map(([p, f]) => [p, readFileSync(f)]));

const server = createServer((req, res) => {
  const b = bodies.get(new URL(req.url ?? "/", "http://x").pathname);
  if (!b) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-length": String(b.length) }).end(b);
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const sources = ["osv:Go", "osv:PyPI", "osv:crates.io", "alpine:v3.11/main", "kev"];

async function best(f: () => Promise<number>): Promise<{ ms: number; records: number }> {
  let ms = Number.POSITIVE_INFINITY;
  let records = 0;
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    records = await f();
    ms = Math.min(ms, performance.now() - t);
  }
  return { ms, records };
}

const floor = await best(async () => {
  let n = 0;
  for (const p of files.keys()) {
    n += (await (await fetch(`${base}${p}`)).arrayBuffer()).byteLength;
  }
  return n;
});
const update = await best(async () => {
  const r = await updateVulnDb(createAppContext({ home: mkdtempSync(join(work, "h-")), env: {} }), {
    sources,
    baseUrls: { osv: `${base}/osv`, alpine: `${base}/alpine`, kev: `${base}/kev` },
    insecure: true,
  });
  return r.sources.reduce((n, s) => n + s.records, 0);
});
const imported = await best(async () => {
  const r = await importVulnData(
    createAppContext({ home: mkdtempSync(join(work, "h-")), env: {} }),
    [...files.values()],
  );
  return r.sources.reduce((n, s) => n + s.records, 0);
});
server.close();
rmSync(work, { recursive: true, force: true });

const rate = (x: { ms: number; records: number }) => Math.round(x.records / (x.ms / 1000));
console.log(
  `db update (127.0.0.1 mirror)  ${update.records} records  ${update.ms.toFixed(0)} ms  ${rate(update)} records/s`,
);
console.log(
  `db import (same files, disk)  ${imported.records} records  ${imported.ms.toFixed(0)} ms  ${rate(imported)} records/s`,
);
console.log(
  `fetch alone (floor)           ${(floor.records / 1024 ** 2).toFixed(1)} MiB  ${floor.ms.toFixed(0)} ms`,
);
console.log(
  `update / import: ${(update.ms / imported.ms).toFixed(2)}x   update / fetch floor: ${(update.ms / floor.ms).toFixed(1)}x`,
);
