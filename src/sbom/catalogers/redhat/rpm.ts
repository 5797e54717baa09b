import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Database from "better-sqlite3";
import type { Issue } from "../../../core/issues.js";
import { lazyModule } from "../../../core/lazy.js";
import type { FileNode, FileResolver } from "../../../source/index.js";
import type { CatalogContext, Cataloger, CatalogResult } from "../../cataloger.js";
import { normalizeLicenses } from "../../license.js";
import type { Package } from "../../model.js";
import { distroQualifier } from "../os-release.js";
import { locationOf, packageId, purl } from "../shared.js";
import { readBdbHash } from "./bdb.js";

const sqlite = lazyModule<typeof import("better-sqlite3")>("better-sqlite3");

const SQLITE_DB = ["/var/lib/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/rpmdb.sqlite"];
const BDB = ["/var/lib/rpm/Packages", "/usr/lib/sysimage/rpm/Packages"];
const OTHER_DB: Readonly<Record<string, string>> = {
  "/var/lib/rpm/Packages.db": "ndb",
  "/usr/lib/sysimage/rpm/Packages.db": "ndb",
};

const TAG = {
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  VENDOR: 1011,
  LICENSE: 1014,
  PACKAGER: 1015,
  ARCH: 1022,
  SOURCERPM: 1044,
  REQUIRENAME: 1049,
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
  FILEDIGESTS: 1035,
  FILEDIGESTALGO: 5011,
} as const;

type Value = string | string[] | number[];

/**
 * Parses an rpm header blob as rpmdb stores it (no lead, no magic): index count, data size,
 * 16-byte index entries (tag, type, offset, count), then the data store.
 * Returns the tags asked for; undefined when the blob is malformed.
 */
export function parseRpmHeader(
  blob: Uint8Array,
  wanted: ReadonlySet<number>,
): Map<number, Value> | undefined {
  if (blob.length < 8) {
    return undefined;
  }
  const v = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const il = v.getUint32(0);
  const dl = v.getUint32(4);
  const dataStart = 8 + il * 16;
  if (il > 100_000 || dataStart + dl > blob.length) {
    return undefined;
  }
  const dec = new TextDecoder("utf-8");
  const cstr = (off: number): [string, number] => {
    let end = off;
    while (end < dataStart + dl && blob[end] !== 0) {
      end++;
    }
    return [dec.decode(blob.subarray(off, end)), end + 1];
  };
  const out = new Map<number, Value>();
  for (let i = 0; i < il; i++) {
    const e = 8 + i * 16;
    const tag = v.getUint32(e);
    if (!wanted.has(tag)) {
      continue;
    }
    const type = v.getUint32(e + 4);
    const off = dataStart + v.getUint32(e + 8);
    const count = v.getUint32(e + 12);
    if (off >= dataStart + dl + 1) {
      return undefined;
    }
    switch (type) {
      case 6: // STRING
        out.set(tag, cstr(off)[0]);
        break;
      case 8: // STRING_ARRAY
      case 9: {
        // I18NSTRING: the first is the default locale
        const xs: string[] = [];
        let p = off;
        for (let k = 0; k < count && p < dataStart + dl; k++) {
          const [s, next] = cstr(p);
          xs.push(s);
          p = next;
        }
        out.set(tag, type === 9 ? (xs[0] ?? "") : xs);
        break;
      }
      case 4: {
        // INT32
        const xs: number[] = [];
        for (let k = 0; k < count && off + 4 * k + 4 <= dataStart + dl; k++) {
          xs.push(v.getInt32(off + 4 * k));
        }
        out.set(tag, xs);
        break;
      }
      default:
        break;
    }
  }
  return out;
}

const WANTED = new Set<number>(Object.values(TAG));

type AddHeader = (hnum: number, blob: Uint8Array, path: string, node: FileNode) => void;

/** One rpm header as a package; undefined (with an issue) when malformed, or for gpg-pubkey. */
function rpmPackage(
  h: Map<number, unknown> | undefined,
  at: { hnum: number; path: string; node: FileNode },
  resolver: FileResolver,
  ctx: CatalogContext,
  issues: Issue[],
): Package | undefined {
  const { hnum, path, node } = at;
  const name = h?.get(TAG.NAME);
  const version = h?.get(TAG.VERSION);
  const release = h?.get(TAG.RELEASE);
  if (
    !h ||
    typeof name !== "string" ||
    typeof version !== "string" ||
    typeof release !== "string"
  ) {
    issues.push({ code: "SBOM_RPMDB_ENTRY_INVALID", message: `header ${hnum} is malformed`, path });
    return undefined;
  }
  if (name === "gpg-pubkey") {
    return undefined; // imported signing keys, not software
  }
  const epoch = (h.get(TAG.EPOCH) as number[] | undefined)?.[0];
  const arch = h.get(TAG.ARCH) as string | undefined;
  const srpm = h.get(TAG.SOURCERPM) as string | undefined;
  const src = srpm ? /^(.+)-([^-]+)-([^-]+)\.src\.rpm$/.exec(srpm) : null;
  const lic = h.get(TAG.LICENSE) as string | undefined;
  const vendor = h.get(TAG.VENDOR) as string | undefined;
  const basenames = (h.get(TAG.BASENAMES) as string[] | undefined) ?? [];
  const dirnames = (h.get(TAG.DIRNAMES) as string[] | undefined) ?? [];
  const dirindexes = (h.get(TAG.DIRINDEXES) as number[] | undefined) ?? [];
  const evr = `${version}-${release}`;
  const p = purl("rpm", ctx.distro?.id ?? "rpm", name, evr, {
    arch,
    epoch: epoch !== undefined ? String(epoch) : undefined,
    distro: distroQualifier(ctx.distro),
    upstream: srpm,
  });
  const declared = lic ? [lic] : [];
  const license = normalizeLicenses(declared);
  return {
    id: packageId(p, `${path}#${hnum}`),
    name,
    version: epoch !== undefined ? `${epoch}:${evr}` : evr,
    type: "rpm",
    purl: p,
    cpes: [],
    ...(license ? { license } : {}),
    licenseDeclared: declared,
    ...(vendor ? { supplier: vendor } : {}),
    foundBy: "rpm-db-cataloger",
    locations: [locationOf(resolver, node, path)],
    checksums: [],
    ...(src?.[1] ? { source: { name: src[1], version: `${src[2]}-${src[3]}` } } : {}),
    ...(arch ? { arch } : {}),
    files: basenames
      .map((b, i) => ({ path: `${dirnames[dirindexes[i] ?? 0] ?? "/"}${b}` }))
      .sort((a, b) => (a.path < b.path ? -1 : 1)),
    dependsOn: [
      ...new Set(
        ((h.get(TAG.REQUIRENAME) as string[] | undefined) ?? []).filter(
          (r) => !r.includes("(") && !r.startsWith("/"),
        ),
      ),
    ].sort(),
  };
}

/** The Berkeley DB Packages files (RHEL/CentOS 7-8, Amazon Linux 2). */
async function readBdbDatabases(
  resolver: FileResolver,
  add: AddHeader,
  issues: Issue[],
): Promise<void> {
  for (const path of BDB) {
    const node = resolver.lstat(path);
    if (node?.type !== "file") {
      continue;
    }
    const bytes = await resolver.read(path);
    const entries = bytes ? readBdbHash(bytes) : "not read (over the size limit?)";
    if (typeof entries === "string") {
      issues.push({ code: "SBOM_RPMDB_UNREADABLE", message: `Berkeley DB: ${entries}`, path });
      continue;
    }
    for (const e of entries) {
      const hnum =
        e.key.length === 4 ? new DataView(e.key.buffer, e.key.byteOffset).getUint32(0, true) : -1;
      if (hnum !== 0) {
        add(hnum, e.value, path, node); // key 0 holds rpm's next-instance counter
      }
    }
  }
}

/**
 * Opens an rpmdb.sqlite image. rpm leaves recent transactions in the write-ahead log: SQLite
 * applies it when both files are opened together, which needs a private temporary directory.
 */
function openSqliteRpmdb(
  bytes: Uint8Array,
  wal: Uint8Array | undefined,
): { db: Database.Database; tmp?: string } {
  if (!wal) {
    // An in-memory image of a WAL-mode database must be marked rollback-journal (header
    // bytes 18-19), or SQLite looks for a -wal file beside a file that does not exist.
    const image = Buffer.from(bytes);
    if (image.length > 19 && image[18] === 2) {
      image[18] = 1;
      image[19] = 1;
    }
    return { db: new (sqlite())(image, { readonly: true }) };
  }
  const tmp = mkdtempSync(join(tmpdir(), "cleanimg-rpmdb-"));
  try {
    writeFileSync(join(tmp, "rpmdb.sqlite"), bytes);
    writeFileSync(join(tmp, "rpmdb.sqlite-wal"), wal);
    return { db: new (sqlite())(join(tmp, "rpmdb.sqlite")), tmp };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** The sqlite rpmdb (Fedora 33+, RHEL 9, SUSE), with its write-ahead log. */
async function readSqliteDatabase(
  resolver: FileResolver,
  path: string,
  add: AddHeader,
  issues: Issue[],
): Promise<void> {
  const node = resolver.lstat(path);
  if (node?.type !== "file") {
    return;
  }
  const bytes = await resolver.read(path);
  if (!bytes) {
    issues.push({
      code: "SBOM_FILE_UNREADABLE",
      message: "rpm database not read (over the size limit?)",
      path,
    });
    return;
  }
  const wal = resolver.lstat(`${path}-wal`)?.size ? await resolver.read(`${path}-wal`) : undefined;
  let opened: { db: Database.Database; tmp?: string };
  try {
    opened = openSqliteRpmdb(bytes, wal);
  } catch (e) {
    issues.push({
      code: "SBOM_RPMDB_UNREADABLE",
      message: `not a readable SQLite database: ${(e as Error).message}`,
      path,
    });
    return;
  }
  try {
    const rows = opened.db.prepare("SELECT hnum, blob FROM Packages ORDER BY hnum").all() as {
      hnum: number;
      blob: Uint8Array;
    }[];
    for (const row of rows) {
      add(row.hnum, row.blob, path, node);
    }
  } catch (e) {
    issues.push({
      code: "SBOM_RPMDB_UNREADABLE",
      message: `rpm database query failed: ${(e as Error).message}`,
      path,
    });
  } finally {
    opened.db.close();
    if (opened.tmp) {
      rmSync(opened.tmp, { recursive: true, force: true });
    }
  }
}

/**
 * rpm packages from the sqlite rpmdb (Fedora 33+, RHEL 9, SUSE) and the Berkeley DB Packages
 * file (RHEL/CentOS 7-8, Amazon Linux 2); the ndb format is named as an issue.
 */
export const rpmCataloger: Cataloger = {
  id: "rpm-db-cataloger",
  version: 2,
  interest: (path) =>
    SQLITE_DB.some((p) => path === p || path === `${p}-wal`) || BDB.includes(path),
  async catalog(resolver: FileResolver, ctx: CatalogContext): Promise<CatalogResult> {
    const packages: Package[] = [];
    const issues: Issue[] = [];
    const add: AddHeader = (hnum, blob, path, node) => {
      const p = rpmPackage(
        parseRpmHeader(blob, WANTED),
        { hnum, path, node },
        resolver,
        ctx,
        issues,
      );
      if (p) {
        packages.push(p);
      }
    };
    await readBdbDatabases(resolver, add, issues);
    for (const [path, format] of Object.entries(OTHER_DB)) {
      if (resolver.lstat(path)?.type === "file") {
        issues.push({
          code: "SBOM_RPMDB_UNSUPPORTED",
          message: `the ${format} rpm database format is not read; its packages are missing from this SBOM`,
          path,
        });
      }
    }
    for (const path of SQLITE_DB) {
      await readSqliteDatabase(resolver, path, add, issues);
    }
    return { packages, issues };
  },
};
