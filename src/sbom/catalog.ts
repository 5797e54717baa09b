import type { Issue } from "../core/issues.js";
import type { FileResolver, Sniffer } from "../source/index.js";
import type { Cataloger } from "./cataloger.js";
import { apkCataloger } from "./catalogers/alpine/index.js";
import { dpkgCataloger } from "./catalogers/debian/index.js";
import { dotnetDepsCataloger, nugetLockCataloger } from "./catalogers/dotnet/index.js";
import { goBinaryCataloger, goModCataloger } from "./catalogers/golang/index.js";
import { javaArchiveCataloger } from "./catalogers/java/index.js";
import {
  npmCataloger,
  npmLockCataloger,
  pnpmLockCataloger,
  yarnLockCataloger,
} from "./catalogers/javascript/index.js";
import { detectDistro, OS_RELEASE_PATHS } from "./catalogers/os-release.js";
import { composerInstalledCataloger, composerLockCataloger } from "./catalogers/php/index.js";
import {
  pipfileLockCataloger,
  poetryLockCataloger,
  pythonCataloger,
  pythonRequirementsCataloger,
  uvLockCataloger,
} from "./catalogers/python/index.js";
import { rpmCataloger } from "./catalogers/redhat/index.js";
import { gemfileLockCataloger, rubyGemspecCataloger } from "./catalogers/ruby/index.js";
import { cargoLockCataloger, rustAuditCataloger } from "./catalogers/rust/index.js";
import { presenceOf } from "./catalogers/shared.js";
import { withGeneratedCpe } from "./cpe.js";
import type { Package, Relationship, Sbom, SbomSubject } from "./model.js";

/** Every cataloger, in the order they run (OS package databases first). */
export const CATALOGERS: readonly Cataloger[] = [
  dpkgCataloger,
  apkCataloger,
  rpmCataloger,
  pythonCataloger,
  npmCataloger,
  npmLockCataloger,
  yarnLockCataloger,
  pnpmLockCataloger,
  pythonRequirementsCataloger,
  pipfileLockCataloger,
  poetryLockCataloger,
  uvLockCataloger,
  javaArchiveCataloger,
  rubyGemspecCataloger,
  gemfileLockCataloger,
  goBinaryCataloger,
  goModCataloger,
  rustAuditCataloger,
  cargoLockCataloger,
  composerInstalledCataloger,
  composerLockCataloger,
  dotnetDepsCataloger,
  nugetLockCataloger,
];

/** Byte-pattern sniffers the catalogers need while layers stream. */
export function catalogSniffers(catalogers: readonly Cataloger[] = CATALOGERS): Sniffer[] {
  return catalogers.flatMap((c) => c.sniffers ?? []);
}

const OS_TYPES = new Set(["deb", "apk", "rpm"]);

/** The union of the catalogers' declared interest (plus os-release), for the image source. */
export function catalogInterest(
  catalogers: readonly Cataloger[] = CATALOGERS,
): (path: string) => boolean {
  const fixed = new Set<string>(OS_RELEASE_PATHS);
  return (path) => fixed.has(path) || catalogers.some((c) => c.interest(path));
}

/**
 * What of a collected file to keep: a file only catalogers with a `reduce` read is cut down to
 * what they need (one of them: several would each need their own part); any other is kept whole.
 */
export function catalogReduce(
  catalogers: readonly Cataloger[] = CATALOGERS,
): (path: string, bytes: Uint8Array) => Uint8Array {
  return (path, bytes) => {
    const readers = catalogers.filter((c) => c.interest(path));
    const only = readers.length === 1 ? readers[0] : undefined;
    return only?.reduce && !(OS_RELEASE_PATHS as readonly string[]).includes(path)
      ? only.reduce(path, bytes)
      : bytes;
  };
}

export interface CatalogOptions {
  readonly catalogers?: readonly Cataloger[];
  /** ISO 8601 creation time; callers take it from SOURCE_DATE_EPOCH or the clock. */
  readonly created: string;
  readonly tool: { readonly name: string; readonly version: string };
}

/**
 * Runs the catalogers over a filesystem and assembles the SBOM: packages, the relationships
 * between them, and every issue met. A file owned by an OS package is not reported as a
 * separate language package: that package is linked to its OS package (`contains`) and the
 * image does not contain it directly.
 */
export async function catalogFilesystem(
  resolver: FileResolver,
  subject: SbomSubject,
  opts: CatalogOptions,
): Promise<Sbom> {
  const issues: Issue[] = [...resolver.issues];
  const known = resolver.issues.length;
  const { distro } = await detectDistro(resolver);
  const found: Package[] = [];
  for (const c of opts.catalogers ?? CATALOGERS) {
    try {
      const r = await c.catalog(resolver, distro ? { distro } : {});
      found.push(...r.packages);
      issues.push(...r.issues);
    } catch (e) {
      issues.push({
        code: "SBOM_CATALOGER_FAILED",
        message: `${c.id} failed: ${(e as Error).message}`,
      });
    }
  }
  // what the resolver met while the catalogers read (a file over the size limit)
  issues.push(...resolver.issues.slice(known));
  dropDeclaredDuplicates(
    found,
    new Set((opts.catalogers ?? CATALOGERS).filter((c) => c.declares).map((c) => c.id)),
  );
  const canonical = (p: string): string => {
    try {
      return resolver.realpath(p) ?? p;
    } catch {
      return p;
    }
  };
  // Files owned by OS packages, by canonical path (merged /usr makes /lib/x and /usr/lib/x one file).
  const owner = new Map<string, Package>();
  for (const p of found) {
    if (OS_TYPES.has(p.type)) {
      for (const f of p.files) {
        owner.set(canonical(f.path), p);
      }
    }
  }
  const relationships: Relationship[] = [];
  const ownedBy = new Map<string, Package>();
  for (const p of found) {
    if (OS_TYPES.has(p.type)) {
      continue;
    }
    // A language package is evidenced by its metadata file or the binary that embeds it.
    const evidence = p.locations[0]?.path;
    const os = evidence ? owner.get(canonical(evidence)) : undefined;
    if (os) {
      ownedBy.set(p.id, os);
      relationships.push({ from: os.id, to: p.id, type: "contains" });
    }
  }
  const root = "root";
  for (const p of found) {
    if (!ownedBy.has(p.id)) {
      relationships.push({ from: root, to: p.id, type: "contains" });
    }
  }
  const byTypeName = new Map<string, Package[]>();
  for (const p of found) {
    const key = `${p.type}\n${p.type === "pypi" ? p.name.toLowerCase().replace(/[-_.]+/g, "-") : p.name}`;
    byTypeName.set(key, [...(byTypeName.get(key) ?? []), p]);
  }
  for (const p of found) {
    for (const dep of p.dependsOn) {
      for (const target of byTypeName.get(`${p.type}\n${dep}`) ?? []) {
        if (target.id !== p.id) {
          relationships.push({ from: p.id, to: target.id, type: "depends-on" });
        }
      }
    }
  }
  const basenames = lazyBasenames(resolver);
  const packages = found
    .map((p) => withGeneratedCpe(withPresence(p, resolver, basenames)))
    .sort(
      (a, b) =>
        cmp(a.type, b.type) || cmp(a.name, b.name) || cmp(a.version, b.version) || cmp(a.id, b.id),
    );
  const seen = new Set<string>();
  const rels = relationships
    .filter((r) => {
      const k = `${r.from} ${r.type} ${r.to}`;
      if (seen.has(k)) {
        return false;
      }
      seen.add(k);
      return true;
    })
    .sort((a, b) => cmp(a.from, b.from) || cmp(a.type, b.type) || cmp(a.to, b.to));
  return {
    subject,
    ...(distro ? { distro } : {}),
    packages,
    relationships: rels,
    issues,
    created: opts.created,
    tool: opts.tool,
  };
}

/**
 * A package a lockfile declares that an installed-package cataloger also found (same purl) is
 * that installed package: the installed record is the stronger evidence, so it alone is kept.
 */
function dropDeclaredDuplicates(found: Package[], declaring: ReadonlySet<string>): void {
  const installed = new Set(found.filter((p) => !declaring.has(p.foundBy)).map((p) => p.purl));
  let w = 0;
  for (const p of found) {
    if (!declaring.has(p.foundBy) || !installed.has(p.purl)) {
      found[w++] = p;
    }
  }
  found.length = w;
}

/**
 * Completes an OS package's presence record: apk's R: entries are regular files, so apk packages
 * get one here (dpkg's comes from its md5sums); and when none of the files are left, the regular
 * files elsewhere with a missing one's name (the package may have been moved, not removed).
 */
function withPresence(
  p: Package,
  resolver: FileResolver,
  basenames: () => Map<string, string[]>,
): Package {
  if (!OS_TYPES.has(p.type)) {
    return p;
  }
  const presence =
    p.presence ??
    (p.type === "apk" && p.files.length > 0
      ? presenceOf(
          resolver,
          p.files.map((f) => f.path),
        )
      : undefined);
  if (!presence || presence.present > 0 || presence.checked === 0) {
    return presence ? { ...p, presence } : p;
  }
  const elsewhere = new Set<string>();
  for (const path of presence.missing) {
    if (!DOC_PATH.test(path)) {
      for (const other of basenames().get(basename(path)) ?? []) {
        elsewhere.add(other);
      }
    }
  }
  return { ...p, presence: { ...presence, elsewhere: [...elsewhere].sort() } };
}

const DOC_PATH = /^\/usr\/share\/(doc|man|info|lintian|locale|bug)\//;

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** Regular files by basename, built on first use (only when some package's files are all gone). */
function lazyBasenames(resolver: FileResolver): () => Map<string, string[]> {
  let index: Map<string, string[]> | undefined;
  return () => {
    if (!index) {
      index = new Map();
      for (const n of resolver.files()) {
        if (n.type === "file" && !DOC_PATH.test(n.path)) {
          const b = basename(n.path);
          const list = index.get(b);
          if (list) {
            list.push(n.path);
          } else {
            index.set(b, [n.path]);
          }
        }
      }
    }
    return index;
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
