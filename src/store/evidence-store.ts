import { type Digest, isDigest } from "../core/digest.js";
import { StoreError } from "../core/errors.js";

/** A link from a subject (an image digest, or another piece of evidence) to evidence. */
export interface EvidenceLink {
  /** What the evidence is about. */
  readonly subject: Digest;
  /** Digest of the evidence blob. */
  readonly evidence: Digest;
  /** What kind of evidence (e.g. `sbom`, `attestation`, `vex`); free-form, indexed. */
  readonly kind: string;
  readonly mediaType: string;
  readonly size: number;
  /** When the link was recorded (ISO 8601, UTC). */
  readonly createdAt: string;
  readonly annotations: Readonly<Record<string, string>>;
}

/** A link to make together with a log entry (see `append`). */
export interface LinkInput {
  readonly subject: Digest;
  readonly evidence: Digest;
  readonly kind: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface EvidenceQuery {
  readonly subject?: Digest;
  readonly evidence?: Digest;
  readonly kind?: string;
  /** Inclusive lower bound on createdAt (ISO 8601). */
  readonly since?: string;
  /** Exclusive upper bound on createdAt (ISO 8601). */
  readonly until?: string;
  readonly limit?: number;
}

/**
 * What a store can say cheaply about a stored blob without reading it: `version` changes whenever
 * the blob's stored bytes may have changed, been removed or replaced ("" when the blob is not
 * stored); `settled` is false while the version cannot show a change yet (e.g. a file written in
 * the same clock tick as the look), so a cache must re-hash the blob before it relies on it.
 */
export interface BlobVersion {
  readonly version: string;
  readonly settled: boolean;
}

export interface StoredBlob {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly bytes: Uint8Array;
}

/**
 * The evidence store: content-addressed blobs plus an index of links to subjects.
 * Contract (checked by the shared contract suite for every implementation):
 * - putBlob is idempotent and durable before it resolves;
 * - getBlob re-hashes and throws STORE_DIGEST_MISMATCH on corruption;
 * - blobVersions changes a blob's version when its bytes are altered behind the store's back;
 * - a link is visible only when its blob is fully stored;
 * - find returns links in createdAt order, then insertion order.
 */
export interface EvidenceStore {
  /** Stores bytes; returns their sha256 digest. @throws StoreError STORE_INVALID_INPUT */
  putBlob(bytes: Uint8Array, mediaType: string): Promise<Digest>;
  /** @throws StoreError STORE_NOT_FOUND, STORE_DIGEST_MISMATCH */
  getBlob(digest: Digest): Promise<StoredBlob>;
  hasBlob(digest: Digest): Promise<boolean>;
  /** The version of each blob (see BlobVersion), in the order asked, without reading the bytes. */
  blobVersions(digests: readonly Digest[]): Promise<readonly BlobVersion[]>;
  /**
   * Links stored evidence to a subject; idempotent per (subject, evidence, kind).
   * @throws StoreError STORE_NOT_FOUND when the evidence blob is not stored
   */
  link(
    subject: Digest,
    evidence: Digest,
    kind: string,
    annotations?: Readonly<Record<string, string>>,
  ): Promise<EvidenceLink>;
  find(query: EvidenceQuery): Promise<readonly EvidenceLink[]>;
  /**
   * Appends an entry to the append-only log `log` (the transparency log, the audit trail) at
   * position `index`, which must be the log's current size: a writer reads the tail, builds
   * the entry that chains to it, and appends; if another writer appended first, the append
   * fails and the writer rebuilds (see appendToLog). Entries are never changed or removed.
   * `links` are made in the same transaction as the entry: all of them and the entry, or none
   * (an audit event and the evidence link it records are never seen one without the other).
   * @throws StoreError STORE_CONFLICT when `index` is no longer the log's size
   */
  append(
    log: string,
    index: number,
    entry: Uint8Array,
    links?: readonly LinkInput[],
  ): Promise<void>;
  /**
   * Optional: appends under the log's lock, calling `build` with the index the entry will have
   * and the entry before it while no other writer can append; for stores shared by many
   * processes, where the optimistic `append` could keep losing to faster writers.
   */
  appendWith?(log: string, build: LogEntryBuilder): Promise<{ index: number; entry: Uint8Array }>;
  /** Entries [from, to) of a log, in order (to defaults to the end). */
  entries(log: string, from: number, to?: number): Promise<Uint8Array[]>;
  /** How many entries the log holds. */
  size(log: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * Appends to a log, retrying when another writer got there first. `build` receives the index
 * the entry will have and the entry before it (undefined for the first), and may be called
 * again after a conflict.
 */
export async function appendToLog(
  store: EvidenceStore,
  log: string,
  build: LogEntryBuilder,
  attempts = 1000,
): Promise<{ index: number; entry: Uint8Array }> {
  if (store.appendWith) {
    return store.appendWith(log, build);
  }
  for (let i = 0; ; i++) {
    const index = await store.size(log);
    const previous = index > 0 ? (await store.entries(log, index - 1, index))[0] : undefined;
    const { entry, links } = builtEntry(await build(index, previous));
    try {
      await store.append(log, index, entry, links);
      return { index, entry };
    } catch (e) {
      if (!(e instanceof StoreError && e.code === "STORE_CONFLICT") || i + 1 >= attempts) {
        throw e;
      }
      // another writer got there first: back off a random while, so that no writer starves
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 ** Math.min(i, 6))));
    }
  }
}

/** Builds a log entry (and the links made with it) for the index it will have. */
export type LogEntryBuilder = (
  index: number,
  previous: Uint8Array | undefined,
) => Promise<Uint8Array | { entry: Uint8Array; links: readonly LinkInput[] }>;

/** The entry and links a builder returned. */
export function builtEntry(b: Uint8Array | { entry: Uint8Array; links: readonly LinkInput[] }): {
  entry: Uint8Array;
  links: readonly LinkInput[];
} {
  return b instanceof Uint8Array ? { entry: b, links: [] } : b;
}

/** @throws StoreError STORE_INVALID_INPUT */
export function assertValidLogInput(log: string, index: number): void {
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(log)) {
    throw new StoreError("STORE_INVALID_INPUT", `"${log}" is not a valid log name`);
  }
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new StoreError("STORE_INVALID_INPUT", `log index ${index} is not a non-negative integer`);
  }
}

/** Stores a blob and links it in one call. */
export async function putEvidence(
  store: EvidenceStore,
  e: {
    bytes: Uint8Array;
    mediaType: string;
    subject: Digest;
    kind: string;
    annotations?: Readonly<Record<string, string>>;
  },
): Promise<EvidenceLink> {
  const digest = await store.putBlob(e.bytes, e.mediaType);
  return store.link(e.subject, digest, e.kind, e.annotations);
}

/**
 * Checks the arguments every implementation validates the same way.
 * @throws StoreError STORE_INVALID_INPUT
 */
export function assertValidBlobInput(mediaType: string): void {
  if (!mediaType || mediaType.length > 255) {
    throw new StoreError(
      "STORE_INVALID_INPUT",
      "a blob needs a media type (at most 255 characters)",
    );
  }
}

/** @throws StoreError STORE_INVALID_INPUT for any of the links */
export function assertValidLinkInputs(links: readonly LinkInput[]): void {
  for (const k of links) {
    assertValidLinkInput(k.subject, k.evidence, k.kind);
  }
}

/** @throws StoreError STORE_INVALID_INPUT */
export function assertValidLinkInput(subject: Digest, evidence: Digest, kind: string): void {
  if (!isDigest(subject) || !isDigest(evidence)) {
    throw new StoreError("STORE_INVALID_INPUT", "subject and evidence must be digests");
  }
  if (!kind || kind.length > 255) {
    throw new StoreError("STORE_INVALID_INPUT", "a link needs a kind (at most 255 characters)");
  }
}

/** Annotations in key order, so that equal annotations serialise equally. */
export function sortedAnnotations(o: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A links-joined-with-blobs row, as the SQL stores select it. */
export interface LinkRow {
  subject: string;
  evidence: string;
  kind: string;
  created_at: string;
  annotations: string;
  media_type: string;
  size: string | number;
}

/** The link a row describes. */
export function linkFromRow(r: LinkRow): EvidenceLink {
  return {
    subject: r.subject as Digest,
    evidence: r.evidence as Digest,
    kind: r.kind,
    mediaType: r.media_type,
    size: Number(r.size),
    createdAt: r.created_at,
    annotations: JSON.parse(r.annotations) as Record<string, string>,
  };
}

/**
 * The SELECT of `find` for the SQL stores, with its arguments; `param(n)` writes the n-th
 * placeholder (`?` for SQLite, `$n` for PostgreSQL).
 */
export function findLinksSql(
  q: EvidenceQuery,
  param: (n: number) => string,
): { sql: string; args: (string | number)[] } {
  const where: string[] = [];
  const args: (string | number)[] = [];
  const add = (cond: string, v: string | number | undefined): void => {
    if (v) {
      args.push(v);
      where.push(`${cond} ${param(args.length)}`);
    }
  };
  add("l.subject =", q.subject);
  add("l.evidence =", q.evidence);
  add("l.kind =", q.kind);
  add("l.created_at >=", q.since);
  add("l.created_at <", q.until);
  let sql = `SELECT l.subject, l.evidence, l.kind, l.created_at, l.annotations, b.media_type, b.size
    FROM links l JOIN blobs b ON b.digest = l.evidence
    ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY l.created_at, l.id`;
  if (q.limit) {
    args.push(q.limit);
    sql += ` LIMIT ${param(args.length)}`;
  }
  return { sql, args };
}
