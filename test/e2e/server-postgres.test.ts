import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  auditEvents,
  createAppContext,
  createToken,
  exportEvidence,
  STAGES,
  verifyAuditTrail,
  verifyChain,
} from "../../src/app/index.js";
import { generateChains, imageOf } from "../support/chains.js";
import { runCliAsync } from "../support/cli.js";
import { freshDatabase } from "../support/postgres.js";
import { tempDir } from "../support/tmp.js";

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const N = 24;

/**
 * Many writers on one PostgreSQL store: two server processes and several CLI processes ingest
 * the chains of many images at once; and a server killed in the middle of ingesting leaves no
 * half-written evidence.
 */
describe("PostgreSQL store behind two servers and CLI writers", () => {
  let producer: AppContext;
  const exports: string[] = [];
  const children: ChildProcess[] = [];

  /** A home that trusts the producer's signing key and transparency log. */
  const trustingHome = (): string => {
    const home = tempDir("cleanimg-srvpg-home-");
    mkdirSync(join(home, "keys", "trusted"), { recursive: true });
    mkdirSync(join(home, "keys", "trusted-logs"), { recursive: true });
    writeFileSync(
      join(home, "keys", "trusted", "ci.pub"),
      readFileSync(join(producer.home, "keys", "signing.pub")),
    );
    writeFileSync(
      join(home, "keys", "trusted-logs", "ci.pub"),
      readFileSync(join(producer.home, "keys", "log.pub")),
    );
    return home;
  };

  const serve = (home: string, url: string): Promise<{ url: string; proc: ChildProcess }> =>
    new Promise((done, fail) => {
      const proc = spawn(
        process.execPath,
        ["--import", "tsx", MAIN, "--store", url, "serve", "--listen", "127.0.0.1:0"],
        { env: { ...process.env, CLEANIMG_HOME: home }, stdio: ["ignore", "pipe", "pipe"] },
      );
      children.push(proc);
      let err = "";
      proc.stderr?.on("data", (d) => {
        err += d;
      });
      proc.on("exit", (code) => fail(new Error(`serve exited ${code}: ${err}`)));
      createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on("line", (l) => {
        const m = /"listening":"([^"]+)"/.exec(l);
        if (m) {
          done({ url: m[1] as string, proc });
        }
      });
    });

  const cli = (home: string, url: string, args: string[]) => runCliAsync(home, args, url);

  const post = async (server: string, token: string, i: number): Promise<number> => {
    const body = readFileSync(exports[i] as string);
    const r = await fetch(`${server}/v1/images/${imageOf(i).digest}/evidence`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body,
    });
    const text = await r.text();
    if (r.status !== 200) {
      failures.push(`image ${i} via ${server}: ${r.status} ${text}`);
    }
    return r.status;
  };
  const failures: string[] = [];

  beforeAll(async () => {
    producer = createAppContext({ home: tempDir("cleanimg-srvpg-producer-"), env: {} });
    await generateChains(producer, N);
    const dir = tempDir("cleanimg-srvpg-exports-");
    for (let i = 0; i < N; i++) {
      const e = await exportEvidence(producer, imageOf(i));
      expect(e.items).toHaveLength(STAGES.length);
      const f = join(dir, `image${i}.json`);
      writeFileSync(f, JSON.stringify(e));
      exports.push(f);
    }
  }, 120_000);
  afterAll(async () => {
    for (const c of children) {
      c.kill("SIGKILL");
    }
    await producer?.close();
  });

  /** Every chain complete and verified; every link once; the audit trail intact. */
  const expectComplete = async (ctx: AppContext, images: number[]): Promise<void> => {
    for (const i of images) {
      const chain = await verifyChain(ctx, imageOf(i).digest);
      expect(chain.intact, `image ${i}: ${JSON.stringify(chain.links)}`).toBe(true);
      expect(chain.links.map((l) => l.state)).toEqual(STAGES.map(() => "valid"));
    }
    const links = await ctx.evidence().find({ kind: "attestation" });
    expect(links).toHaveLength(images.length * STAGES.length);
    expect(new Set(links.map((l) => `${l.subject} ${l.evidence}`)).size).toBe(links.length);
    const audit = await verifyAuditTrail(ctx);
    expect(audit.problems).toEqual([]);
    expect(audit.intact).toBe(true);
  };

  it("loses, duplicates and half-writes nothing with two servers and three CLI processes writing at once", async () => {
    const url = await freshDatabase();
    const home = trustingHome();
    const ctx = createAppContext({ home, env: { CLEANIMG_STORE: url } });
    // the keys and the token first (one signing identity for this home)
    const token = (await createToken(ctx, { name: "ci", role: "writer" })).token;
    const [a, b] = await Promise.all([serve(home, url), serve(home, url)]);
    const viaServers = Array.from({ length: 16 }, (_, i) => i);
    const viaCli = [16, 17, 18, 19, 20, 21, 22, 23];
    const results = await Promise.all([
      // each image to one server, and images 0-3 to both at once (a retried upload)
      ...viaServers.map((i) =>
        post(i % 2 ? (a as { url: string }).url : (b as { url: string }).url, token, i),
      ),
      ...[0, 1, 2, 3].map((i) =>
        post(i % 2 ? (b as { url: string }).url : (a as { url: string }).url, token, i),
      ),
      ...[viaCli.slice(0, 3), viaCli.slice(3, 6), viaCli.slice(6)].map((is) =>
        cli(home, url, ["evidence", "import", ...is.map((i) => exports[i] as string)]).then((r) => {
          expect(r.code, r.stderr).toBe(0);
          return 200;
        }),
      ),
    ]);
    expect(failures).toEqual([]);
    expect(results.every((s) => s === 200)).toBe(true);
    await expectComplete(ctx, [...viaServers, ...viaCli]);
    // every import attributed: to the token through the servers, to the file through the CLI
    const imports = (await auditEvents(ctx)).filter((e) => e.action === "evidence-import");
    expect(imports.filter((e) => e.actor.startsWith("token:ci/")).length).toBeGreaterThanOrEqual(
      16 * STAGES.length,
    );
    expect(imports.filter((e) => /image\d+\.json$/.test(e.details["source"] ?? "")).length).toBe(
      viaCli.length * STAGES.length,
    );
    await ctx.close();
  }, 300_000);

  it("leaves no half-written evidence when a server is killed in the middle of ingesting", async () => {
    const url = await freshDatabase();
    const home = trustingHome();
    const ctx = createAppContext({ home, env: { CLEANIMG_STORE: url } });
    const token = (await createToken(ctx, { name: "ci", role: "writer" })).token;
    const tokensLogged = await ctx.evidence().size("audit");
    const s = await serve(home, url);
    const all = Array.from({ length: N }, (_, i) => i);
    const uploads = all.map((i) => post(s.url, token, i).catch(() => 0));
    // kill it once some chains are in, and before all are
    for (;;) {
      const n = await ctx.evidence().size("audit");
      if (n - tokensLogged >= 8) {
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    s.proc.kill("SIGKILL");
    await Promise.all(uploads);
    const landed = (await ctx.evidence().find({ kind: "attestation" })).length;
    expect(landed).toBeGreaterThan(0);
    expect(landed).toBeLessThan(N * STAGES.length);
    // what landed is whole: every link verifies with its audit event; the rest is not recorded
    for (const i of all) {
      const chain = await verifyChain(ctx, imageOf(i).digest);
      expect(chain.intact, `image ${i}: ${JSON.stringify(chain.links)}`).toBe(true);
      for (const l of chain.links) {
        expect(["valid", "not-recorded"]).toContain(l.state);
      }
    }
    expect((await verifyAuditTrail(ctx)).intact).toBe(true);
    const events = (await auditEvents(ctx)).filter((e) => e.action === "evidence-import");
    expect(events.length).toBe(landed);
    // the uploads retried against a new server complete every chain
    const s2 = await serve(home, url);
    const again = await Promise.all(all.map((i) => post(s2.url, token, i)));
    expect(again.every((x) => x === 200)).toBe(true);
    await expectComplete(ctx, all);
    await ctx.close();
  }, 300_000);
});
