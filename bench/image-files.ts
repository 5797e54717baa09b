// Benchmark: walk every file of a >= 500 MB image through the merged view (`image files`) and
// compare with the physical floor measured in the same run: decompressing and hashing the same
// layers with `gzip -dc | sha256sum`. Prints the ratio (target: at most 1.3x).
//
// The image is built from real Debian packages (fetched with apt-get download, cached):
// the Go toolchain and its sources (many small files), LLVM and GCC (large binaries).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildImageLayout } from "../test/support/build-image.js";
import { fetchDebs } from "../test/support/debs.js";

const ROOT = resolve(import.meta.dirname, "..");
const PACKAGES = ["golang-1.19-go", "golang-1.19-src", "libllvm15", "gcc-12"];
const RUNS = Number(process.env["BENCH_RUNS"] ?? 3);

function seconds(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function best(n: number, fn: () => void): number {
  return Math.min(...Array.from({ length: n }, () => seconds(fn)));
}

const debs = fetchDebs(PACKAGES);
const dir = join(
  ROOT,
  ".cache",
  "bench",
  `image-${debs
    .map((d) => d.split("/").pop())
    .join("+")
    .replace(/[^a-zA-Z0-9+._-]/g, "_")
    .slice(0, 180)}`,
);
if (!existsSync(join(dir, "index.json"))) {
  process.stderr.write(`building the benchmark image in ${dir} (once)\n`);
  rmSync(dir, { recursive: true, force: true });
  await buildImageLayout({
    dir,
    tag: "bench",
    layers: debs.map((d) => ({ kind: "debs" as const, debs: [d], dpkgStatus: false })),
  });
}
// always the current sources: a stale dist/ would measure old code
execFileSync("npm", ["run", "--silent", "build"], { cwd: ROOT, stdio: "inherit" });

const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
const manifest = JSON.parse(
  readFileSync(join(dir, "blobs/sha256", index.manifests[0].digest.slice(7)), "utf8"),
);
const blobs: string[] = manifest.layers.map((l: { digest: string }) =>
  join(dir, "blobs/sha256", l.digest.slice(7)),
);
const compressed = blobs.reduce((n, b) => n + statSync(b).size, 0);
const uncompressed = blobs.reduce(
  (n, b) =>
    n +
    Number(
      execFileSync("bash", ["-c", `gzip -dc '${b}' | wc -c`])
        .toString()
        .trim(),
    ),
  0,
);
if (uncompressed < 500 * 1024 * 1024) {
  throw new Error(
    `benchmark image is only ${uncompressed} bytes uncompressed; it must be at least 500 MB`,
  );
}

const floorSerial = best(RUNS, () => {
  for (const b of blobs) {
    execFileSync("bash", ["-c", `set -o pipefail; gzip -dc '${b}' | sha256sum > /dev/null`]);
  }
});
const floorParallel = best(RUNS, () => {
  execFileSync("bash", [
    "-c",
    `${blobs.map((b) => `(gzip -dc '${b}' | sha256sum > /dev/null) &`).join(" ")} wait`,
  ]);
});

const home = mkdtempSync(join(tmpdir(), "cleanimg-bench-"));
let files = 0;
const ours = best(RUNS, () => {
  const r = spawnSync(
    process.execPath,
    [
      join(ROOT, "dist/cli/main.js"),
      "--home",
      home,
      "image",
      "files",
      `oci:${dir}:bench`,
      "--json",
      "--no-evidence",
    ],
    {
      maxBuffer: 1024 ** 3,
      encoding: "utf8",
    },
  );
  if (r.status !== 0) {
    throw new Error(`image files failed: ${r.stderr}`);
  }
  files = (JSON.parse(r.stdout) as { files: unknown[] }).files.length;
});
rmSync(home, { recursive: true, force: true });

const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(0)} MiB`;
console.log(
  `image: ${PACKAGES.join(", ")} (${blobs.length} gzip layers, ${mb(compressed)} compressed, ${mb(uncompressed)} uncompressed, ${files} files)`,
);
console.log(`floor  gzip -dc | sha256sum, layers one after another: ${floorSerial.toFixed(2)} s`);
console.log(`floor  gzip -dc | sha256sum, all layers at once:       ${floorParallel.toFixed(2)} s`);
console.log(
  `cleanimg-init image files --json (end to end, verifying digests and diff ids): ${ours.toFixed(2)} s`,
);
console.log(`ratio to floor (serial):   ${(ours / floorSerial).toFixed(2)}x  (target <= 1.3x)`);
console.log(`ratio to floor (parallel): ${(ours / floorParallel).toFixed(2)}x`);
