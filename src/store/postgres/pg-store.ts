import type pg from "pg";
import { type Digest, sha256 } from "../../core/digest.js";
import { StoreError } from "../../core/errors.js";
import { lazyModule } from "../../core/lazy.js";
import {
  assertValidBlobInput,
  assertValidLinkInput,
  assertValidLinkInputs,
  assertValidLogInput,
  type BlobVersion,
  builtEntry,
  type EvidenceLink,
  type EvidenceQuery,
  type EvidenceStore,
  findLinksSql,
  type LinkInput,
  type LinkRow,
  type LogEntryBuilder,
  linkFromRow,
  type StoredBlob,
  sortedAnnotations,
} from "../evidence-store.js";

const pgLib = lazyModule<typeof import("pg")>("pg");

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE blobs (
     digest TEXT PRIMARY KEY,
     media_type TEXT NOT NULL,
     size BIGINT NOT NULL,
     bytes BYTEA NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE TABLE links (
     id BIGSERIAL PRIMARY KEY,
     subject TEXT NOT NULL,
     evidence TEXT NOT NULL REFERENCES blobs(digest),
     kind TEXT NOT NULL,
     created_at TEXT NOT NULL,
     annotations TEXT NOT NULL DEFAULT '{}',
     UNIQUE (subject, evidence, kind)
   );
   CREATE INDEX links_subject ON links (subject, kind, created_at);
   CREATE INDEX links_kind_time ON links (kind, created_at);
   CREATE INDEX links_evidence ON links (evidence);
   CREATE TABLE log_entries (
     log TEXT NOT NULL,
     idx BIGINT NOT NULL,
     entry BYTEA NOT NULL,
     PRIMARY KEY (log, idx)
   );`,
];

export interface PostgresStoreOptions {
  readonly now?: () => Date;
  readonly maxBlobBytes?: number;
  /** Connections in the pool (default 4). */
  readonly poolSize?: number;
}

/**
 * The evidence store on PostgreSQL, for many writers on many machines: blobs in a bytea column
 * (re-hashed on read), links with the same uniqueness as the embedded store, and append-only logs
 * whose appends are serialised per log by a transaction-scoped advisory lock, so the audit
 * trail's hash chain stays linear under any number of writers. Schema migrations run once, under
 * an advisory lock. Passes the shared contract suite.
 */
export class PostgresEvidenceStore implements EvidenceStore {
  readonly #pool: pg.Pool;
  readonly #ready: Promise<void>;
  readonly #appendQueue = new Map<string, Promise<void>>();
  readonly #now: () => Date;
  readonly #max: number;

  constructor(
    readonly url: string,
    opts: PostgresStoreOptions = {},
  ) {
    this.#pool = new (pgLib().Pool)({ connectionString: url, max: opts.poolSize ?? 4 });
    this.#pool.on("error", () => {}); // idle-client errors surface on the next query
    this.#now = opts.now ?? (() => new Date());
    this.#max = opts.maxBlobBytes ?? 256 * 1024 ** 2;
    this.#ready = this.#migrate();
    this.#ready.catch(() => {});
  }

  async #migrate(): Promise<void> {
    const c = await this.#pool.connect().catch((e: Error) => {
      throw new StoreError("STORE_CORRUPT", `cannot connect to ${redact(this.url)}: ${e.message}`, {
        hint: "check the postgres:// URL, that the server runs and that the role may connect",
      });
    });
    try {
      await c.query("BEGIN");
      await c.query("SELECT pg_advisory_xact_lock(7311)");
      await c.query("CREATE TABLE IF NOT EXISTS cleanimg_schema (version INTEGER PRIMARY KEY)");
      const r = await c.query<{ v: number | null }>(
        "SELECT MAX(version) AS v FROM cleanimg_schema",
      );
      const current = r.rows[0]?.v ?? 0;
      if (current > MIGRATIONS.length) {
        throw new StoreError(
          "STORE_CORRUPT",
          `the evidence store has schema version ${current}, newer than this cleanimg knows`,
          { hint: "upgrade cleanimg" },
        );
      }
      for (let v = current; v < MIGRATIONS.length; v++) {
        await c.query(MIGRATIONS[v] as string);
        await c.query("INSERT INTO cleanimg_schema (version) VALUES ($1)", [v + 1]);
      }
      await c.query("COMMIT");
    } catch (e) {
      await c.query("ROLLBACK").catch(() => {});
      throw e;
    } finally {
      c.release();
    }
  }

  async putBlob(bytes: Uint8Array, mediaType: string): Promise<Digest> {
    assertValidBlobInput(mediaType);
    if (bytes.byteLength > this.#max) {
      throw new StoreError(
        "STORE_INVALID_INPUT",
        `blob of ${bytes.byteLength} bytes exceeds the ${this.#max}-byte limit`,
      );
    }
    await this.#ready;
    const digest = sha256(bytes);
    await this.#pool.query(
      "INSERT INTO blobs (digest, media_type, size, bytes, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (digest) DO NOTHING",
      [digest, mediaType, bytes.byteLength, Buffer.from(bytes), this.#now().toISOString()],
    );
    return digest;
  }

  async getBlob(digest: Digest): Promise<StoredBlob> {
    await this.#ready;
    const r = await this.#pool.query<{ media_type: string; size: string; bytes: Buffer }>(
      "SELECT media_type, size, bytes FROM blobs WHERE digest = $1",
      [digest],
    );
    const row = r.rows[0];
    if (!row) {
      throw new StoreError("STORE_NOT_FOUND", `no evidence blob ${digest}`);
    }
    const bytes = new Uint8Array(row.bytes);
    const got = sha256(bytes);
    if (got !== digest || bytes.byteLength !== Number(row.size)) {
      throw new StoreError(
        "STORE_DIGEST_MISMATCH",
        `evidence blob ${digest} has been altered (now ${got})`,
        {
          hint: "restore the database from a backup; altered evidence cannot be trusted",
        },
      );
    }
    return { digest, mediaType: row.media_type, bytes };
  }

  /** A blob's version is its row's xmin: every UPDATE, or DELETE and re-INSERT, changes it. */
  async blobVersions(digests: readonly Digest[]): Promise<readonly BlobVersion[]> {
    await this.#ready;
    const r = await this.#pool.query<{ digest: Digest; v: string }>(
      "SELECT digest, xmin::text AS v FROM blobs WHERE digest = ANY($1)",
      [[...digests]],
    );
    const found = new Map(r.rows.map((row) => [row.digest, row.v]));
    return digests.map((d) => ({ version: found.get(d) ?? "", settled: true }));
  }

  async hasBlob(digest: Digest): Promise<boolean> {
    await this.#ready;
    return (
      (await this.#pool.query("SELECT 1 FROM blobs WHERE digest = $1", [digest])).rowCount === 1
    );
  }

  async link(
    subject: Digest,
    evidence: Digest,
    kind: string,
    annotations: Readonly<Record<string, string>> = {},
  ): Promise<EvidenceLink> {
    assertValidLinkInput(subject, evidence, kind);
    await this.#ready;
    await this.#insertLink(this.#pool, { subject, evidence, kind, annotations });
    const r = await this.#pool.query<LinkRow>(
      `SELECT l.subject, l.evidence, l.kind, l.created_at, l.annotations, b.media_type, b.size
       FROM links l JOIN blobs b ON b.digest = l.evidence
       WHERE l.subject = $1 AND l.evidence = $2 AND l.kind = $3`,
      [subject, evidence, kind],
    );
    return linkFromRow(r.rows[0] as LinkRow);
  }

  /** Inserts a link through a pool or inside a client's transaction. */
  async #insertLink(db: pg.Pool | pg.PoolClient, k: LinkInput): Promise<void> {
    try {
      await db.query(
        "INSERT INTO links (subject, evidence, kind, created_at, annotations) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (subject, evidence, kind) DO NOTHING",
        [
          k.subject,
          k.evidence,
          k.kind,
          this.#now().toISOString(),
          JSON.stringify(sortedAnnotations(k.annotations ?? {})),
        ],
      );
    } catch (e) {
      if ((e as { code?: string }).code === "23503") {
        throw new StoreError(
          "STORE_NOT_FOUND",
          `cannot link ${k.evidence}: the blob is not stored`,
        );
      }
      throw e;
    }
  }

  async find(q: EvidenceQuery): Promise<readonly EvidenceLink[]> {
    await this.#ready;
    const { sql, args } = findLinksSql(q, (n) => `$${n}`);
    return (await this.#pool.query<LinkRow>(sql, args)).rows.map(linkFromRow);
  }

  async append(
    log: string,
    index: number,
    entry: Uint8Array,
    links: readonly LinkInput[] = [],
  ): Promise<void> {
    assertValidLogInput(log, index);
    assertValidLinkInputs(links);
    await this.appendWith(log, async (n) => {
      if (n !== index) {
        throw new StoreError(
          "STORE_CONFLICT",
          `log ${log} has ${n} entries; cannot append at ${index}`,
        );
      }
      return { entry, links };
    });
  }

  /**
   * Appends under the log's advisory lock, building the entry while holding it: writers queue
   * instead of racing. One appender per log per process holds a connection (the others wait
   * here), so that a builder that uses the store itself always finds a free connection.
   */
  async appendWith(
    log: string,
    build: LogEntryBuilder,
  ): Promise<{ index: number; entry: Uint8Array }> {
    assertValidLogInput(log, 0);
    await this.#ready;
    const before = this.#appendQueue.get(log) ?? Promise.resolve();
    let release = (): void => {};
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const queued = before.then(() => mine);
    this.#appendQueue.set(log, queued);
    await before;
    const c = await this.#pool.connect();
    try {
      await c.query("BEGIN");
      await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`cleanimg-log:${log}`]);
      const r = await c.query<{ n: string }>(
        "SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM log_entries WHERE log = $1",
        [log],
      );
      const index = Number(r.rows[0]?.n ?? 0);
      const prev =
        index > 0
          ? (
              await c.query<{ entry: Buffer }>(
                "SELECT entry FROM log_entries WHERE log = $1 AND idx = $2",
                [log, index - 1],
              )
            ).rows[0]?.entry
          : undefined;
      const { entry, links } = builtEntry(
        await build(index, prev ? new Uint8Array(prev) : undefined),
      );
      assertValidLinkInputs(links);
      for (const k of links) {
        await this.#insertLink(c, k);
      }
      await c.query("INSERT INTO log_entries (log, idx, entry) VALUES ($1, $2, $3)", [
        log,
        index,
        Buffer.from(entry),
      ]);
      await c.query("COMMIT");
      return { index, entry };
    } catch (e) {
      await c.query("ROLLBACK").catch(() => {});
      throw e;
    } finally {
      c.release();
      release();
      if (this.#appendQueue.get(log) === queued) {
        this.#appendQueue.delete(log);
      }
    }
  }

  async entries(log: string, from: number, to?: number): Promise<Uint8Array[]> {
    await this.#ready;
    const r = await this.#pool.query<{ entry: Buffer }>(
      "SELECT entry FROM log_entries WHERE log = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
      [log, from, to ?? Number.MAX_SAFE_INTEGER],
    );
    return r.rows.map((x) => new Uint8Array(x.entry));
  }

  async size(log: string): Promise<number> {
    await this.#ready;
    const r = await this.#pool.query<{ n: string }>(
      "SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM log_entries WHERE log = $1",
      [log],
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  /** Test hook: alters a stored blob behind the store's back. */
  async corruptForTest(digest: Digest): Promise<void> {
    await this.#ready;
    await this.#pool.query(
      "UPDATE blobs SET bytes = bytes || '\\x00'::bytea, size = size WHERE digest = $1",
      [digest],
    );
  }

  async close(): Promise<void> {
    await this.#ready.catch(() => {});
    await this.#pool.end();
  }
}

/** A URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}
