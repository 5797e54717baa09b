import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  type AuditEvent,
  auditEvents,
  createAppContext,
  verifyAuditTrail,
  verifyChain,
  verifyTransparencyLog,
} from "../../src/app/index.js";
import { generateChains, imageOf } from "../support/chains.js";
import { freshDatabase } from "../support/postgres.js";
import { tempDir } from "../support/tmp.js";

const MAIN = resolve(import.meta.dirname, "../../src/cli/main.ts");

/**
 * Cutting the tail of the transparency log or of the audit log (rows deleted directly with SQL)
 * leaves a log that agrees with itself. What proves it held more is kept where the rows are not:
 * the newest signed checkpoint and audit head beside the store (the witness), and the signed
 * checkpoints inside the bundles the store holds. `tlog verify`, `audit verify` and `verify`
 * must refuse the shorter log, naming what proves the larger size. Both SQL stores.
 */

interface Store {
  readonly home: string;
  /** Where the witness of this store is kept (once something was recorded). */
  witness(): string;
  ctx(): AppContext;
  sql(q: string, args?: unknown[]): Promise<void>;
  cli(...args: string[]): SpawnSyncReturns<string>;
  /** The SQL condition selecting an audit-event link by its event's sequence number. */
  readonly seqIs: string;
}

const opened: AppContext[] = [];
afterAll(async () => {
  await Promise.all(opened.map((c) => c.close().catch(() => {})));
});

const run = (home: string, args: readonly string[]): SpawnSyncReturns<string> =>
  spawnSync(process.execPath, ["--import", "tsx", MAIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, CLEANIMG_HOME: home },
  });

async function sqliteStore(): Promise<Store> {
  const home = tempDir("cleanimg-cut-");
  return {
    home,
    witness: () => join(home, "evidence", "witness"),
    seqIs: "json_extract(annotations, '$.seq') = ?",
    ctx() {
      const c = createAppContext({ home, env: {} });
      opened.push(c);
      return c;
    },
    async sql(q, args = []) {
      const db = new Database(join(home, "evidence", "index.db"));
      try {
        db.prepare(q).run(...args);
      } finally {
        db.close();
      }
    },
    cli: (...args) => run(home, args),
  };
}

async function postgresStore(): Promise<Store> {
  const home = tempDir("cleanimg-cut-pg-");
  const url = await freshDatabase();
  return {
    home,
    // one directory per PostgreSQL store used from this home
    witness: () => {
      const [dir, ...more] = readdirSync(join(home, "witness"));
      expect(more).toEqual([]);
      return join(home, "witness", dir as string);
    },
    seqIs: "(annotations::jsonb)->>'seq' = ?",
    ctx() {
      const c = createAppContext({ home, env: { CLEANIMG_STORE: url } });
      opened.push(c);
      return c;
    },
    async sql(q, args = []) {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        let n = 0;
        await c.query(
          q.replace(/\?/g, () => `$${++n}`),
          args,
        );
      } finally {
        await c.end();
      }
    },
    cli: (...args) => run(home, ["--store", url, ...args]),
  };
}

/** Two images' six-link chains: transparency log entries 0-11, audit events 0-11. */
async function recorded(make: () => Promise<Store>): Promise<Store> {
  const s = await make();
  const ctx = s.ctx();
  await generateChains(ctx, 2);
  expect((await verifyTransparencyLog(ctx)).problems).toEqual([]);
  expect((await verifyAuditTrail(ctx)).intact).toBe(true);
  expect((await verifyChain(ctx, imageOf(1).digest)).intact).toBe(true);
  await ctx.close();
  return s;
}

describe.each([
  ["sqlite", sqliteStore],
  ["postgres", postgresStore],
] as const)("a log's tail cut behind cleanimg's back: %s", (_name, make) => {
  const second = imageOf(1).digest;

  it("the transparency log's tail deleted: tlog verify and verify name the checkpoints that prove more", async () => {
    const s = await recorded(make);
    await s.sql("DELETE FROM log_entries WHERE log = 'tlog' AND idx >= 9");
    const ctx = s.ctx();
    const v = await verifyTransparencyLog(ctx);
    expect(v.size).toBe(9);
    expect(v.problems).toContainEqual({
      index: 9,
      reason: `the log holds 9 entries, but the checkpoint kept outside the store (${join(s.witness(), "tlog-0000000000000012")}) signs a tree of 12: entries 9..11 were removed (the log's tail was truncated)`,
    });
    const tv = s.cli("tlog", "verify");
    expect(tv.status, tv.stderr).toBe(1);
    expect(tv.stdout).toMatch(/entry 9: the log holds 9 entries, but the checkpoint kept outside/);
    // the second image's vex, policy and deployment links were logged at 9, 10 and 11
    const r = await verifyChain(ctx, second);
    expect(r.intact).toBe(false);
    expect(r.firstBroken).toBe("vex");
    expect(r.links.find((l) => l.stage === "vex")?.reason).toBe(
      "its transparency log entry #9 is not in the store's log, which holds 9 entries while the attestation's own signed checkpoint is of a tree of 10: the log's tail was truncated (see tlog verify)",
    );
    const cv = s.cli("verify", "--image", second);
    expect(cv.status, cv.stderr).toBe(1);
    expect(cv.stdout).toMatch(
      /vex +BROKEN +its transparency log entry #9 is not in the store's log/,
    );
    expect(cv.stdout).toMatch(/chain BROKEN at vex/);
  });

  it("the whole transparency log deleted: refused too", async () => {
    const s = await recorded(make);
    await s.sql("DELETE FROM log_entries WHERE log = 'tlog'");
    const ctx = s.ctx();
    const v = await verifyTransparencyLog(ctx);
    expect(v.size).toBe(0);
    expect(v.problems.map((p) => p.reason)).toContainEqual(
      expect.stringMatching(
        /^the log holds 0 entries, but the checkpoint kept outside .* signs a tree of 12: entries 0\.\.11 were removed/,
      ),
    );
    expect(s.cli("tlog", "verify").status).toBe(1);
    const r = await verifyChain(ctx, imageOf(0).digest);
    expect(r.firstBroken).toBe("provenance");
    expect(r.links[0]?.reason).toMatch(/entry #0 is not in the store's log, which holds 0 entries/);
    expect(s.cli("verify", "--image", imageOf(0).digest).status).toBe(1);
  });

  it("the tail and the witness deleted: the store's own bundles still prove the larger size", async () => {
    const s = await recorded(make);
    await s.sql("DELETE FROM log_entries WHERE log = 'tlog' AND idx >= 9");
    rmSync(s.witness(), { recursive: true, force: true });
    const v = await verifyTransparencyLog(s.ctx());
    expect(v.problems.map((p) => p.reason)).toContainEqual(
      expect.stringMatching(
        /^the log holds 9 entries, but the checkpoint in the store's bundle sha256:[0-9a-f]{64} signs a tree of 12: entries 9\.\.11 were removed/,
      ),
    );
    const tv = s.cli("tlog", "verify");
    expect(tv.status).toBe(1);
    expect(tv.stdout).toMatch(
      /the checkpoint in the store's bundle sha256:[0-9a-f]{64} signs a tree of 12/,
    );
  });

  it("the audit log's tail deleted: audit verify names the signed head kept outside the store", async () => {
    const s = await recorded(make);
    await s.sql("DELETE FROM log_entries WHERE log = 'audit' AND idx >= 9");
    const v = await verifyAuditTrail(s.ctx());
    expect(v.intact).toBe(false);
    expect(v.events).toBe(9);
    expect(v.problems).toContainEqual({
      seq: 9,
      reason: expect.stringMatching(
        new RegExp(
          `^the audit log holds 9 events, but its signed head kept outside the store \\(${join(s.witness(), "audit-0000000000000012")}\\) is event #11 \\(.*, deployment\\): events #9\\.\\.#11 were removed`,
        ),
      ),
    });
    const av = s.cli("audit", "verify");
    expect(av.status).toBe(1);
    expect(av.stdout).toMatch(/event #9: the audit log holds 9 events, but its signed head/);
  });

  it("the whole audit log and its witness deleted: the index's audit-event links prove the events", async () => {
    const s = await recorded(make);
    await s.sql("DELETE FROM log_entries WHERE log = 'audit'");
    for (const f of readdirSync(s.witness()).filter((f) => f.startsWith("audit-"))) {
      rmSync(join(s.witness(), f));
    }
    const v = await verifyAuditTrail(s.ctx());
    expect(v.intact).toBe(false);
    expect(v.problems).toContainEqual({
      seq: 0,
      reason:
        "the audit log holds 0 events, but the store's index links audit event #11: events #0..#11 were removed",
    });
    const av = s.cli("audit", "verify");
    expect(av.status).toBe(1);
    expect(av.stdout).not.toMatch(/intact/);
  });

  it("the audit log's tail, its audit-event links and the witness deleted: the signed links no event records prove it", async () => {
    const s = await recorded(make);
    const ctx0 = s.ctx();
    const cut = (await auditEvents(ctx0)).filter((e) => e.seq >= 9) as AuditEvent[];
    await ctx0.close();
    await s.sql("DELETE FROM log_entries WHERE log = 'audit' AND idx >= 9");
    for (const e of cut) {
      await s.sql(`DELETE FROM links WHERE kind = 'audit-event' AND ${s.seqIs}`, [String(e.seq)]);
    }
    for (const f of readdirSync(s.witness()).filter((f) => f.startsWith("audit-"))) {
      rmSync(join(s.witness(), f));
    }
    const v = await verifyAuditTrail(s.ctx());
    expect(v.events).toBe(9);
    expect(v.intact).toBe(false);
    expect(v.problems).toEqual([
      {
        seq: 9,
        reason: expect.stringMatching(
          new RegExp(
            `^the store holds 3 links that no event of the audit log records \\(the first: vex attestation ${cut[0]?.evidence["attestation"]} of image ${second}, made ${cut[0]?.time}\\): the events that recorded them were removed$`,
          ),
        ),
      },
    ]);
    const av = s.cli("audit", "verify");
    expect(av.status).toBe(1);
    expect(av.stdout).not.toMatch(/intact/);
    expect(av.stdout).toMatch(/event #9: the store holds 3 links that no event/);
  });

  it("the audit log's tail cut together with the index rows: the chain is broken, not intact", async () => {
    const s = await recorded(make);
    const ctx0 = s.ctx();
    const cut = (await auditEvents(ctx0)).filter((e) => e.seq >= 9) as AuditEvent[];
    await ctx0.close();
    expect(cut.map((e) => [e.subject, e.details["stage"]])).toEqual([
      [second, "vex"],
      [second, "policy"],
      [second, "deployment"],
    ]);
    await s.sql("DELETE FROM log_entries WHERE log = 'audit' AND idx >= 9");
    for (const e of cut) {
      await s.sql("DELETE FROM links WHERE subject = ? AND kind = 'attestation' AND evidence = ?", [
        second,
        e.evidence["attestation"],
      ]);
      await s.sql(`DELETE FROM links WHERE subject = ? AND kind = 'audit-event' AND ${s.seqIs}`, [
        second,
        String(e.seq),
      ]);
    }
    const ctx = s.ctx();
    const r = await verifyChain(ctx, second);
    expect(r.intact).toBe(false);
    expect(r.firstBroken).toBe("provenance");
    expect(r.links[0]?.reason).toMatch(
      /^the audit log, the witness of what this chain contains, was cut: the audit log holds 9 events, but its signed head kept outside the store .* is event #11/,
    );
    const cv = s.cli("verify", "--image", second);
    expect(cv.status).toBe(1);
    expect(cv.stdout).toMatch(/chain BROKEN at provenance/);
    expect(cv.stdout).not.toMatch(/chain intact/);
  });
});
