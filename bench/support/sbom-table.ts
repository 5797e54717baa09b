// The SBOM speed table over the four bench images (bench/support/sbom-images.ts): for each, the
// floor (`gzip -dc | sha256sum` of every layer, one stream), cleanimg (a fresh home each run) and
// Trivy's SBOM mode on the same image (a docker-archive copy), median of the runs, peak RSS.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mb, measure, type Run } from "./measure.js";
import { BENCH_IMAGE_NAMES, benchImage } from "./sbom-images.js";
import { trivyCacheWithEmptyJavaDb } from "./trivy.js";

export interface TableRow {
  readonly name: string;
  readonly compressed: number;
  readonly uncompressed: number;
  readonly floor: number;
  readonly ours: Run;
  readonly trivy: Run;
}

function median(n: number, fn: () => Run): Run {
  const xs = Array.from({ length: n }, fn).sort((a, b) => a.seconds - b.seconds);
  const mid = xs[Math.floor(xs.length / 2)] as Run;
  return { seconds: mid.seconds, rss: Math.max(...xs.map((x) => x.rss)) };
}

function layerBlobs(layout: string): { blobs: string[]; uncompressed: number } {
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
  const manifest = JSON.parse(
    readFileSync(join(layout, "blobs/sha256", index.manifests[0].digest.slice(7)), "utf8"),
  );
  const blobs = (manifest.layers as { digest: string }[]).map((l) =>
    join(layout, "blobs/sha256", l.digest.slice(7)),
  );
  let uncompressed = 0;
  for (const b of blobs) {
    uncompressed += Number(execFileSync("bash", ["-c", `gzip -dc '${b}' | wc -c`]).toString());
  }
  return { blobs, uncompressed };
}

async function row(cache: string, name: string, runs: number, cli: string, trivy: string) {
  const { layout } = await benchImage(cache, name);
  const archive = `${layout}.docker.tar`;
  const work = mkdtempSync(join(tmpdir(), "cleanimg-sbom-table-"));
  try {
    if (!existsSync(archive)) {
      execFileSync(process.execPath, [
        cli,
        "--home",
        join(work, "copy-home"),
        "--quiet",
        "image",
        "copy",
        `oci:${layout}:bench`,
        `docker-archive:${archive}:bench/${name}:1`,
      ]);
    }
    const { blobs, uncompressed } = layerBlobs(layout);
    const floor = median(runs, () => {
      const t = process.hrtime.bigint();
      for (const b of blobs) {
        execFileSync("bash", ["-c", `set -o pipefail; gzip -dc '${b}' | sha256sum > /dev/null`]);
      }
      return { seconds: Number(process.hrtime.bigint() - t) / 1e9, rss: 0 };
    });
    let n = 0;
    const ours = median(runs, () =>
      measure(process.execPath, [
        cli,
        "--home",
        join(work, `home-${n++}`),
        "sbom",
        `oci:${layout}:bench`,
        "--format",
        "cyclonedx-1.6",
        "--no-evidence",
        "-o",
        join(work, "cleanimg.cdx.json"),
      ]),
    );
    const theirs = median(runs, () => {
      rmSync(join(work, "trivy-cache"), { recursive: true, force: true });
      trivyCacheWithEmptyJavaDb(join(work, "trivy-cache"));
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
          "--skip-java-db-update",
          "--quiet",
          "--output",
          join(work, "trivy.cdx.json"),
        ],
        { TRIVY_CACHE_DIR: join(work, "trivy-cache") },
      );
    });
    const compressed = blobs.reduce((s, b) => s + statSync(b).size, 0);
    return { name, compressed, uncompressed, floor: floor.seconds, ours, trivy: theirs };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Measures and prints the table. */
export async function sbomTable(
  cache: string,
  runs: number,
  cli: string,
  trivy: string,
): Promise<TableRow[]> {
  const rows: TableRow[] = [];
  // BENCH_TABLE=distroless,jars measures some of them
  const only = process.env["BENCH_TABLE"]?.split(",");
  for (const name of BENCH_IMAGE_NAMES.filter((n) => !only || only.includes(n))) {
    rows.push(await row(cache, name, runs, cli, trivy));
  }
  console.log(
    `SBOM of the four images (median of ${runs}, a fresh home each run; floor: gzip -dc | sha256sum of every layer, one stream):`,
  );
  console.log(
    "| image | compressed / uncompressed | floor | cleanimg (x floor) | Trivy | cleanimg/Trivy | peak RSS cleanimg / Trivy |",
  );
  console.log("|---|---|---|---|---|---|---|");
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${mb(r.compressed)} / ${mb(r.uncompressed)} | ${r.floor.toFixed(2)} s | ${r.ours.seconds.toFixed(2)} s (${(r.ours.seconds / r.floor).toFixed(2)}x) | ${r.trivy.seconds.toFixed(2)} s | ${(r.ours.seconds / r.trivy.seconds).toFixed(2)} | ${mb(r.ours.rss)} / ${mb(r.trivy.rss)} |`,
    );
  }
  const big = rows.filter((r) => r.compressed > 50 * 1024 * 1024);
  console.log(
    `targets: <= 1.0x the floor above 50 MB (${big.map((r) => `${r.name} ${(r.ours.seconds / r.floor).toFixed(2)}x`).join(", ")}), below Trivy everywhere (${rows.every((r) => r.ours.seconds < r.trivy.seconds) ? "met" : "not met"}), peak RSS <= 200 MiB (${rows.every((r) => r.ours.rss <= 200 * 1024 * 1024) ? "met" : "not met"})`,
  );
  return rows;
}
