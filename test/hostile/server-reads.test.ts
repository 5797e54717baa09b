import { readdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  auditEvents,
  createAppContext,
  createToken,
  verifyAuditTrail,
  verifyChain,
} from "../../src/app/index.js";
import type { Digest } from "../../src/core/digest.js";
import { Metrics, type RunningServer, routes, startServer } from "../../src/server/index.js";
import { buildAllowedImages, httpCall } from "../support/served.js";
import { tempDir } from "../support/tmp.js";

/**
 * Reads must not write: a reader token calling every GET endpoint, again and again, leaves the
 * store as it was (rows of every table, blob files). A compliance report is computed on read;
 * it is stored only when a writer asks for it (POST), and that write is in the audit trail.
 */

const FRAMEWORKS = ["fedramp-high", "ssdf", "eu-cra"];

describe("reads do not write", { timeout: 300_000 }, () => {
  let home: string;
  let ctx: AppContext;
  let srv: RunningServer;
  const tokens: Record<string, string> = {};
  let digest: Digest;

  beforeAll(async () => {
    home = tempDir("cleanimg-reads-");
    ctx = createAppContext({
      home,
      env: { SOURCE_DATE_EPOCH: "1700000000", CLEANIMG_AUTHOR: "test" },
    });
    digest = (await buildAllowedImages(ctx, ["shop"]))["shop"] as Digest;
    for (const role of ["reader", "writer", "admin"]) {
      tokens[role] = (await createToken(ctx, { name: `${role}-t`, role })).token;
    }
    srv = await startServer(ctx, { listen: "127.0.0.1:0" });
  });
  afterAll(async () => {
    await srv?.close();
    await ctx?.close();
  });

  /** Rows of every table of the store's database, and the blob files on disk. */
  const footprint = (): Record<string, number> => {
    const db = new Database(join(home, "evidence", "index.db"), { readonly: true });
    try {
      const tables = (
        db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
          name: string;
        }[]
      ).map((t) => t.name);
      const out: Record<string, number> = {};
      for (const t of tables) {
        out[t] = (db.prepare(`SELECT COUNT(*) AS n FROM "${t}"`).get() as { n: number }).n;
      }
      out["blob files"] = readdirSync(join(home, "evidence", "blobs", "sha256")).length;
      return out;
    } finally {
      db.close();
    }
  };

  it("leaves the store unchanged after every GET endpoint, called by a reader, many times", async () => {
    const blob = (await verifyChain(ctx, digest)).links[0]?.attestation as string;
    const gets = routes(ctx, undefined as never, new Metrics(), {}).filter(
      (r) => r.method === "GET",
    );
    expect(gets.map((r) => r.path)).toContain("/v1/images/{digest}/reports/{framework}");
    // each with the lowest role it admits: a reader token, but for the admin's token list
    const paths = gets.flatMap((r) => {
      const p = r.path.replace("{digest}", r.path.startsWith("/v1/blobs/") ? blob : digest);
      const token =
        r.access === "public" ? undefined : tokens[r.access === "admin" ? "admin" : "reader"];
      const ps = p.includes("{framework}")
        ? FRAMEWORKS.map((f) => p.replace("{framework}", f))
        : [p];
      return ps.map((path) => ({ path, token }));
    });
    expect(paths.filter((p) => p.token === tokens["reader"]).length).toBeGreaterThan(10);
    for (const path of [
      "/v1/images?verify=false",
      `/v1/images/${digest}/evidence?kind=attestation`,
    ]) {
      paths.push({ path, token: tokens["reader"] });
    }
    const before = footprint();
    expect(before["blobs"]).toBeGreaterThan(0);
    for (let round = 0; round < 3; round++) {
      for (const { path, token } of paths) {
        const r = await httpCall(srv.url, "GET", path, token ? { token } : {});
        expect(r.status, `GET ${path}: ${JSON.stringify(r.body).slice(0, 300)}`).toBe(200);
      }
    }
    expect(footprint()).toEqual(before);
  });

  it("stores a report only when a writer asks, and records that write in the audit trail", async () => {
    const path = `/v1/images/${digest}/reports/fedramp-high`;
    const before = footprint();
    const refused = await httpCall(srv.url, "POST", path, { token: tokens["reader"] as string });
    expect(refused.status).toBe(403);
    expect(footprint()).toEqual(before);
    const auditBefore = await ctx.evidence().size("audit");
    const r = await httpCall(srv.url, "POST", path, { token: tokens["writer"] as string });
    expect(r.status, JSON.stringify(r.body).slice(0, 300)).toBe(201);
    expect(r.body.report.image.digest).toBe(digest);
    const stored = r.body.evidence as Digest;
    const kept = JSON.parse(new TextDecoder().decode((await ctx.evidence().getBlob(stored)).bytes));
    expect(kept).toEqual(r.body.report);
    const links = await ctx.evidence().find({ subject: digest, kind: "compliance-report" });
    expect(links.map((l) => l.evidence)).toEqual([stored]);
    const events = (await auditEvents(ctx)).slice(auditBefore);
    const ev = events.find((e) => Object.values(e.evidence).includes(stored));
    expect(ev, JSON.stringify(events)).toBeDefined();
    expect(ev?.subject).toBe(digest);
    expect(ev?.actor).toMatch(/^token:writer-t\//);
    expect((await verifyAuditTrail(ctx)).intact).toBe(true);
  });
});
