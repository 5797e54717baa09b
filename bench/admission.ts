// Benchmark: the Kubernetes admission endpoint under a steady 500 requests/s from a second
// process (bench/support/load.ts: open loop, latency from the moment each request was due), with
// a warm verdict cache, as the API server would
// call it for a Deployment of one pinned image. Prints p50/p90/p99 latency next to the same load
// on /healthz of the same server (the HTTP floor of Node on this machine, no work at all).
//
//   npm run build && node --import tsx bench/admission.ts
//
// The image is built and scanned for real (files only, so no package downloads); the webhook
// verifies its chain and evaluates the default policy once, then answers from the cache (the
// cache is checked on every request against the audit log, one size query, and against the
// store: the image's index links, one query, and a stat of each blob they name).
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import {
  buildImage,
  createAppContext,
  createToken,
  importVulnData,
  inspectImage,
  scan,
} from "../src/app/index.js";
import { admissionReview } from "../test/support/admission.js";

interface Load {
  requests: number;
  errors: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

const ROOT = resolve(import.meta.dirname, "..");
const WORK = join(ROOT, ".cache", "bench-admission");
const RATE = Number(process.env["BENCH_RATE"] ?? 500);
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 20);

async function main(): Promise<void> {
  rmSync(WORK, { recursive: true, force: true });
  const home = join(WORK, "home");
  const ctxDir = join(WORK, "context");
  mkdirSync(join(ctxDir, "app"), { recursive: true });
  writeFileSync(join(ctxDir, "app", "index.html"), "<h1>shop</h1>\n");
  writeFileSync(
    join(ctxDir, "cleanimg.yaml"),
    "image: shop/web:1.0.0\nfiles:\n  - src: app/\n    dst: /srv/www/\n",
  );
  const ctx = createAppContext({ home, env: { SOURCE_DATE_EPOCH: "1700000000" } });
  await importVulnData(ctx, [join(ROOT, "..", "shared", "corpus", "vulndb", "pypi-osv.jsonl.gz")]);
  await buildImage(ctx, { spec: join(ctxDir, "cleanimg.yaml") });
  await scan(ctx, "shop/web:1.0.0");
  const digest = (await inspectImage(ctx, "shop/web:1.0.0", { record: false })).manifest.digest;
  const token = (await createToken(ctx, { name: "apiserver", role: "writer" })).token;
  await ctx.close();

  const server: ChildProcess = spawn(
    process.execPath,
    [
      join(ROOT, "dist", "cli", "main.js"),
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--rate-limit",
      "100000",
    ],
    { env: { ...process.env, CLEANIMG_HOME: home }, stdio: ["ignore", "pipe", "inherit"] },
  );
  const url = await new Promise<string>((done) => {
    createInterface({ input: server.stdout as NodeJS.ReadableStream }).on("line", (l) => {
      const m = /"listening":"([^"]+)"/.exec(l);
      if (m) {
        done(m[1] as string);
      }
    });
  });
  try {
    const body = JSON.stringify(
      admissionReview("Deployment", { containers: [`shop/web:1.0.0@${digest}`] }),
    );
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    // warm the cache and check the answer
    const first = await fetch(`${url}/admission`, { method: "POST", headers, body });
    const answer = (await first.json()) as { response: { allowed: boolean } };
    if (!answer.response.allowed) {
      throw new Error(`the image is not admitted: ${JSON.stringify(answer)}`);
    }
    const bodyFile = join(WORK, "review.json");
    writeFileSync(bodyFile, body);
    const load = async (path: string, post: boolean): Promise<Load> => {
      const { stdout } = await promisify(execFile)(process.execPath, [
        "--import",
        "tsx",
        join(ROOT, "bench", "support", "load.ts"),
        `${url}${path}`,
        post ? "POST" : "GET",
        String(RATE),
        String(SECONDS),
        "10",
        post ? bodyFile : "-",
        ...(post ? Object.entries(headers).map(([k, v]) => `${k}=${v}`) : []),
      ]);
      return JSON.parse(stdout) as Load;
    };
    const floor = await load("/healthz", false);
    const adm = await load("/admission", true);
    const row = (name: string, r: Load) =>
      `${name.padEnd(12)} ${String(r.requests).padStart(6)} requests  p50 ${r.p50.toFixed(2)} ms  p90 ${r.p90.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  max ${r.max.toFixed(1)} ms  errors ${r.errors}`;
    console.log(
      `admission endpoint at ${RATE} requests/s for ${SECONDS} s, warm cache, 10 keep-alive connections, load from a second process`,
    );
    console.log(row("/healthz", floor));
    console.log(row("/admission", adm));
    console.log(
      `ratio to the HTTP floor: p50 ${(adm.p50 / floor.p50).toFixed(2)}x, p99 ${(adm.p99 / floor.p99).toFixed(2)}x; target p99 <= 5 ms: ${adm.p99 <= 5 ? "met" : "NOT met"}`,
    );
  } finally {
    server.kill("SIGTERM");
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
