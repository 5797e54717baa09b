import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  type AuditEvent,
  auditEvents,
  buildImage,
  complianceStatus,
  createAppContext,
  evaluateImagePolicy,
  importVulnData,
  latestLink,
  type Stage,
  scan,
  verifyChain,
} from "../../src/app/index.js";
import type { Digest } from "../../src/core/digest.js";
import { freshDatabase, pgUrl } from "../support/postgres.js";
import { tempDir } from "../support/tmp.js";

const VULNDB = resolve(import.meta.dirname, "../../../shared/corpus/vulndb");
const CACHE = resolve(import.meta.dirname, "../../.cache/build-cache");
const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");
const REF = "indexed:1.0.0";

/**
 * The store's index (its `links` rows) is a cache of what was recorded, not a witness of it: a
 * chain recorded for real, then rolled back by deleting index rows directly with SQL (the link
 * and the per-image audit-event row, so the index is self-consistent), must verify as broken at
 * the stage rolled back, naming what the append-only audit log recorded and the index no longer
 * returns; and the compliance status must not show the chain as PASS. Both SQL stores.
 */

/** How a test edits one backend's index directly. */
interface Backend {
  readonly name: string;
  /** Records the baseline chain into `home` (and its database), then makes a copy per case. */
  record(home: string, f: (ctx: AppContext) => Promise<void>): Promise<void>;
  /** A fresh copy of the baseline: its context and a SQL runner on its index (`?` placeholders). */
  copy(): Promise<{
    ctx: AppContext;
    sql: (q: string, args: unknown[]) => Promise<void>;
    /** Runs `cleanimg-init ARGS` on the copy as its own process. */
    cli: (...args: string[]) => SpawnSyncReturns<string>;
  }>;
  /** The SQL condition selecting an audit-event row by its event's sequence number. */
  readonly seqIs: string;
  close(): Promise<void>;
}

function sqliteBackend(): Backend {
  let base = "";
  const opened: AppContext[] = [];
  return {
    name: "sqlite",
    seqIs: "json_extract(annotations, '$.seq') = ?",
    async record(home, f) {
      base = home;
      const ctx = createAppContext({ home, env: env() });
      await f(ctx);
      await ctx.close();
    },
    async copy() {
      const home = tempDir("cleanimg-negidx-");
      rmSync(home, { recursive: true, force: true });
      cpSync(base, home, { recursive: true });
      const ctx = createAppContext({ home, env: {} });
      opened.push(ctx);
      return {
        ctx,
        cli: (...args) => cli(home, args),
        sql: async (q, args) => {
          const db = new Database(join(home, "evidence", "index.db"));
          try {
            db.prepare(q).run(...args);
          } finally {
            db.close();
          }
        },
      };
    },
    async close() {
      await Promise.all(opened.map((c) => c.close().catch(() => {})));
    },
  };
}

function postgresBackend(): Backend {
  let base = "";
  let template = "";
  const admin = async <T>(url: string, f: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return await f(c);
    } finally {
      await c.end();
    }
  };
  const dbName = (url: string): string => url.slice(url.lastIndexOf("/") + 1);
  const opened: AppContext[] = [];
  let copies = 0;
  return {
    name: "postgres",
    seqIs: "(annotations::jsonb)->>'seq' = ?",
    async record(home, f) {
      base = home;
      template = await freshDatabase();
      const ctx = createAppContext({ home, env: { ...env(), CLEANIMG_STORE: template } });
      await f(ctx);
      await ctx.close();
    },
    async copy() {
      const home = tempDir("cleanimg-negidx-pg-");
      rmSync(home, { recursive: true, force: true });
      cpSync(base, home, { recursive: true });
      // the baseline database as the template of the copy (nothing is connected to it)
      const name = `${dbName(template)}_${++copies}`;
      await admin(pgUrl("postgres"), (c) =>
        c.query(`CREATE DATABASE ${name} TEMPLATE ${dbName(template)}`),
      );
      const url = pgUrl(name);
      const ctx = createAppContext({ home, env: { CLEANIMG_STORE: url } });
      opened.push(ctx);
      return {
        ctx,
        cli: (...args) => cli(home, ["--store", url, ...args]),
        sql: (q, args) => {
          let n = 0;
          return admin(url, async (c) => {
            await c.query(
              q.replace(/\?/g, () => `$${++n}`),
              args,
            );
          });
        },
      };
    },
    async close() {
      await Promise.all(opened.map((c) => c.close().catch(() => {})));
    },
  };
}

const cli = (home: string, args: readonly string[]): SpawnSyncReturns<string> =>
  spawnSync(process.execPath, ["--import", "tsx", MAIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, CLEANIMG_HOME: home },
  });

const env = (): Record<string, string> => ({
  CLEANIMG_CACHE: CACHE,
  SOURCE_DATE_EPOCH: "1700000000",
});

/** A CEL policy of one rule. */
function policyFile(name: string, expression: string): string {
  const p = join(tempDir("cleanimg-negidx-policy-"), `${name}.yaml`);
  writeFileSync(
    p,
    `name: ${name}\nrules:\n  - name: ${name}\n    expression: ${expression}\n    message: ${name}\n    looksAt: [image.provenance]\n`,
  );
  return p;
}

describe.each([sqliteBackend(), postgresBackend()])(
  "the store's index is a cache, not a witness: $name",
  (backend) => {
    let image: Digest;

    beforeAll(async () => {
      const home = tempDir("cleanimg-negidx-base-");
      const dir = tempDir("cleanimg-negidx-ctx-");
      mkdirSync(join(dir, "app"));
      writeFileSync(join(dir, "app", "config.txt"), "static content\n");
      writeFileSync(
        join(dir, "cleanimg.yaml"),
        `image: ${REF}\nfiles:\n  - src: app/\n    dst: /app/\n`,
      );
      await backend.record(home, async (ctx) => {
        await importVulnData(ctx, [join(VULNDB, "pypi-osv.jsonl.gz")]);
        image = (await buildImage(ctx, { spec: join(dir, "cleanimg.yaml") })).image.digest;
        // three generations of SBOM (the build makes one), two of scan and VEX
        await scan(ctx, REF);
        await scan(ctx, REF);
        // an allow, then a newer deny
        const allow = await evaluateImagePolicy(ctx, REF, {
          policy: policyFile("chain_intact", "input.image.chain.intact"),
        });
        expect(allow.decision.allow).toBe(true);
        const deny = await evaluateImagePolicy(ctx, REF, {
          policy: policyFile("build_level_4", "input.image.provenance.level >= 4"),
        });
        expect(deny.decision.allow).toBe(false);
      });
    }, 300_000);

    afterAll(() => backend.close());

    /** The chain-link events the audit log recorded for a stage, oldest first. */
    const recorded = async (ctx: AppContext, stage: Stage): Promise<AuditEvent[]> =>
      (await auditEvents(ctx)).filter((e) => e.subject === image && e.details["stage"] === stage);

    /** Deletes the index rows of recorded links: the link itself and its audit-event row. */
    const deleteIndexRows = async (
      sql: (q: string, args: unknown[]) => Promise<void>,
      events: readonly AuditEvent[],
    ): Promise<void> => {
      for (const e of events) {
        await sql("DELETE FROM links WHERE subject = ? AND kind = 'attestation' AND evidence = ?", [
          image,
          e.evidence["attestation"],
        ]);
        await sql(
          `DELETE FROM links WHERE subject = ? AND kind = 'audit-event' AND ${backend.seqIs}`,
          [image, String(e.seq)],
        );
      }
    };

    /** Verify and the compliance status after the tampering: broken at `stage`, no PASS. */
    const expectBrokenAt = async (ctx: AppContext, stage: Stage, missing: AuditEvent) => {
      const r = await verifyChain(ctx, image);
      expect(r.intact).toBe(false);
      expect(r.firstBroken).toBe(stage);
      const link = r.links.find((l) => l.stage === stage);
      expect(link?.state).toBe("broken");
      expect(link?.reason).toContain(
        `the audit log records ${stage} evidence ${missing.evidence["attestation"]} (${missing.time}, audit event #${missing.seq}) for this image that the store's index no longer returns`,
      );
      const status = await complianceStatus(ctx, REF);
      const chain = status.checks.find((c) => c.id === "chain");
      expect(chain?.result).toBe("FAIL");
      expect(chain?.detail).toContain(`broken at ${stage}`);
      expect(status.compliant).toBe(false);
    };

    it("the recorded chain verifies intact before any tampering", async () => {
      const { ctx } = await backend.copy();
      const r = await verifyChain(ctx, image);
      expect(r.intact, JSON.stringify(r.links)).toBe(true);
      expect(r.links.map((l) => l.state)).toEqual([
        "valid",
        "valid",
        "valid",
        "valid",
        "valid",
        "not-recorded",
      ]);
      // the build makes one, each scan another
      expect((await recorded(ctx, "sbom")).length).toBe(3);
      expect((await recorded(ctx, "policy")).map((e) => e.details["decision"])).toEqual([
        "allow",
        "deny",
      ]);
    });

    it("deleting the newest SBOM generation's index rows (and the scan and VEX made from it) breaks the chain at sbom", async () => {
      const { ctx, sql } = await backend.copy();
      const newest = (s: Stage) => recorded(ctx, s).then((es) => es[es.length - 1] as AuditEvent);
      const sbom = await newest("sbom");
      // roll back the whole newest generation, and the decisions made from it
      await deleteIndexRows(sql, [
        sbom,
        await newest("scan"),
        await newest("vex"),
        ...(await recorded(ctx, "policy")),
      ]);
      // the index now returns the older generation, consistently
      const now = await latestLink(ctx, image, "sbom");
      expect(now?.attestation).toBeDefined();
      expect(now?.attestation).not.toBe(sbom.evidence["attestation"]);
      await expectBrokenAt(ctx, "sbom", sbom);
    });

    it("deleting the newer deny decision's index rows, so that the older allow is the latest, breaks the chain at policy", async () => {
      const { ctx, sql, cli } = await backend.copy();
      const [allow, deny] = await recorded(ctx, "policy");
      await deleteIndexRows(sql, [deny as AuditEvent]);
      const now = await latestLink(ctx, image, "policy");
      expect(now?.attestation).toBe(allow?.evidence["attestation"]);
      await expectBrokenAt(ctx, "policy", deny as AuditEvent);
      const policy = (await verifyChain(ctx, image)).links.find((l) => l.stage === "policy");
      expect(policy?.reason).toMatch(/^replaced by an older attestation/);
      // the command line says the same
      const v = cli("verify", "--image", REF);
      expect(v.status, v.stderr).toBe(1);
      expect(v.stdout).toMatch(
        new RegExp(
          `policy +BROKEN +replaced by an older attestation.*${deny?.evidence["attestation"]}.*no longer returns`,
        ),
      );
      expect(v.stdout).toMatch(/chain BROKEN at policy/);
    });

    it("deleting an older SBOM generation's index rows (the current one untouched) breaks the chain at sbom", async () => {
      const { ctx, sql } = await backend.copy();
      const [older] = await recorded(ctx, "sbom");
      await deleteIndexRows(sql, [older as AuditEvent]);
      await expectBrokenAt(ctx, "sbom", older as AuditEvent);
    });
  },
);
