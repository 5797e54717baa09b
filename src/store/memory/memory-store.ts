import { type Digest, sha256 } from "../../core/digest.js";
import { StoreError } from "../../core/errors.js";
import {
  assertValidBlobInput,
  assertValidLinkInput,
  assertValidLogInput,
  type BlobVersion,
  type EvidenceLink,
  type EvidenceQuery,
  type EvidenceStore,
  type LinkInput,
  type StoredBlob,
  sortedAnnotations,
} from "../evidence-store.js";

/** An in-memory evidence store, for tests and dry runs. Same contract as the others. */
export class MemoryEvidenceStore implements EvidenceStore {
  readonly #blobs = new Map<Digest, { mediaType: string; bytes: Uint8Array; version: number }>();
  #versions = 0;
  readonly #links: EvidenceLink[] = [];
  readonly #logs = new Map<string, Uint8Array[]>();
  constructor(private readonly now: () => Date = () => new Date()) {}

  async putBlob(bytes: Uint8Array, mediaType: string): Promise<Digest> {
    assertValidBlobInput(mediaType);
    const digest = sha256(bytes);
    if (!this.#blobs.has(digest)) {
      this.#blobs.set(digest, {
        mediaType,
        bytes: new Uint8Array(bytes),
        version: ++this.#versions,
      });
    }
    return digest;
  }

  async getBlob(digest: Digest): Promise<StoredBlob> {
    const b = this.#blobs.get(digest);
    if (!b) {
      throw new StoreError("STORE_NOT_FOUND", `no evidence blob ${digest}`);
    }
    if (sha256(b.bytes) !== digest) {
      throw new StoreError("STORE_DIGEST_MISMATCH", `evidence blob ${digest} has been altered`);
    }
    return { digest, mediaType: b.mediaType, bytes: new Uint8Array(b.bytes) };
  }

  async hasBlob(digest: Digest): Promise<boolean> {
    return this.#blobs.has(digest);
  }

  async blobVersions(digests: readonly Digest[]): Promise<readonly BlobVersion[]> {
    return digests.map((d) => ({
      version: String(this.#blobs.get(d)?.version ?? ""),
      settled: true,
    }));
  }

  async link(
    subject: Digest,
    evidence: Digest,
    kind: string,
    annotations: Readonly<Record<string, string>> = {},
  ): Promise<EvidenceLink> {
    return this.#link(subject, evidence, kind, annotations);
  }

  #link(
    subject: Digest,
    evidence: Digest,
    kind: string,
    annotations: Readonly<Record<string, string>> = {},
  ): EvidenceLink {
    assertValidLinkInput(subject, evidence, kind);
    const b = this.#blobs.get(evidence);
    if (!b) {
      throw new StoreError("STORE_NOT_FOUND", `cannot link ${evidence}: the blob is not stored`);
    }
    const existing = this.#links.find(
      (l) => l.subject === subject && l.evidence === evidence && l.kind === kind,
    );
    if (existing) {
      return existing;
    }
    const link: EvidenceLink = {
      subject,
      evidence,
      kind,
      mediaType: b.mediaType,
      size: b.bytes.byteLength,
      createdAt: this.now().toISOString(),
      annotations: sortedAnnotations(annotations),
    };
    this.#links.push(link);
    return link;
  }

  async find(q: EvidenceQuery): Promise<readonly EvidenceLink[]> {
    const hits = this.#links
      .map((l, i) => ({ l, i }))
      .filter(
        ({ l }) =>
          (!q.subject || l.subject === q.subject) &&
          (!q.evidence || l.evidence === q.evidence) &&
          (!q.kind || l.kind === q.kind) &&
          (!q.since || l.createdAt >= q.since) &&
          (!q.until || l.createdAt < q.until),
      )
      .sort((a, b) =>
        a.l.createdAt < b.l.createdAt ? -1 : a.l.createdAt > b.l.createdAt ? 1 : a.i - b.i,
      )
      .map(({ l }) => l);
    return q.limit ? hits.slice(0, q.limit) : hits;
  }

  async append(
    log: string,
    index: number,
    entry: Uint8Array,
    links: readonly LinkInput[] = [],
  ): Promise<void> {
    assertValidLogInput(log, index);
    const l = this.#logs.get(log) ?? [];
    if (index !== l.length) {
      throw new StoreError(
        "STORE_CONFLICT",
        `log ${log} has ${l.length} entries; cannot append at ${index}`,
      );
    }
    // checked before anything changes: all or nothing
    for (const k of links) {
      assertValidLinkInput(k.subject, k.evidence, k.kind);
      if (!this.#blobs.has(k.evidence)) {
        throw new StoreError(
          "STORE_NOT_FOUND",
          `cannot link ${k.evidence}: the blob is not stored`,
        );
      }
    }
    for (const k of links) {
      this.#link(k.subject, k.evidence, k.kind, k.annotations);
    }
    l.push(new Uint8Array(entry));
    this.#logs.set(log, l);
  }

  async entries(log: string, from: number, to?: number): Promise<Uint8Array[]> {
    return (this.#logs.get(log) ?? []).slice(from, to).map((e) => new Uint8Array(e));
  }

  async size(log: string): Promise<number> {
    return this.#logs.get(log)?.length ?? 0;
  }

  /** Test hook: corrupts a stored blob in place (a fault a real disk can produce). */
  corruptForTest(digest: Digest): void {
    const b = this.#blobs.get(digest);
    if (b && b.bytes.length > 0) {
      b.bytes[0] = (b.bytes[0] ?? 0) ^ 0xff;
      b.version = ++this.#versions;
    }
  }

  async close(): Promise<void> {}
}
