// Benchmark: evidence-chain verification per image, and the fleet table, on a store holding the
// full chains (provenance, SBOM, scan, VEX, policy, deployment) of 10,000 images (generated through the real code path: every link signed, logged in
// the embedded transparency log and recorded in the audit trail).
// Targets: <= 20 ms per image, <= 2 s for `status --all`.
//
// Floors measured in the same run:
// - per image: reading the same blobs from disk and doing the same public-key operations
//   (one ECDSA P-256 verification per envelope and one per checkpoint), nothing else;
// - fleet: the one SQL query that reads every attestation row of the index.
//
// BENCH_IMAGES (default 10000) sets the fleet size; the generated store is cached in
// .cache/bench-chain-N and reused while it still verifies.
import { spawnSync } from "node:child_process";
import { createPublicKey, verify } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { createAppContext, fleetStatus, verifyChain } from "../src/app/index.js";
import { type Digest, digestHex } from "../src/core/digest.js";
import { generateChains, imageOf } from "../test/support/chains.js";

const ROOT = resolve(import.meta.dirname, "..");
const N = Number(process.env["BENCH_IMAGES"] ?? 10_000);
const SAMPLE = Math.min(500, N);
const HOME = join(ROOT, ".cache", `bench-chain6-${N}`);

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};

async function main(): Promise<void> {
  let ctx = createAppContext({ home: HOME, env: {} });
  if (!existsSync(HOME) || !(await verifyChain(ctx, imageOf(N - 1).digest)).intact) {
    await ctx.close();
    rmSync(HOME, { recursive: true, force: true });
    ctx = createAppContext({ home: HOME, env: {} });
    process.stderr.write(`generating the chains of ${N} images in ${HOME}\n`);
    const t = performance.now();
    await generateChains(ctx, N);
    process.stderr.write(`generated in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  }
  // warm-up (page cache, statement cache)
  for (let i = 0; i < 20; i++) {
    await verifyChain(ctx, imageOf(i).digest);
  }
  const picks = Array.from({ length: SAMPLE }, (_, k) => Math.floor((k * N) / SAMPLE));
  const times: number[] = [];
  for (const i of picks) {
    const t = performance.now();
    const r = await verifyChain(ctx, imageOf(i).digest);
    times.push(performance.now() - t);
    if (!r.intact) {
      throw new Error(`image ${i}: chain not intact (${r.firstBroken})`);
    }
  }

  // floor: the same reads and public-key operations, nothing else
  const db = new Database(join(HOME, "evidence", "index.db"), { readonly: true });
  const rowsOf = db.prepare(
    "SELECT evidence, annotations FROM links WHERE subject = ? AND kind = 'attestation'",
  );
  const signingKey = createPublicKey(readFileSync(join(HOME, "keys", "signing.pub"), "utf8"));
  const logKey = createPublicKey(readFileSync(join(HOME, "keys", "log.pub"), "utf8"));
  const blob = (d: string) =>
    readFileSync(join(HOME, "evidence", "blobs", "sha256", digestHex(d as Digest)));
  const floor: number[] = [];
  for (const i of picks) {
    const t = performance.now();
    for (const r of rowsOf.all(imageOf(i).digest) as { evidence: string; annotations: string }[]) {
      const bundle = JSON.parse(blob(r.evidence).toString());
      blob(JSON.parse(r.annotations).evidence);
      const env = bundle.dsseEnvelope;
      const payload = Buffer.from(env.payload, "base64");
      const pae = Buffer.concat([
        Buffer.from(`DSSEv1 ${env.payloadType.length} ${env.payloadType} ${payload.length} `),
        payload,
      ]);
      verify("sha256", pae, signingKey, Buffer.from(env.signatures[0].sig, "base64"));
      const note: string =
        bundle.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint.envelope;
      const cut = note.indexOf("\n\n");
      const sig = Buffer.from(
        note
          .slice(cut + 2)
          .trim()
          .split(" ")
          .pop() as string,
        "base64",
      ).subarray(4);
      verify("sha256", Buffer.from(note.slice(0, cut + 1)), logKey, sig);
    }
    floor.push(performance.now() - t);
  }
  const tq = performance.now();
  db.prepare(
    "SELECT subject, annotations FROM links WHERE kind = 'attestation' ORDER BY created_at, id",
  ).all();
  const fleetFloor = performance.now() - tq;
  db.close();

  const tf = performance.now();
  const rows = await fleetStatus(ctx);
  const fleetMs = performance.now() - tf;
  await ctx.close();
  const tc = performance.now();
  const cli = spawnSync(
    process.execPath,
    [join(ROOT, "dist/cli/main.js"), "status", "--all", "--json"],
    {
      env: { ...process.env, CLEANIMG_HOME: HOME },
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 1 << 30,
    },
  );
  const cliMs = performance.now() - tc;
  // exit 1 means "some images not ready" (none of these has provenance): the table was printed
  if (cli.status !== 1 || (JSON.parse(cli.stdout.toString()) as unknown[]).length !== N) {
    throw new Error(`status --all failed (exit ${cli.status})`);
  }
  if (rows.length !== N) {
    throw new Error(`fleet has ${rows.length} rows, expected ${N}`);
  }

  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`chain verification, ${SAMPLE} images of a ${N}-image store (6 links each):`);
  console.log(
    `  cleanimg verifyChain: mean ${mean(times).toFixed(2)} ms, p50 ${pct(times, 50).toFixed(2)} ms, p99 ${pct(times, 99).toFixed(2)} ms (target <= 20 ms)`,
  );
  console.log(
    `  floor (same reads + public-key ops): mean ${mean(floor).toFixed(2)} ms -> ratio ${(mean(times) / mean(floor)).toFixed(2)}x`,
  );
  console.log(`fleet table, ${N} images:`);
  console.log(
    `  fleetStatus in process: ${fleetMs.toFixed(0)} ms; \`status --all --json\` as a process: ${cliMs.toFixed(0)} ms (target <= 2000 ms)`,
  );
  console.log(
    `  floor (one SQL query over the index): ${fleetFloor.toFixed(0)} ms -> ratio ${(fleetMs / fleetFloor).toFixed(2)}x`,
  );
}

await main();
