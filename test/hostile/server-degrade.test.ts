import { renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  createAppContext,
  createToken,
  exportEvidence,
  importEvidence,
  itemsOf,
} from "../../src/app/index.js";
import type { Digest } from "../../src/core/digest.js";
import { type RunningServer, startServer } from "../../src/server/index.js";
import { admissionReview } from "../support/admission.js";
import { freshDatabase, pgUrl } from "../support/postgres.js";
import { type Answer, buildAllowedImages, httpCall } from "../support/served.js";
import { tempDir } from "../support/tmp.js";

/**
 * The server when its evidence store fails under it: the blobs directory of the SQLite store
 * taken away, a PostgreSQL database dropped while the server uses it, a PostgreSQL URL nobody
 * answers. The admission webhook denies (an AdmissionReview, not an HTTP error) saying why;
 * readiness names each part of the store and what is wrong with it; no verdict cached before the
 * outage is served during it, and no denial the outage caused outlives it.
 */

type Review = ReturnType<typeof admissionReview>;

const expectOutageDenial = (r: Answer, body: Review, part: RegExp): void => {
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  expect(r.body.kind).toBe("AdmissionReview");
  expect(r.body.response.uid).toBe(body.request["uid"]);
  expect(r.body.response.allowed).toBe(false);
  expect(r.body.response.status.code).toBe(503);
  expect(r.body.response.status.message).toMatch(/evidence store/);
  expect(r.body.response.status.message).toMatch(part);
};

describe("the server when its evidence store fails", { timeout: 300_000 }, () => {
  let home: string;
  let ctx: AppContext;
  let srv: RunningServer;
  let writer = "";
  let digests: Record<string, Digest> = {};

  beforeAll(async () => {
    home = tempDir("cleanimg-degrade-");
    ctx = createAppContext({
      home,
      env: { SOURCE_DATE_EPOCH: "1700000000", CLEANIMG_AUTHOR: "test" },
    });
    digests = await buildAllowedImages(ctx, ["first", "second"]);
    writer = (await createToken(ctx, { name: "apiserver", role: "writer" })).token;
    srv = await startServer(ctx, { listen: "127.0.0.1:0" });
  });
  afterAll(async () => {
    await srv?.close();
    await ctx?.close();
  });

  const pinned = (n: string) => `${n}:1.0.0@${digests[n]}`;
  const review = (base: string, body: Review) =>
    httpCall(base, "POST", "/admission", { token: writer, body });
  const blobs = () => join(home, "evidence", "blobs");
  /** Runs `f` with the SQLite store's blobs directory gone, then puts it back. */
  const withoutBlobs = async <T>(f: () => Promise<T>): Promise<T> => {
    renameSync(blobs(), `${blobs()}.away`);
    try {
      return await f();
    } finally {
      rmSync(blobs(), { recursive: true, force: true });
      renameSync(`${blobs()}.away`, blobs());
    }
  };

  describe("SQLite, its blobs directory gone", () => {
    it("readiness reports the database and the blobs, each with its state, 503 when one fails", async () => {
      const ok = await httpCall(srv.url, "GET", "/readyz");
      const down = await withoutBlobs(() => httpCall(srv.url, "GET", "/readyz"));
      const back = await httpCall(srv.url, "GET", "/readyz");
      expect(down.status, JSON.stringify(down.body)).toBe(503);
      expect(down.body.parts.database.ok).toBe(true);
      expect(down.body.parts.blobs.ok).toBe(false);
      expect(down.body.parts.blobs.detail).toMatch(/blobs/);
      expect(ok.status).toBe(200);
      expect(ok.body.parts.database.ok).toBe(true);
      expect(ok.body.parts.blobs.ok).toBe(true);
      expect(back.status).toBe(200);
    });

    it("serves no cached 'allowed' verdict while the store is unhealthy", async () => {
      const body = () =>
        admissionReview("Pod", { containers: [pinned("first")] }, { namespace: "shop" });
      const warm = await review(srv.url, body());
      expect(warm.body.response.allowed, JSON.stringify(warm.body)).toBe(true);
      const during = body();
      const r = await withoutBlobs(() => review(srv.url, during));
      expectOutageDenial(r, during, /blobs/);
      // the store back: allowed again
      const after = await review(srv.url, body());
      expect(after.body.response.allowed, JSON.stringify(after.body)).toBe(true);
    });

    it("does not cache a denial the outage caused", async () => {
      const body = () =>
        admissionReview("Deployment", { containers: [pinned("second")] }, { namespace: "shop" });
      const during = body();
      const r = await withoutBlobs(() => review(srv.url, during));
      const after = await review(srv.url, body());
      expect(after.body.response.allowed, JSON.stringify(after.body)).toBe(true);
      expectOutageDenial(r, during, /blobs/);
    });
  });

  describe("PostgreSQL", () => {
    it("denies with an AdmissionReview naming the outage when the database is dropped under the server", async () => {
      const url = await freshDatabase();
      const pctx = createAppContext({ home, store: url, env: { CLEANIMG_AUTHOR: "test" } });
      const token = (await createToken(pctx, { name: "apiserver", role: "writer" })).token;
      const e = await exportEvidence(ctx, {
        name: "first:1.0.0",
        digest: digests["first"] as Digest,
      });
      await importEvidence(pctx, e.image, itemsOf(e), { source: "test" });
      const psrv = await startServer(pctx, { listen: "127.0.0.1:0" });
      try {
        const body = () =>
          admissionReview("Pod", { containers: [pinned("first")] }, { namespace: "pg" });
        const warm = await httpCall(psrv.url, "POST", "/admission", { token, body: body() });
        expect(warm.body.response.allowed, JSON.stringify(warm.body)).toBe(true);
        expect((await httpCall(psrv.url, "GET", "/readyz")).status).toBe(200);
        const admin = new pg.Client({ connectionString: pgUrl("postgres") });
        await admin.connect();
        try {
          await admin.query(`DROP DATABASE ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
        } finally {
          await admin.end();
        }
        const during = body();
        const r = await httpCall(psrv.url, "POST", "/admission", { token, body: during });
        expectOutageDenial(r, during, /database/);
        const ready = await httpCall(psrv.url, "GET", "/readyz");
        expect(ready.status).toBe(503);
        expect(ready.body.parts.database.ok).toBe(false);
        expect(ready.body.parts.database.detail).toMatch(/does not exist/);
        expect(ready.body.parts.blobs.ok).toBe(false);
        // other endpoints: 503, not 500
        const list = await httpCall(psrv.url, "GET", "/v1/images", { token });
        expect(list.status).toBe(503);
      } finally {
        await psrv.close();
        await pctx.close();
      }
    });

    it("denies when the database was never reachable (a closed port)", async () => {
      const pctx = createAppContext({
        home: tempDir("cleanimg-degrade-closed-"),
        store: "postgres://cleanimg@127.0.0.1:1/nothing",
        env: {},
      });
      const psrv = await startServer(pctx, { listen: "127.0.0.1:0" });
      try {
        const body = admissionReview("Pod", { containers: [pinned("first")] });
        const token = `cit_${"0".repeat(16)}_${"A".repeat(43)}`;
        const r = await httpCall(psrv.url, "POST", "/admission", { token, body });
        expectOutageDenial(r, body, /database/);
        const ready = await httpCall(psrv.url, "GET", "/readyz");
        expect(ready.status).toBe(503);
        expect(ready.body.parts.database.ok).toBe(false);
        expect(ready.body.parts.database.detail).toMatch(/ECONNREFUSED|connect/);
      } finally {
        await psrv.close();
        await pctx.close();
      }
    });
  });
});
