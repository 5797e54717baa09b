import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type Database from "better-sqlite3";
import { type Digest, digestHex, sha256 } from "../../core/digest.js";
import { StoreError } from "../../core/errors.js";
import { lazyModule } from "../../core/lazy.js";
import {
  assertValidBlobInput,
  assertValidLinkInput,
  assertValidLinkInputs,
  assertValidLogInput,
  type BlobVersion,
  type EvidenceLink,
  type EvidenceQuery,
  type EvidenceStore,
  findLinksSql,
  type LinkInput,
  type LinkRow,
  linkFromRow,
  type StoredBlob,
  sortedAnnotations,
} from "../evidence-store.js";

const sqlite = lazyModule<typeof import("better-sqlite3")>("better-sqlite3");

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE blobs (
     digest TEXT PRIMARY KEY,
     media_type TEXT NOT NULL,
     size INTEGER NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE TABLE links (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     subject TEXT NOT NULL,
     evidence TEXT NOT NULL REFERENCES blobs(digest),
     kind TEXT NOT NULL,
     created_at TEXT NOT NULL,
     annotations TEXT NOT NULL DEFAULT '{}',
     UNIQUE (subject, evidence, kind)
   );
   CREATE INDEX links_subject ON links (subject, kind, created_at);
   CREATE INDEX links_kind_time ON links (kind, created_at);
   CREATE INDEX links_evidence ON links (evidence);`,
  `CREATE TABLE log_entries (
     log TEXT NOT NULL,
     idx INTEGER NOT NULL,
     entry BLOB NOT NULL,
     PRIMARY KEY (log, idx)
   ) WITHOUT ROWID;`,
];

export interface SqliteStoreOptions {
  /** Clock for createdAt (tests inject one). */
  readonly now?: () => Date;
  /** Largest blob accepted. */
  readonly maxBlobBytes?: number;
}

/**
 * The embedded evidence store: blobs as files under `blobs/sha256/`, an index in SQLite
 * (WAL, synchronous=FULL). A blob is written to a temporary file, fsynced and renamed (and
 * its directory fsynced) before its index row commits, so a crash at any point leaves either
 * nothing visible or a complete, durable blob.
 */
export class SqliteEvidenceStore implements EvidenceStore {
  readonly #db: Database.Database;
  readonly #blobDir: string;
  readonly #now: () => Date;
  readonly #max: number;

  private constructor(
    readonly dir: string,
    opts: SqliteStoreOptions,
  ) {
    this.#blobDir = join(dir, "blobs", "sha256");
    mkdirSync(this.#blobDir, { recursive: true });
    // Temporary files of writers that died are never visible; remove them.
    for (const f of readdirSync(this.#blobDir)) {
      if (f.includes(".tmp-")) {
        rmSync(join(this.#blobDir, f), { force: true });
      }
    }
    this.#db = new (sqlite())(join(dir, "index.db"));
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma("synchronous = FULL");
    this.#db.pragma("foreign_keys = ON");
    this.#db.pragma("busy_timeout = 10000");
    this.#migrate();
    this.#now = opts.now ?? (() => new Date());
    this.#max = opts.maxBlobBytes ?? 1024 ** 3;
  }

  /**
   * Opens (creating if needed) a store in `dir`.
   * Side effects: creates the directory, the database and its schema.
   */
  static open(dir: string, opts: SqliteStoreOptions = {}): SqliteEvidenceStore {
    mkdirSync(dir, { recursive: true });
    return new SqliteEvidenceStore(dir, opts);
  }

  #migrate(): void {
    this.#db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)");
    const row = this.#db.prepare("SELECT MAX(version) AS v FROM schema_migrations").get() as {
      v: number | null;
    };
    const current = row.v ?? 0;
    if (current > MIGRATIONS.length) {
      throw new StoreError(
        "STORE_CORRUPT",
        `evidence store ${this.dir} has schema version ${current}, newer than this cleanimg knows`,
        {
          hint: "upgrade cleanimg",
        },
      );
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      this.#db.transaction(() => {
        this.#db.exec(MIGRATIONS[v] as string);
        this.#db.prepare("INSERT INTO schema_migrations (version) VALUES (?)").run(v + 1);
      })();
    }
  }

  #path(d: Digest): string {
    return join(this.#blobDir, digestHex(d));
  }

  async putBlob(bytes: Uint8Array, mediaType: string): Promise<Digest> {
    assertValidBlobInput(mediaType);
    if (bytes.byteLength > this.#max) {
      throw new StoreError(
        "STORE_INVALID_INPUT",
        `blob of ${bytes.byteLength} bytes exceeds the ${this.#max}-byte limit`,
      );
    }
    const digest = sha256(bytes);
    const existing = this.#db.prepare("SELECT 1 FROM blobs WHERE digest = ?").get(digest);
    if (existing) {
      return digest;
    }
    const final = this.#path(digest);
    const tmp = `${final}.tmp-${randomBytes(6).toString("hex")}`;
    await mkdir(dirname(final), { recursive: true });
    const fh = await open(tmp, "wx");
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } catch (e) {
      await fh.close();
      await rm(tmp, { force: true });
      throw e;
    }
    await fh.close();
    await rename(tmp, final);
    const dh = await open(this.#blobDir, "r");
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
    this.#db
      .prepare(
        "INSERT OR IGNORE INTO blobs (digest, media_type, size, created_at) VALUES (?, ?, ?, ?)",
      )
      .run(digest, mediaType, bytes.byteLength, this.#now().toISOString());
    return digest;
  }

  async getBlob(digest: Digest): Promise<StoredBlob> {
    const row = this.#db
      .prepare("SELECT media_type, size FROM blobs WHERE digest = ?")
      .get(digest) as { media_type: string; size: number } | undefined;
    if (!row) {
      throw new StoreError("STORE_NOT_FOUND", `no evidence blob ${digest} in ${this.dir}`);
    }
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(this.#path(digest)));
    } catch (e) {
      throw new StoreError(
        "STORE_CORRUPT",
        `evidence blob ${digest} is indexed but its file is unreadable`,
        { cause: e },
      );
    }
    const got = sha256(bytes);
    if (got !== digest || bytes.byteLength !== row.size) {
      throw new StoreError(
        "STORE_DIGEST_MISMATCH",
        `evidence blob ${digest} in ${this.dir} has been altered (now ${got})`,
        {
          hint: "restore the store from a backup; altered evidence cannot be trusted",
        },
      );
    }
    return { digest, mediaType: row.media_type, bytes };
  }

  async hasBlob(digest: Digest): Promise<boolean> {
    return this.#db.prepare("SELECT 1 FROM blobs WHERE digest = ?").get(digest) !== undefined;
  }

  /**
   * A blob's version is its file's inode, size and change time (ctime: set by the kernel on every
   * write, rename or chmod, and not settable by utimes). File times have the resolution of a
   * clock tick, so a file changed within the last second is not settled (as git's "racily
   * clean" index entries).
   */
  async blobVersions(digests: readonly Digest[]): Promise<readonly BlobVersion[]> {
    const indexed = this.#db.prepare("SELECT 1 FROM blobs WHERE digest = ?");
    const now = BigInt(Date.now()) * 1_000_000n;
    // synchronous: a stat of a local file costs microseconds, less than a trip to the thread pool
    return digests.map((d): BlobVersion => {
      if (indexed.get(d) === undefined) {
        return { version: "", settled: true };
      }
      try {
        const st = statSync(this.#path(d), { bigint: true, throwIfNoEntry: false });
        if (!st) {
          return { version: "unreadable:ENOENT", settled: true };
        }
        return {
          version: `${st.dev}:${st.ino}:${st.mode}:${st.size}:${st.ctimeNs}:${st.mtimeNs}`,
          settled: now - st.ctimeNs > 1_000_000_000n,
        };
      } catch (e) {
        return { version: `unreadable:${(e as NodeJS.ErrnoException).code ?? "?"}`, settled: true };
      }
    });
  }

  async link(
    subject: Digest,
    evidence: Digest,
    kind: string,
    annotations: Readonly<Record<string, string>> = {},
  ): Promise<EvidenceLink> {
    assertValidLinkInput(subject, evidence, kind);
    const tx = this.#db.transaction(() => {
      this.#insertLink({ subject, evidence, kind, annotations });
      return this.#db
        .prepare(
          `SELECT l.subject, l.evidence, l.kind, l.created_at, l.annotations, b.media_type, b.size
           FROM links l JOIN blobs b ON b.digest = l.evidence
           WHERE l.subject = ? AND l.evidence = ? AND l.kind = ?`,
        )
        .get(subject, evidence, kind) as LinkRow;
    });
    return linkFromRow(tx());
  }

  async find(q: EvidenceQuery): Promise<readonly EvidenceLink[]> {
    const { sql, args } = findLinksSql(q, () => "?");
    return (this.#db.prepare(sql).all(...args) as LinkRow[]).map(linkFromRow);
  }

  /** Inserts a link inside the caller's transaction. */
  #insertLink(k: LinkInput): void {
    const blob = this.#db.prepare("SELECT 1 FROM blobs WHERE digest = ?").get(k.evidence);
    if (!blob) {
      throw new StoreError("STORE_NOT_FOUND", `cannot link ${k.evidence}: the blob is not stored`);
    }
    this.#db
      .prepare(
        "INSERT OR IGNORE INTO links (subject, evidence, kind, created_at, annotations) VALUES (?, ?, ?, ?, ?)",
      )
      .run(
        k.subject,
        k.evidence,
        k.kind,
        this.#now().toISOString(),
        JSON.stringify(sortedAnnotations(k.annotations ?? {})),
      );
  }

  async append(
    log: string,
    index: number,
    entry: Uint8Array,
    links: readonly LinkInput[] = [],
  ): Promise<void> {
    assertValidLogInput(log, index);
    assertValidLinkInputs(links);
    // IMMEDIATE: the size check and the insert are one step for every writing process
    this.#db
      .transaction(() => {
        const n = this.#count(log);
        if (n !== index) {
          throw new StoreError(
            "STORE_CONFLICT",
            `log ${log} has ${n} entries; cannot append at ${index}`,
          );
        }
        for (const k of links) {
          this.#insertLink(k);
        }
        this.#db
          .prepare("INSERT INTO log_entries (log, idx, entry) VALUES (?, ?, ?)")
          .run(log, index, Buffer.from(entry));
      })
      .immediate();
  }

  async entries(log: string, from: number, to?: number): Promise<Uint8Array[]> {
    const rows = this.#db
      .prepare("SELECT entry FROM log_entries WHERE log = ? AND idx >= ? AND idx < ? ORDER BY idx")
      .all(log, from, to ?? Number.MAX_SAFE_INTEGER) as { entry: Buffer }[];
    return rows.map((r) => new Uint8Array(r.entry));
  }

  async size(log: string): Promise<number> {
    return this.#count(log);
  }

  #count(log: string): number {
    const row = this.#db
      .prepare("SELECT MAX(idx) AS m FROM log_entries WHERE log = ?")
      .get(log) as { m: number | null };
    return row.m === null ? 0 : row.m + 1;
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}
