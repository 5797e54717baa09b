import type { ContractTestApi } from "../core/contract.js";
import { type Digest, sha256 } from "../core/digest.js";
import { StoreError } from "../core/errors.js";
import { appendToLog, type EvidenceStore, putEvidence } from "./evidence-store.js";

/** How a contract run makes and damages a store. */
export interface StoreFactory {
  /** A new, empty store whose clock is `now`. */
  create(now: () => Date): Promise<EvidenceStore>;
  /** Alters a stored blob's bytes behind the store's back (disk corruption, tampering). */
  corrupt(store: EvidenceStore, digest: Digest): Promise<void>;
}

async function expectStoreError(
  p: Promise<unknown>,
  code: string,
  expect: ContractTestApi["expect"],
): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(e instanceof StoreError).toBe(true);
    expect((e as StoreError).code).toBe(code);
    return;
  }
  expect(`no error (expected ${code})`).toBe(code);
}

const enc = new TextEncoder();
const subjectA = sha256("image-a");
const subjectB = sha256("image-b");

/** A settable clock starting at 2026-01-01T00:00:00Z. */
function clock(): { now: () => Date; advance(ms: number): void } {
  let ms = Date.parse("2026-01-01T00:00:00Z");
  return {
    now: () => new Date(ms),
    advance: (d) => {
      ms += d;
    },
  };
}

/** Blobs: content addressed, verified on read, typed. */
function blobCases(factory: StoreFactory, t: ContractTestApi): void {
  const { it, expect } = t;
  it("stores and returns blobs by sha256 digest with their media type", async () => {
    const s = await factory.create(clock().now);
    const bytes = enc.encode('{"spdxVersion":"SPDX-2.3"}');
    const d = await s.putBlob(bytes, "application/spdx+json");
    expect(d).toBe(sha256(bytes));
    const got = await s.getBlob(d);
    expect(Buffer.from(got.bytes).toString()).toBe('{"spdxVersion":"SPDX-2.3"}');
    expect(got.mediaType).toBe("application/spdx+json");
    expect(await s.hasBlob(d)).toBe(true);
    await s.close();
  });

  it("is idempotent for the same bytes", async () => {
    const s = await factory.create(clock().now);
    const a = await s.putBlob(enc.encode("x"), "text/plain");
    const b = await s.putBlob(enc.encode("x"), "text/plain");
    expect(a).toBe(b);
    await s.close();
  });

  it("reports unknown digests as STORE_NOT_FOUND", async () => {
    const s = await factory.create(clock().now);
    await expectStoreError(s.getBlob(sha256("never stored")), "STORE_NOT_FOUND", expect);
    expect(await s.hasBlob(sha256("never stored"))).toBe(false);
    await s.close();
  });

  it("re-hashes on read and refuses altered blobs", async () => {
    const s = await factory.create(clock().now);
    const d = await s.putBlob(enc.encode("evidence that must not change"), "text/plain");
    await factory.corrupt(s, d);
    await expectStoreError(s.getBlob(d), "STORE_DIGEST_MISMATCH", expect);
    await s.close();
  });

  it("versions blobs: none when not stored, the same while unchanged, another once altered", async () => {
    const s = await factory.create(clock().now);
    const d = await s.putBlob(enc.encode("evidence a cache relies on"), "text/plain");
    const absent = sha256("never stored");
    expect((await s.blobVersions([absent]))[0]).toEqual({ version: "", settled: true });
    // a store whose versions have a clock tick's resolution settles within seconds
    let [before] = await s.blobVersions([d]);
    for (let i = 0; i < 40 && !before?.settled; i++) {
      await new Promise((r) => setTimeout(r, 100));
      [before] = await s.blobVersions([d]);
    }
    expect(before?.settled).toBe(true);
    expect(before?.version === "").toBe(false);
    expect(await s.blobVersions([d, absent, d])).toEqual([
      before,
      { version: "", settled: true },
      before,
    ]);
    await factory.corrupt(s, d);
    const [after] = await s.blobVersions([d]);
    expect(after?.version === before?.version).toBe(false);
    await s.close();
  });

  it("refuses to link evidence that is not stored", async () => {
    const s = await factory.create(clock().now);
    await expectStoreError(s.link(subjectA, sha256("missing"), "sbom"), "STORE_NOT_FOUND", expect);
    await s.close();
  });

  it("rejects empty media types and kinds", async () => {
    const s = await factory.create(clock().now);
    await expectStoreError(s.putBlob(enc.encode("x"), ""), "STORE_INVALID_INPUT", expect);
    const d = await s.putBlob(enc.encode("x"), "text/plain");
    await expectStoreError(s.link(subjectA, d, ""), "STORE_INVALID_INPUT", expect);
    await s.close();
  });
}

/** Links: subject to evidence, found by subject, kind and time. */
function linkCases(factory: StoreFactory, t: ContractTestApi): void {
  const { it, expect } = t;
  it("links evidence to subjects and finds it by subject, kind and time", async () => {
    const c = clock();
    const s = await factory.create(c.now);
    const sbom = await putEvidence(s, {
      bytes: enc.encode("sbom"),
      mediaType: "application/spdx+json",
      subject: subjectA,
      kind: "sbom",
      annotations: { format: "spdx-2.3" },
    });
    c.advance(60_000);
    await putEvidence(s, {
      bytes: enc.encode("vex"),
      mediaType: "application/openvex+json",
      subject: subjectA,
      kind: "vex",
    });
    c.advance(60_000);
    await putEvidence(s, {
      bytes: enc.encode("sbom-b"),
      mediaType: "application/spdx+json",
      subject: subjectB,
      kind: "sbom",
    });
    expect(sbom.annotations).toEqual({ format: "spdx-2.3" });
    expect(sbom.size).toBe(4);
    expect(await s.find({ subject: subjectA })).toHaveLength(2);
    expect((await s.find({ subject: subjectA, kind: "vex" })).map((l) => l.kind)).toEqual(["vex"]);
    expect((await s.find({ kind: "sbom" })).map((l) => l.subject)).toEqual([subjectA, subjectB]);
    expect(await s.find({ since: "2026-01-01T00:01:00.000Z" })).toHaveLength(2);
    expect(await s.find({ until: "2026-01-01T00:01:00.000Z" })).toHaveLength(1);
    expect(await s.find({ limit: 1 })).toHaveLength(1);
    expect((await s.find({ evidence: sbom.evidence })).map((l) => l.subject)).toEqual([subjectA]);
    await s.close();
  });

  it("keeps one link per (subject, evidence, kind) and its first timestamp", async () => {
    const c = clock();
    const s = await factory.create(c.now);
    const d = await s.putBlob(enc.encode("scan"), "application/json");
    const first = await s.link(subjectA, d, "scan");
    c.advance(1000);
    const again = await s.link(subjectA, d, "scan");
    expect(again.createdAt).toBe(first.createdAt);
    expect(await s.find({ subject: subjectA })).toHaveLength(1);
    await s.link(subjectB, d, "scan");
    expect(await s.find({ evidence: d })).toHaveLength(2);
    await s.close();
  });
}

/** Append-only logs: dense, atomic with their links, safe under concurrent appenders. */
function logCases(factory: StoreFactory, t: ContractTestApi): void {
  const { it, expect } = t;
  it("keeps append-only logs: dense indexes, conflicts on a stale index, separate logs", async () => {
    const s = await factory.create(clock().now);
    expect(await s.size("audit")).toBe(0);
    await s.append("audit", 0, enc.encode("e0"));
    await s.append("audit", 1, enc.encode("e1"));
    await expectStoreError(s.append("audit", 1, enc.encode("late")), "STORE_CONFLICT", expect);
    await expectStoreError(s.append("audit", 3, enc.encode("gap")), "STORE_CONFLICT", expect);
    await expectStoreError(s.append("Bad Name", 0, enc.encode("x")), "STORE_INVALID_INPUT", expect);
    await s.append("tlog", 0, enc.encode("t0"));
    expect(await s.size("audit")).toBe(2);
    expect(await s.size("tlog")).toBe(1);
    const all = await s.entries("audit", 0);
    expect(all.map((e) => Buffer.from(e).toString())).toEqual(["e0", "e1"]);
    expect((await s.entries("audit", 1, 2)).map((e) => Buffer.from(e).toString())).toEqual(["e1"]);
    await s.close();
  });

  it("makes an entry's links with it, or none of them when the append fails", async () => {
    const s = await factory.create(clock().now);
    const d = await s.putBlob(enc.encode("attestation"), "application/json");
    const e = await s.putBlob(enc.encode("event"), "application/json");
    const links = [
      { subject: subjectA, evidence: d, kind: "attestation", annotations: { stage: "sbom" } },
      { subject: subjectA, evidence: e, kind: "audit-event" },
    ];
    await s.append("audit", 0, enc.encode("e0"));
    // a stale index: neither the entry nor its links
    await expectStoreError(
      s.append("audit", 0, enc.encode("late"), links),
      "STORE_CONFLICT",
      expect,
    );
    expect(await s.find({ subject: subjectA })).toHaveLength(0);
    // a link to a blob that is not stored: nothing at all
    const missing = `sha256:${"e".repeat(64)}` as Digest;
    await expectStoreError(
      s.append("audit", 1, enc.encode("e1"), [
        ...links,
        { subject: subjectA, evidence: missing, kind: "x" },
      ]),
      "STORE_NOT_FOUND",
      expect,
    );
    expect(await s.find({ subject: subjectA })).toHaveLength(0);
    expect(await s.size("audit")).toBe(1);
    await s.append("audit", 1, enc.encode("e1"), links);
    const made = await s.find({ subject: subjectA });
    expect(made.map((l) => l.kind)).toEqual(["attestation", "audit-event"]);
    expect(made[0]?.annotations).toEqual({ stage: "sbom" });
    expect(await s.size("audit")).toBe(2);
    await s.close();
  });

  it("appends nothing when a builder fails, and the next append goes through", async () => {
    const s = await factory.create(clock().now);
    let failed = "";
    try {
      await appendToLog(s, "audit", async () => {
        throw new Error("builder failed");
      });
    } catch (e) {
      failed = (e as Error).message;
    }
    expect(failed).toBe("builder failed");
    expect(await s.size("audit")).toBe(0);
    await appendToLog(s, "audit", async (i) => enc.encode(`e${i}`));
    expect((await s.entries("audit", 0)).map((e) => Buffer.from(e).toString())).toEqual(["e0"]);
    await s.close();
  });

  it("lets concurrent appenders chain to the tail without losing or forking entries", async () => {
    const s = await factory.create(clock().now);
    const writers = Array.from({ length: 8 }, (_, w) =>
      (async () => {
        for (let i = 0; i < 5; i++) {
          await appendToLog(s, "audit", async (index, prev) => {
            await new Promise((r) => setTimeout(r, 0));
            return enc.encode(`${index}:${prev ? Buffer.from(prev).toString() : "-"}:w${w}`);
          });
        }
      })(),
    );
    await Promise.all(writers);
    const entries = (await s.entries("audit", 0)).map((e) => Buffer.from(e).toString());
    expect(entries).toHaveLength(40);
    entries.forEach((e, i) => {
      expect(e.startsWith(`${i}:${i === 0 ? "-" : entries[i - 1]}:`)).toBe(true);
    });
    await s.close();
  });
}

/**
 * The contract every {@link EvidenceStore} implementation must pass.
 * @example describeEvidenceStoreContract("sqlite", factory, { describe, it, expect })
 */
export function describeEvidenceStoreContract(
  name: string,
  factory: StoreFactory,
  t: ContractTestApi,
): void {
  t.describe(`EvidenceStore contract: ${name}`, () => {
    blobCases(factory, t);
    linkCases(factory, t);
    logCases(factory, t);
  });
}

export type { ContractTestApi };
