// Benchmark and agreement check for JAR/WAR/EAR reading: cleanimg's src/core/zip.ts (archive held
// whole in memory) against yauzl (random access from a file descriptor or a buffer) and fflate's
// streaming Unzip (the archive read as a stream of local headers), in the same run.
//
// Archives: Debian's jars (apt-get download, cached), a WAR of all of them under WEB-INF/lib plus a
// 40 MiB stored member, and three hostile archives made here: overlapping entries (200 central
// directory entries that all point at one deflated 32 MiB member), a zip bomb (a member that
// declares 1 KiB and inflates to 1 GiB) and a huge central directory (65,535 entries, 33 MiB). Each
// reader runs in its own child process, reading every member up to 64 MiB (crc32 of the bytes it
// produced) and descending into nested archives to depth 3, as src/sbom/catalogers/java/java.ts does;
// the parent compares the (name, size, crc32) lists and prints time and peak RSS
// (process.resourceUsage().maxRSS) with ratios to ours. A child is stopped after 60 s.
//
//   node --import tsx bench/zip.ts      (BENCH_ONLY=<part of an archive's label>: that one alone)
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { crc32, deflateRawSync } from "node:zlib";
import { zipEntries, zipRead } from "../src/core/zip.js";
import { fetchDebs } from "../test/support/debs.js";

const ROOT = resolve(import.meta.dirname, "..");
const DIR = join(ROOT, ".cache", "bench", "zip");
const CANDIDATES = join(ROOT, ".cache", "bench", "zip-candidates");
const MAX_MEMBER = 64 * 1024 * 1024;
const MAX_DEPTH = 3;
const ARCHIVE = /\.(jar|war|ear)$/i;
const DEBS = [
  "libcommons-lang3-java",
  "libjackson2-core-java",
  "libjackson2-databind-java",
  "libguava-java",
  "libbcprov-java",
  "libecj-java",
];

interface Found {
  readonly path: string;
  readonly size: number;
  readonly crc: number;
}
type Reader = (file: string) => Promise<{ found: Found[]; refused: number }>;

// ------------------------------------------------------------------ readers
const ours: Reader = async (file) => {
  const found: Found[] = [];
  let refused = 0;
  const visit = (bytes: Uint8Array, at: string, depth: number): void => {
    const entries = zipEntries(bytes);
    if (typeof entries === "string") {
      refused++;
      return;
    }
    for (const e of entries) {
      if (e.name.endsWith("/")) {
        continue;
      }
      const data = zipRead(bytes, e, MAX_MEMBER);
      if (!data) {
        refused++;
        continue;
      }
      found.push({ path: `${at}:${e.name}`, size: data.length, crc: crc32(data) });
      if (ARCHIVE.test(e.name) && depth < MAX_DEPTH) {
        visit(data, `${at}:${e.name}`, depth + 1);
      }
    }
  };
  visit(readFileSync(file), "", 0);
  return { found, refused };
};

async function candidate<T>(name: string): Promise<T> {
  return (await import(
    join(CANDIDATES, "node_modules", name, name === "fflate" ? "esm/index.mjs" : "index.js")
  )) as T;
}

interface YauzlEntry {
  fileName: string;
  uncompressedSize: number;
}
interface YauzlZip {
  readEntry(): void;
  on(ev: "entry", f: (e: YauzlEntry) => void): void;
  on(ev: "end", f: () => void): void;
  on(ev: "error", f: (e: Error) => void): void;
  openReadStream(e: YauzlEntry, cb: (err: Error | null, s: NodeJS.ReadableStream) => void): void;
  close(): void;
}
type YauzlOpen = (
  src: string | Buffer,
  o: object,
  cb: (err: Error | null, z: YauzlZip) => void,
) => void;

const yauzl: Reader = async (file) => {
  const y = await candidate<{ open: YauzlOpen; fromBuffer: YauzlOpen; default?: unknown }>("yauzl");
  const mod = (y.default ?? y) as { open: YauzlOpen; fromBuffer: YauzlOpen };
  const found: Found[] = [];
  let refused = 0;
  const visit = (src: string | Buffer, at: string, depth: number): Promise<void> =>
    new Promise((done) => {
      const open = typeof src === "string" ? mod.open : mod.fromBuffer;
      open(src, { lazyEntries: true }, (err, z) => {
        if (err) {
          refused++;
          done();
          return;
        }
        z.on("error", () => {
          refused++;
          done();
        });
        z.on("end", () => done());
        z.on("entry", (e) => {
          if (e.fileName.endsWith("/")) {
            z.readEntry();
            return;
          }
          if (e.uncompressedSize > MAX_MEMBER) {
            refused++;
            z.readEntry();
            return;
          }
          z.openReadStream(e, (err2, s) => {
            if (err2) {
              refused++;
              z.readEntry();
              return;
            }
            const parts: Buffer[] = [];
            s.on("data", (c: Buffer) => parts.push(c));
            s.on("error", () => {
              refused++;
              z.readEntry();
            });
            s.on("end", () => {
              const data = Buffer.concat(parts);
              const path = `${at}:${e.fileName}`;
              found.push({ path, size: data.length, crc: crc32(data) });
              if (ARCHIVE.test(e.fileName) && depth < MAX_DEPTH) {
                void visit(data, path, depth + 1).then(() => z.readEntry());
              } else {
                z.readEntry();
              }
            });
          });
        });
        z.readEntry();
      });
    });
  await visit(file, "", 0);
  return { found, refused };
};

interface FflateFile {
  name: string;
  ondata: (err: Error | null, chunk: Uint8Array, final: boolean) => void;
  start(): void;
  terminate(): void;
}
interface FflateUnzip {
  register(d: unknown): void;
  push(chunk: Uint8Array, final?: boolean): void;
}

const fflate: Reader = async (file) => {
  const f = await candidate<{
    Unzip: new (cb: (file: FflateFile) => void) => FflateUnzip;
    UnzipInflate: unknown;
  }>("fflate");
  const found: Found[] = [];
  let refused = 0;
  const visit = async (chunks: AsyncIterable<Uint8Array>, at: string, depth: number) => {
    const nested: [string, Uint8Array][] = [];
    const uz = new f.Unzip((entry) => {
      if (entry.name.endsWith("/")) {
        return;
      }
      const parts: Uint8Array[] = [];
      let size = 0;
      entry.ondata = (err, chunk, final) => {
        if (err) {
          refused++;
          return;
        }
        size += chunk.length;
        if (size > MAX_MEMBER) {
          refused++;
          entry.terminate();
          return;
        }
        parts.push(chunk);
        if (final) {
          const data = Buffer.concat(parts);
          const path = `${at}:${entry.name}`;
          found.push({ path, size: data.length, crc: crc32(data) });
          if (ARCHIVE.test(entry.name) && depth < MAX_DEPTH) {
            nested.push([path, data]);
          }
        }
      };
      entry.start();
    });
    uz.register(f.UnzipInflate);
    try {
      for await (const c of chunks) {
        uz.push(c);
      }
      uz.push(new Uint8Array(0), true);
    } catch {
      refused++;
    }
    for (const [path, data] of nested.splice(0)) {
      await visit(
        (async function* () {
          yield data;
        })(),
        path,
        depth + 1,
      );
    }
  };
  await visit(createReadStream(file, { highWaterMark: 1 << 20 }), "", 0);
  return { found, refused };
};

const READERS: Record<string, Reader> = { ours, yauzl, fflate };

if (process.argv[2] === "--child") {
  const reader = READERS[process.argv[3] ?? ""];
  const file = process.argv[4] ?? "";
  if (!reader) {
    throw new Error("unknown reader");
  }
  const t = process.hrtime.bigint();
  const r = await reader(file);
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  const lines = r.found.map((x) => `${x.path} ${x.size} ${x.crc}`).sort();
  process.stdout.write(
    `${JSON.stringify({
      ms,
      maxRssKiB: process.resourceUsage().maxRSS,
      members: lines.length,
      bytes: r.found.reduce((n, x) => n + x.size, 0),
      refused: r.refused,
      digest: createHash("sha256").update(lines.join("\n")).digest("hex").slice(0, 12),
      sample: lines.slice(0, 3),
    })}\n`,
  );
  process.exit(0);
}

// ------------------------------------------------------------------ archives
function ensureCandidates(): void {
  if (
    !existsSync(join(CANDIDATES, "node_modules/yauzl")) ||
    !existsSync(join(CANDIDATES, "node_modules/fflate"))
  ) {
    mkdirSync(CANDIDATES, { recursive: true });
    writeFileSync(join(CANDIDATES, "package.json"), '{"name":"zip-candidates","private":true}\n');
    execFileSync(
      "npm",
      ["install", "--ignore-scripts", "--save-exact", "yauzl@3.4.0", "fflate@0.8.3"],
      {
        cwd: CANDIDATES,
        stdio: "ignore",
      },
    );
  }
}

/** A zip written here: local headers, central directory, end record (no Zip64). */
function writeZip(
  members: { name: string; data: Uint8Array; method: 0 | 8; size?: number; raw?: Uint8Array }[],
  cdOverride?: (offsets: number[]) => Buffer[],
): Buffer {
  const local: Buffer[] = [];
  const cen: Buffer[] = [];
  const offsets: number[] = [];
  let off = 0;
  for (const m of members) {
    const name = Buffer.from(m.name);
    const body = m.raw ?? (m.method === 8 ? deflateRawSync(m.data) : Buffer.from(m.data));
    const size = m.size ?? m.data.length;
    const crc = crc32(m.data);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt16LE(m.method, 8);
    h.writeUInt32LE(crc, 14);
    h.writeUInt32LE(body.length, 18);
    h.writeUInt32LE(size, 22);
    h.writeUInt16LE(name.length, 26);
    offsets.push(off);
    local.push(h, name, Buffer.from(body));
    off += 30 + name.length + body.length;
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(m.method, 10);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(body.length, 20);
    c.writeUInt32LE(size, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt32LE(offsets[offsets.length - 1] as number, 42);
    cen.push(Buffer.concat([c, name]));
  }
  const dir = cdOverride ? cdOverride(offsets) : cen;
  const cdSize = dir.reduce((n, b) => n + b.length, 0);
  const e = Buffer.alloc(22);
  e.writeUInt32LE(0x06054b50, 0);
  e.writeUInt16LE(Math.min(dir.length, 0xffff), 8);
  e.writeUInt16LE(Math.min(dir.length, 0xffff), 10);
  e.writeUInt32LE(cdSize, 12);
  e.writeUInt32LE(off, 16);
  return Buffer.concat([...local, ...dir, e]);
}

function archives(): Record<string, string> {
  mkdirSync(DIR, { recursive: true });
  const out: Record<string, string> = {};
  const x = join(DIR, "debs");
  const debs = fetchDebs(DEBS);
  if (!existsSync(join(x, "usr/share/java"))) {
    for (const d of debs) {
      execFileSync("dpkg-deb", ["-x", d, x]);
    }
  }
  out["commons-lang3.jar"] = join(x, "usr/share/java/commons-lang3.jar");
  out["guava.jar"] = join(x, "usr/share/java/guava.jar");
  out["bcprov.jar"] = join(x, "usr/share/java/bcprov.jar");
  out["ecj.jar"] = join(x, "usr/share/java/ecj.jar");
  const war = join(DIR, "app.war");
  if (!existsSync(war)) {
    const w = join(DIR, "war");
    mkdirSync(join(w, "WEB-INF/lib"), { recursive: true });
    execFileSync("sh", [
      "-c",
      `cp -L ${join(x, "usr/share/java")}/*.jar ${join(w, "WEB-INF/lib")}/`,
    ]);
    writeFileSync(join(w, "WEB-INF/blob.bin"), randomBytes(40 * 1024 * 1024));
    execFileSync("zip", ["-q", "-r", "-0", war, "WEB-INF"], { cwd: w });
  }
  out["app.war (all jars nested + 40 MiB)"] = war;
  const overlap = join(DIR, "overlap.jar");
  if (!existsSync(overlap)) {
    const big = new Uint8Array(32 * 1024 * 1024);
    const z = writeZip([{ name: "a.jar", data: big, method: 8 }], (offsets) => {
      const one = writeZip([{ name: "a.jar", data: big, method: 8 }]);
      // the single central directory record, repeated under 200 names, all at offset 0
      const at = one.length - 22 - (46 + 5);
      const rec = one.subarray(at, at + 46 + 5);
      return Array.from({ length: 200 }, (_, i) => {
        const name = Buffer.from(`lib/x${String(i).padStart(3, "0")}.jar`);
        const c = Buffer.from(rec.subarray(0, 46));
        c.writeUInt16LE(name.length, 28);
        c.writeUInt32LE(offsets[0] as number, 42);
        return Buffer.concat([c, name]);
      });
    });
    writeFileSync(overlap, z);
  }
  out["overlapping entries (200 x 32 MiB)"] = overlap;
  const bomb = join(DIR, "bomb.jar");
  if (!existsSync(bomb)) {
    const chunk = deflateRawSync(new Uint8Array(1024 * 1024 * 1024), { level: 9 });
    writeFileSync(
      bomb,
      writeZip([
        { name: "META-INF/MANIFEST.MF", data: new Uint8Array(1024), method: 8, raw: chunk },
      ]),
    );
  }
  out["zip bomb (1 KiB declared, 1 GiB inflated)"] = bomb;
  const huge = join(DIR, "huge-cd.jar");
  if (!existsSync(huge)) {
    const members = Array.from({ length: 65_535 }, (_, i) => ({
      name: `c/${String(i).padStart(5, "0")}${"x".repeat(500)}.class`,
      data: new Uint8Array(0),
      method: 0 as const,
    }));
    writeFileSync(huge, writeZip(members));
  }
  out["huge central directory (65,535 entries, 33 MiB)"] = huge;
  return out;
}

// ------------------------------------------------------------------ run
interface Run {
  ms: number;
  maxRssKiB: number;
  members: number;
  bytes: number;
  refused: number;
  digest: string;
}
function child(reader: string, file: string): Run | string {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", join(ROOT, "bench/zip.ts"), "--child", reader, file],
    {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
      maxBuffer: 1 << 24,
    },
  );
  if (r.error || r.status !== 0) {
    return r.signal
      ? `stopped at 60 s (${r.signal})`
      : `failed: ${(r.stderr || String(r.error)).split("\n").find((l) => l.trim()) ?? ""}`;
  }
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as Run;
}

ensureCandidates();
const floor = child("ours", "/dev/null");
process.stdout.write(
  `floor (a child that reads nothing): ${typeof floor === "string" ? floor : `${(floor.maxRssKiB / 1024).toFixed(1)} MiB`}\n\n`,
);
const only = process.env["BENCH_ONLY"];
for (const [label, file] of Object.entries(archives())) {
  if (only && !label.includes(only)) {
    continue;
  }
  const size = readFileSync(file).length;
  process.stdout.write(`${label}: ${(size / 1048576).toFixed(1)} MiB\n`);
  const runs = Object.fromEntries(Object.keys(READERS).map((k) => [k, child(k, file)] as const));
  const base = runs["ours"];
  for (const [k, r] of Object.entries(runs)) {
    if (typeof r === "string") {
      process.stdout.write(`  ${k.padEnd(7)} ${r}\n`);
      continue;
    }
    const ratio = (a: number, b: number | undefined) => (b ? (a / b).toFixed(2) : "-");
    const same =
      typeof base === "string" || !base
        ? "-"
        : r.digest === base.digest
          ? "same as ours"
          : "DIFFERS from ours";
    process.stdout.write(
      `  ${k.padEnd(7)} ${r.ms.toFixed(0).padStart(7)} ms (x${ratio(r.ms, typeof base === "string" ? undefined : base?.ms)})  peak RSS ${(r.maxRssKiB / 1024).toFixed(1).padStart(7)} MiB (x${ratio(r.maxRssKiB, typeof base === "string" ? undefined : base?.maxRssKiB)})  members ${r.members}  inflated ${(r.bytes / 1048576).toFixed(1)} MiB  refused ${r.refused}  entries ${r.digest} ${same}\n`,
    );
  }
}
