import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type Database from "better-sqlite3";
import type { Digest } from "../core/digest.js";
import { ToolError } from "../core/errors.js";
import type { Issue } from "../core/issues.js";
import { lazyModule } from "../core/lazy.js";
import { normalizePackageName, type OsvAffectedEntry, type OsvRecord } from "./osv.js";
import {
  KEV_SOURCE,
  type KevEntry,
  type ParsedSource,
  parseVulnInput,
  type Untar,
} from "./sources/index.js";

const sqlite = lazyModule<typeof import("better-sqlite3")>("better-sqlite3");

const SCHEMA = `
CREATE TABLE IF NOT EXISTS records (
  source TEXT NOT NULL,
  id TEXT NOT NULL,
  digest TEXT NOT NULL,
  modified TEXT,
  published TEXT,
  withdrawn TEXT,
  aliases TEXT NOT NULL,
  summary TEXT,
  raw TEXT NOT NULL,
  PRIMARY KEY (source, id)
);
CREATE TABLE IF NOT EXISTS affected (
  source TEXT NOT NULL,
  id TEXT NOT NULL,
  ecosystem TEXT NOT NULL,
  ecosystem_base TEXT NOT NULL,
  package TEXT NOT NULL,
  entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS affected_package ON affected (ecosystem_base, package);
CREATE INDEX IF NOT EXISTS affected_record ON affected (source, id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS imports (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  source TEXT NOT NULL,
  path TEXT NOT NULL,
  imported_at TEXT NOT NULL,
  records INTEGER NOT NULL,
  changed INTEGER NOT NULL,
  snapshot TEXT NOT NULL
);
`;

export interface ImportResult {
  readonly sources: readonly {
    source: string;
    records: number;
    added: number;
    changed: number;
    unchanged: number;
  }[];
  readonly snapshot: Digest;
  readonly issues: readonly Issue[];
}

export interface SourceStatus {
  readonly source: string;
  readonly records: number;
  readonly newestModified?: string;
  readonly importedAt?: string;
}

/** An affected entry found for a package, with the record it belongs to. */
export interface AdvisoryHit {
  readonly source: string;
  readonly record: OsvRecord;
  readonly affected: OsvAffectedEntry;
}

/**
 * The offline vulnerability database: OSV-shaped records from every source, in SQLite.
 * Every import ends with a snapshot digest over all records, which scans record so that a
 * verdict can be replayed on the same data.
 */
export class VulnDb {
  readonly #db: Database.Database;
  private constructor(
    readonly path: string,
    private readonly now: () => Date,
  ) {
    this.#db = new (sqlite())(path);
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma("synchronous = NORMAL");
    this.#db.exec(SCHEMA);
  }

  /** Opens (creating) the database in `dir`. Side effects: creates the directory and file. */
  static open(dir: string, now: () => Date = () => new Date()): VulnDb {
    mkdirSync(dir, { recursive: true });
    return new VulnDb(join(dir, "vuln.db"), now);
  }

  /**
   * Imports files or directories (OSV JSON/JSON lines/zip, Debian advisory lists, Alpine secdb;
   * gzip or not). A record whose content changed replaces the old one; an unchanged one is kept.
   * Side effects: writes the database.
   */
  async import(paths: readonly string[], untar: Untar): Promise<ImportResult> {
    const files: string[] = [];
    for (const p of paths) {
      const s = await stat(p).catch(() => undefined);
      if (!s) {
        throw new ToolError("VULN_INPUT_UNREADABLE", `${p} does not exist`, {
          hint: "give files or directories of OSV, Debian or Alpine data",
        });
      }
      if (s.isDirectory()) {
        for (const f of (await readdir(p, { recursive: true })).map(String).sort()) {
          if (/\.(json|jsonl|json\.gz|jsonl\.gz|zip)$/.test(f)) {
            files.push(join(p, f));
          }
        }
      } else {
        files.push(p);
      }
    }
    const issues: Issue[] = [];
    const bySource = new Map<string, { records: OsvRecord[]; paths: string[] }>();
    for (const f of files) {
      const parsed: ParsedSource[] = await parseVulnInput(
        new Uint8Array(await readFile(f)),
        f,
        untar,
      );
      for (const p of parsed) {
        issues.push(...p.issues);
        if (p.source === "unknown") {
          continue;
        }
        const cur = bySource.get(p.source) ?? { records: [], paths: [] };
        cur.records.push(...p.records);
        cur.paths.push(f);
        bySource.set(p.source, cur);
      }
    }
    if (![...bySource.values()].some((v) => v.records.length > 0)) {
      const why = issues[0]
        ? `: ${issues[0].message}${issues[0].path ? ` (${issues[0].path})` : ""}`
        : "";
      throw new ToolError(
        "VULN_NOTHING_IMPORTED",
        `no vulnerability record was found in ${paths.join(", ")}${why}`,
        {
          hint: "give OSV records (JSON, JSON lines, zip), Debian security tracker data or Alpine secdb documents",
        },
      );
    }
    const result = this.apply(
      [...bySource.entries()].map(([source, v]) => ({
        source,
        records: v.records,
        paths: v.paths,
      })),
    );
    return { ...result, issues };
  }

  /**
   * Stores parsed records by source: a record whose content changed replaces the old one, an
   * unchanged one is kept; the snapshot digest is recomputed and stored.
   * Side effects: writes the database.
   */
  apply(
    sources: readonly { source: string; records: readonly OsvRecord[]; paths: readonly string[] }[],
  ): Omit<ImportResult, "issues"> {
    const bySource = new Map(
      sources.map((x) => [x.source, { records: x.records, paths: x.paths }]),
    );
    const upsert = this.#db.prepare(
      "INSERT OR REPLACE INTO records (source, id, digest, modified, published, withdrawn, aliases, summary, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    const delAffected = this.#db.prepare("DELETE FROM affected WHERE source = ? AND id = ?");
    const addAffected = this.#db.prepare(
      "INSERT INTO affected (source, id, ecosystem, ecosystem_base, package, entry) VALUES (?, ?, ?, ?, ?, ?)",
    );
    const summary: {
      source: string;
      records: number;
      added: number;
      changed: number;
      unchanged: number;
    }[] = [];
    const at = this.now().toISOString();
    const tx = this.#db.transaction(() => {
      for (const [source, { records, paths: ps }] of bySource) {
        let added = 0;
        let changed = 0;
        let unchanged = 0;
        const known = new Map(
          (
            this.#db.prepare("SELECT id, digest FROM records WHERE source = ?").all(source) as {
              id: string;
              digest: string;
            }[]
          ).map((x) => [x.id, x.digest]),
        );
        for (const r of records) {
          const raw = JSON.stringify(r);
          const digest = `sha256:${createHash("sha256").update(raw).digest("hex")}`;
          const old = known.get(r.id);
          if (old === digest) {
            unchanged++;
            continue;
          }
          old === undefined ? added++ : changed++;
          known.set(r.id, digest);
          upsert.run(
            source,
            r.id,
            digest,
            r.modified ?? null,
            r.published ?? null,
            r.withdrawn ?? null,
            JSON.stringify([...(r.aliases ?? []), ...(r.upstream ?? [])]),
            r.summary ?? null,
            raw,
          );
          delAffected.run(source, r.id);
          for (const a of r.affected ?? []) {
            if (!a.package) {
              continue;
            }
            const base = a.package.ecosystem.split(":")[0] as string;
            addAffected.run(
              source,
              r.id,
              a.package.ecosystem,
              base,
              normalizePackageName(base, a.package.name),
              JSON.stringify(a),
            );
          }
        }
        summary.push({ source, records: records.length, added, changed, unchanged });
        this.#db
          .prepare(
            "INSERT INTO imports (source, path, imported_at, records, changed, snapshot) VALUES (?, ?, ?, ?, ?, '')",
          )
          .run(source, ps.join("\n"), at, records.length, added + changed);
      }
      // the snapshot digest commits with the records it names: readers never see one without the other
      const digest = this.computeSnapshot();
      this.#db.prepare("UPDATE imports SET snapshot = ? WHERE snapshot = ''").run(digest);
      this.#db
        .prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('snapshot', ?)")
        .run(digest);
      return digest;
    });
    const snapshot = tx();
    return { sources: summary, snapshot };
  }

  /** Every record as JSON lines `{"source","record"}`, in (source, id) order: an export's body. */
  *exportLines(): Generator<string> {
    for (const row of this.#db
      .prepare("SELECT source, raw FROM records ORDER BY source, id")
      .iterate() as Iterable<{ source: string; raw: string }>) {
      yield `{"source":${JSON.stringify(row.source)},"record":${row.raw}}`;
    }
  }

  /** The snapshot digest of the data as of the last import (computed then, read here). */
  snapshot(): Digest {
    const row = this.#db.prepare("SELECT value FROM meta WHERE key = 'snapshot'").get() as
      | { value: string }
      | undefined;
    return (row?.value as Digest | undefined) ?? this.computeSnapshot();
  }

  /** Digest over every record (source, id, content digest), in order: the data a verdict used. */
  computeSnapshot(): Digest {
    const h = createHash("sha256");
    for (const row of this.#db
      .prepare("SELECT source, id, digest FROM records ORDER BY source, id")
      .iterate() as Iterable<{ source: string; id: string; digest: string }>) {
      h.update(`${row.source}\t${row.id}\t${row.digest}\n`);
    }
    return `sha256:${h.digest("hex")}` as Digest;
  }

  /** Sources with record counts and dates. */
  status(): SourceStatus[] {
    const rows = this.#db
      .prepare(
        // a date before 1970 is no date (Go's zero time, 0001-01-01, in golang/vulndb's files)
        `SELECT r.source AS source, COUNT(*) AS records,
           MAX(CASE WHEN r.modified >= '1970' THEN r.modified END) AS newest,
           (SELECT MAX(imported_at) FROM imports i WHERE i.source = r.source) AS importedAt
         FROM records r GROUP BY r.source ORDER BY r.source`,
      )
      .all() as {
      source: string;
      records: number;
      newest: string | null;
      importedAt: string | null;
    }[];
    return rows.map((r) => ({
      source: r.source,
      records: r.records,
      ...(r.newest ? { newestModified: r.newest } : {}),
      ...(r.importedAt ? { importedAt: r.importedAt } : {}),
    }));
  }

  /** Affected entries for a package in an ecosystem (OSV name; "Debian:12" matches that release only). */
  lookup(ecosystem: string, name: string): AdvisoryHit[] {
    const base = ecosystem.split(":")[0] as string;
    const rows = this.#db
      .prepare(
        `SELECT a.source, a.ecosystem, a.entry, r.raw FROM affected a JOIN records r ON r.source = a.source AND r.id = a.id
         WHERE a.ecosystem_base = ? AND a.package = ?`,
      )
      .all(base, normalizePackageName(base, name)) as {
      source: string;
      ecosystem: string;
      entry: string;
      raw: string;
    }[];
    return rows
      .filter(
        (r) => !ecosystem.includes(":") || r.ecosystem === ecosystem || !r.ecosystem.includes(":"),
      )
      .map((r) => ({
        source: r.source,
        record: JSON.parse(r.raw) as OsvRecord,
        affected: JSON.parse(r.entry) as OsvAffectedEntry,
      }));
  }

  /** True when any record covers this ecosystem (exactly "Debian:12", or any release of "PyPI"). */
  covers(ecosystem: string): boolean {
    const row = ecosystem.includes(":")
      ? this.#db.prepare("SELECT 1 FROM affected WHERE ecosystem = ? LIMIT 1").get(ecosystem)
      : this.#db.prepare("SELECT 1 FROM affected WHERE ecosystem_base = ? LIMIT 1").get(ecosystem);
    return row !== undefined;
  }

  /** CISA KEV entries for these ids (CVE ids; others have none), by id. */
  knownExploited(ids: Iterable<string>): Map<string, KevEntry> {
    const out = new Map<string, KevEntry>();
    const q = this.#db.prepare("SELECT raw FROM records WHERE source = ? AND id = ?");
    for (const id of new Set(ids)) {
      if (!id.startsWith("CVE-")) {
        continue;
      }
      const row = q.get(KEV_SOURCE, id) as { raw: string } | undefined;
      const kev = row
        ? ((JSON.parse(row.raw) as OsvRecord).database_specific?.["kev"] as KevEntry | undefined)
        : undefined;
      if (kev) {
        out.set(id, kev);
      }
    }
    return out;
  }

  count(): number {
    return (this.#db.prepare("SELECT COUNT(*) AS n FROM records").get() as { n: number }).n;
  }

  close(): void {
    this.#db.close();
  }
}
