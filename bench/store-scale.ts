// Benchmark: the fleet table and a 90-day audit-trail summary on stores holding the full chains
// of 1,000 and 10,000 images, on PostgreSQL (Debian postgresql, unix socket) and on the embedded
// SQLite store, in the same run, with their ratio and the growth curve (time per image at each
// size: flat when linear). The stores are generated through the real code path
// (test/support/chains.ts) and cached: SQLite in .cache/bench-chain6-N (shared with
// bench/chain.ts), PostgreSQL in the database cleanimg_bench_N.
//
// BENCH_SIZES (default 1000,10000) sets the fleet sizes. 100000 works, but generating its chains
// takes about 50 ms per image and store (some three hours in all on two cores).
// CLEANIMG_BENCH_PG_SOCKET_DIR sets the socket directory.
import { userInfo } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import { type AppContext, auditSummary, createAppContext, fleetStatus } from "../src/app/index.js";
import { generateChains } from "../test/support/chains.js";

const ROOT = resolve(import.meta.dirname, "..");
const SIZES = (process.env["BENCH_SIZES"] ?? "1000,10000").split(",").map(Number);
const RUNS = Number(process.env["BENCH_RUNS"] ?? 3);
const SOCKET = encodeURIComponent(
  process.env["CLEANIMG_BENCH_PG_SOCKET_DIR"] ?? "/var/run/postgresql",
);
const pgUrl = (db: string): string =>
  `postgres://${encodeURIComponent(userInfo().username)}@${SOCKET}/${db}`;

async function filled(ctx: AppContext, n: number): Promise<boolean> {
  return (await ctx.evidence().find({ kind: "attestation" })).length >= 6 * n;
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

async function measure(
  name: string,
  ctx: AppContext,
  N: number,
): Promise<{ fleet: number; audit: number }> {
  if (!(await filled(ctx, N))) {
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

async function atSize(N: number): Promise<{ n: number; pg: Times; sqlite: Times }> {
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
  try {
    return {
      n: N,
      pg: await measure("PostgreSQL", pgCtx, N),
      sqlite: await measure("SQLite", sqlite, N),
    };
  } finally {
    await pgCtx.close();
    await sqlite.close();
  }
}

type Times = { fleet: number; audit: number };

async function main(): Promise<void> {
  const rows: Awaited<ReturnType<typeof atSize>>[] = [];
  for (const n of SIZES) {
    rows.push(await atSize(n));
  }
  console.log(
    `fleet table (status --all) and 90-day audit trail (summary with full log verification), six-link chains, best of ${RUNS}:`,
  );
  console.log(
    "| images | fleet PostgreSQL | fleet SQLite | PG/SQLite | µs per image (PG / SQLite) | audit PostgreSQL | audit SQLite | PG/SQLite | µs per image (PG / SQLite) |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|");
  const per = (ms: number, n: number): string => ((ms * 1000) / n).toFixed(0);
  for (const { n, pg: p, sqlite: s } of rows) {
    console.log(
      `| ${n} | ${p.fleet.toFixed(0)} ms | ${s.fleet.toFixed(0)} ms | ${(p.fleet / s.fleet).toFixed(2)}x | ${per(p.fleet, n)} / ${per(s.fleet, n)} | ${p.audit.toFixed(0)} ms | ${s.audit.toFixed(0)} ms | ${(p.audit / s.audit).toFixed(2)}x | ${per(p.audit, n)} / ${per(s.audit, n)} |`,
    );
  }
  const first = rows[0];
  const last = rows.at(-1);
  if (first && last && last !== first) {
    const k = last.n / first.n;
    console.log(
      `shape: ${k}x the images took, fleet: PostgreSQL ${(last.pg.fleet / first.pg.fleet).toFixed(1)}x, SQLite ${(last.sqlite.fleet / first.sqlite.fleet).toFixed(1)}x; audit: PostgreSQL ${(last.pg.audit / first.pg.audit).toFixed(1)}x, SQLite ${(last.sqlite.audit / first.sqlite.audit).toFixed(1)}x (linear: ${k}x)`,
    );
  }
}

await main();
