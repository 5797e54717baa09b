// Benchmark: the fleet table and a 90-day audit-trail summary on a store holding the full chains
// of 10,000 images, on PostgreSQL (Debian postgresql, unix socket) and on the embedded SQLite
// store, in the same run, with their ratio. The stores are generated through the real code path
// (bench/support/chains.ts) and cached: SQLite in .cache/bench-chain6-N (shared with
// bench/chain.ts), PostgreSQL in the database cleanimg_bench_N.
//
// BENCH_IMAGES (default 10000) sets the fleet size; CLEANIMG_BENCH_PG_SOCKET_DIR the socket dir.
import { userInfo } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import { type AppContext, auditSummary, createAppContext, fleetStatus } from "../src/app/index.js";
import { generateChains } from "../test/support/chains.js";

const ROOT = resolve(import.meta.dirname, "..");
const N = Number(process.env["BENCH_IMAGES"] ?? 10_000);
const RUNS = Number(process.env["BENCH_RUNS"] ?? 3);
const SOCKET = encodeURIComponent(
  process.env["CLEANIMG_BENCH_PG_SOCKET_DIR"] ?? "/var/run/postgresql",
);
const pgUrl = (db: string): string =>
  `postgres://${encodeURIComponent(userInfo().username)}@${SOCKET}/${db}`;

async function filled(ctx: AppContext): Promise<boolean> {
  return (await ctx.evidence().find({ kind: "attestation" })).length >= 6 * N;
}

async function best(f: () => Promise<unknown>): Promise<number> {
  let b = Number.POSITIVE_INFINITY;
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await f();
    b = Math.min(b, performance.now() - t);
  }
  return b;
}

async function measure(name: string, ctx: AppContext): Promise<{ fleet: number; audit: number }> {
  if (!(await filled(ctx))) {
    process.stderr.write(`generating ${N} six-link chains in the ${name} store\n`);
    const t = performance.now();
    await generateChains(ctx, N);
    process.stderr.write(`  ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  }
  const from = new Date(Date.now() - 90 * 86_400_000).toISOString();
  const fleet = await best(async () => {
    const rows = await fleetStatus(ctx);
    if (rows.length !== N) {
      throw new Error(`${name}: ${rows.length} fleet rows, expected ${N}`);
    }
  });
  const audit = await best(async () => {
    const { summary } = await auditSummary(ctx, from);
    if (!summary.log.intact || summary.events < 6 * N) {
      throw new Error(`${name}: audit trail not intact or short (${summary.events} events)`);
    }
  });
  return { fleet, audit };
}

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: pgUrl("postgres") });
  await admin.connect();
  const db = `cleanimg_bench_${N}`;
  if ((await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [db])).rowCount === 0) {
    await admin.query(`CREATE DATABASE ${db}`);
  }
  await admin.end();
  const pgCtx = createAppContext({
    home: join(ROOT, ".cache", `bench-pg-home-${N}`),
    env: {},
    store: pgUrl(db),
  });
  const sqlite = createAppContext({ home: join(ROOT, ".cache", `bench-chain6-${N}`), env: {} });
  const p = await measure("PostgreSQL", pgCtx);
  const s = await measure("SQLite", sqlite);
  await pgCtx.close();
  await sqlite.close();
  console.log(
    `fleet table and 90-day audit trail, ${N} images with six-link chains, best of ${RUNS}:`,
  );
  console.log(
    `  status --all (fleetStatus):  PostgreSQL ${p.fleet.toFixed(0)} ms, SQLite ${s.fleet.toFixed(0)} ms -> ${(p.fleet / s.fleet).toFixed(2)}x`,
  );
  console.log(
    `  audit trail, last 90 days (summary with full log verification): PostgreSQL ${p.audit.toFixed(0)} ms, SQLite ${s.audit.toFixed(0)} ms -> ${(p.audit / s.audit).toFixed(2)}x`,
  );
}

await main();
