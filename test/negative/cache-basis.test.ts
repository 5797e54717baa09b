import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import {
  AdmissionController,
  type AppContext,
  ChainCache,
  latestLink,
} from "../../src/app/index.js";
import { type Digest, digestHex } from "../../src/core/digest.js";
import type { SqliteEvidenceStore } from "../../src/store/index.js";
import { scannedHome } from "../support/scanned-home.js";

const REF = "basis:1.0.0";

/**
 * A cached chain or admission verdict rests on the store's blobs and index, not only on the audit
 * log: evidence altered on disk behind the store's back must not keep a cached "intact" or
 * "allowed", and a result made while a blob was unreadable must not outlive the outage.
 */

let ctx: AppContext;
let image: Digest;
let blobPath: (d: Digest) => string;

beforeAll(async () => {
  ({ ctx, image } = await scannedHome(REF));
  const store = ctx.evidence() as SqliteEvidenceStore;
  blobPath = (d) => join(store.dir, "blobs", "sha256", digestHex(d));
}, 120_000);

/** Flips a byte of the blob's file (same size), or moves it away; returns the undo. */
function alter(d: Digest): () => void {
  const p = blobPath(d);
  const was = readFileSync(p);
  const b = Buffer.from(was);
  b[b.length - 2] = (b[b.length - 2] ?? 0) ^ 0x01;
  writeFileSync(p, b);
  return () => writeFileSync(p, was);
}
function remove(d: Digest): () => void {
  const p = blobPath(d);
  renameSync(p, `${p}.away`);
  return () => renameSync(`${p}.away`, p);
}

describe("cached results rest on the store, not only on the audit log", () => {
  it("a cached intact chain is not served after its SBOM attestation is altered on disk", async () => {
    const chains = new ChainCache(ctx);
    await chains.refresh();
    expect((await chains.verify(image)).intact).toBe(true);
    const sbom = (await latestLink(ctx, image, "sbom"))?.attestation as Digest;
    const undo = alter(sbom);
    try {
      await chains.refresh();
      const r = await chains.verify(image);
      expect(r.intact).toBe(false);
      expect(r.firstBroken).toBe("sbom");
    } finally {
      undo();
    }
  });

  it("a chain found broken while a blob was missing is verified again once it is back", async () => {
    const chains = new ChainCache(ctx);
    await chains.refresh();
    const scanned = (await latestLink(ctx, image, "scan"))?.evidence as Digest;
    const undo = remove(scanned);
    try {
      expect((await chains.verify(image)).intact).toBe(false);
    } finally {
      undo();
    }
    await chains.refresh();
    expect((await chains.verify(image)).intact).toBe(true);
  });

  it("a cached allowed verdict is not served after an attestation is altered on disk", async () => {
    const admission = new AdmissionController(ctx);
    const first = await admission.verdict(REF, image);
    expect(first.reason).toMatch(/allows it/);
    expect(first.allowed).toBe(true);
    const vex = (await latestLink(ctx, image, "vex"))?.attestation as Digest;
    const undo = alter(vex);
    try {
      const again = await admission.verdict(REF, image);
      expect(again.allowed).toBe(false);
      expect(again.reason).toMatch(/broken at vex/);
    } finally {
      undo();
    }
  });

  it("a denial made while a blob was missing is not served once it is back", async () => {
    const admission = new AdmissionController(ctx);
    const scanned = (await latestLink(ctx, image, "scan"))?.attestation as Digest;
    const undo = remove(scanned);
    try {
      expect((await admission.verdict(REF, image)).allowed).toBe(false);
    } finally {
      undo();
    }
    const again = await admission.verdict(REF, image);
    expect(again.reason).toMatch(/allows it/);
  });

  it("a cached allowed verdict is not served after the image signature's blob is altered", async () => {
    const admission = new AdmissionController(ctx);
    expect((await admission.verdict(REF, image)).allowed).toBe(true);
    const [sig] = await ctx.evidence().find({ subject: image, kind: "image-signature" });
    const undo = alter(sig?.evidence as Digest);
    try {
      const again = await admission.verdict(REF, image);
      expect(again.allowed).toBe(false);
      expect(again.reason).toMatch(/signature/);
    } finally {
      undo();
    }
  });
});

describe("cached results rest on the index's links and the log entries too", () => {
  let home: { ctx: AppContext; image: Digest };
  const sql = (q: string, ...args: unknown[]): unknown => {
    const db = new Database(join((home.ctx.evidence() as SqliteEvidenceStore).dir, "index.db"));
    try {
      const st = db.prepare(q);
      return st.reader ? st.get(...args) : st.run(...args);
    } finally {
      db.close();
    }
  };
  beforeAll(async () => {
    home = await scannedHome("basis-rows:1.0.0");
  }, 120_000);

  it("a cached allowed verdict is not served after a link's transparency log entry is rewritten", async () => {
    const admission = new AdmissionController(home.ctx);
    expect((await admission.verdict(REF, home.image)).allowed).toBe(true);
    const { entry } = sql("SELECT entry FROM log_entries WHERE log = 'tlog' AND idx = 2") as {
      entry: Buffer;
    };
    sql(
      "UPDATE log_entries SET entry = ? WHERE log = 'tlog' AND idx = 2",
      Buffer.concat([Buffer.from([0]), entry]),
    );
    try {
      const again = await admission.verdict(REF, home.image);
      expect(again.allowed).toBe(false);
      expect(again.reason).toMatch(/transparency log/);
    } finally {
      sql("UPDATE log_entries SET entry = ? WHERE log = 'tlog' AND idx = 2", entry);
    }
    const restored = await admission.verdict(REF, home.image);
    expect(restored.allowed, restored.reason).toBe(true);
  });

  it("a cached allowed verdict is not served after the image signature's link is deleted", async () => {
    const admission = new AdmissionController(home.ctx);
    expect((await admission.verdict(REF, home.image)).allowed).toBe(true);
    sql("DELETE FROM links WHERE kind = 'image-signature'");
    const again = await admission.verdict(REF, home.image);
    expect(again.allowed).toBe(false);
  });
});
