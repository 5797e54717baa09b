import type { Issue } from "../../core/issues.js";
import type { FileResolver } from "../../source/index.js";
import type { Cataloger, CatalogResult } from "../cataloger.js";
import { normalizeLicenses } from "../license.js";
import type { Checksum, Package } from "../model.js";
import { locationOf, packageId, purl, text } from "./shared.js";

/** One package a lockfile (or an installed-packages manifest) names. */
export interface LockEntry {
  /** The name as the ecosystem writes it ("@scope/name", "vendor/name", "Newtonsoft.Json"). */
  readonly name: string;
  readonly version: string;
  /** purl namespace and name when they differ from the plain name (scopes, vendors). */
  readonly purlNamespace?: string;
  readonly purlName?: string;
  readonly qualifiers?: Readonly<Record<string, string>>;
  readonly checksums?: readonly Checksum[];
  readonly dependsOn?: readonly string[];
  readonly licenses?: readonly string[];
  readonly author?: string;
  readonly properties?: Readonly<Record<string, string>>;
}

export interface LockfileSpec {
  readonly id: string;
  readonly version: number;
  /** purl type of every entry. */
  readonly type: string;
  /** Files this cataloger reads (matched on the absolute path). */
  readonly file: RegExp;
  /**
   * The file records what is installed (composer's installed.json, a .NET deps.json), not only
   * what a build would fetch. Default: declared.
   */
  readonly installed?: boolean;
  /** Code for the issue recorded when a file cannot be read or parsed. */
  readonly invalidCode: string;
  /** Entries of one file, or why the file could not be read as one. */
  parse(src: string, path: string): readonly LockEntry[] | string;
  /**
   * Whether the file is superseded by installed metadata beside it (a composer.lock next to an
   * installed vendor/composer/installed.json, a yarn.lock entry whose node_modules copy is
   * there): the installed record is the evidence, so the lock is not reported again.
   */
  superseded?(resolver: FileResolver, dir: string, entry: LockEntry | undefined): boolean;
}

/** A cataloger for one lockfile format: read, parse, one package per entry, issues collected. */
export function lockfileCataloger(spec: LockfileSpec): Cataloger {
  const wanted = (path: string): boolean => spec.file.test(path) && !notTheImagesSoftware(path);
  return {
    id: spec.id,
    version: spec.version,
    ...(spec.installed ? {} : { declares: true }),
    interest: wanted,
    async catalog(resolver: FileResolver): Promise<CatalogResult> {
      const packages: Package[] = [];
      const issues: Issue[] = [];
      for (const node of resolver.files()) {
        if (node.type !== "file" || !wanted(node.path)) {
          continue;
        }
        const dir = node.path.slice(0, node.path.lastIndexOf("/"));
        if (spec.superseded?.(resolver, dir, undefined)) {
          continue;
        }
        const bytes = await resolver.read(node.path);
        const entries = bytes ? safeParse(spec, text(bytes), node.path) : "not readable";
        if (typeof entries === "string") {
          issues.push({ code: spec.invalidCode, message: entries, path: node.path });
          continue;
        }
        const location = locationOf(resolver, node, node.path);
        const seen = new Set<string>();
        for (const e of entries) {
          if (spec.superseded?.(resolver, dir, e)) {
            continue;
          }
          const p = purl(spec.type, e.purlNamespace, e.purlName ?? e.name, e.version, e.qualifiers);
          if (seen.has(p)) {
            continue;
          }
          seen.add(p);
          const license = e.licenses?.length ? normalizeLicenses(e.licenses) : undefined;
          packages.push({
            id: packageId(p, node.path),
            name: e.name,
            version: e.version,
            type: spec.type,
            purl: p,
            cpes: [],
            ...(license ? { license } : {}),
            licenseDeclared: e.licenses ?? [],
            ...(e.author ? { author: e.author } : {}),
            foundBy: spec.id,
            locations: [location],
            checksums: e.checksums ?? [],
            files: [],
            dependsOn: [...new Set(e.dependsOn ?? [])].sort(),
            ...(e.properties ? { properties: e.properties } : {}),
          });
        }
      }
      return { packages, issues };
    },
  };
}

function safeParse(spec: LockfileSpec, src: string, path: string): readonly LockEntry[] | string {
  try {
    return spec.parse(src, path);
  } catch (e) {
    return `not a valid ${path.slice(path.lastIndexOf("/") + 1)}: ${(e as Error).message}`;
  }
}

/**
 * Lockfiles inside installed dependency trees belong to those dependencies' own builds, and
 * those under documentation directories are examples: neither is software the image runs.
 */
function notTheImagesSoftware(path: string): boolean {
  return path.includes("/node_modules/") || /^\/usr\/share\/(doc|man|info)\//.test(path);
}

/**
 * The state file each package manager writes into the node_modules tree it installs: npm 7+'s
 * hidden lockfile, pnpm's .modules.yaml, yarn 1's .yarn-integrity and yarn 2+'s .yarn-state.yml.
 * A node_modules directory alone is no proof (Debian ships packages with a few bundled modules
 * in one).
 */
const INSTALL_STATE = {
  npm: [".package-lock.json"],
  pnpm: [".modules.yaml"],
  yarn: [".yarn-integrity", ".yarn-state.yml"],
} as const;

/**
 * Whether the package manager installed the project at `dir` beside its lockfile (its state file
 * is in `dir`/node_modules). Then what is on disk is the evidence: a lock entry without its
 * installed copy was not installed (an optional package for another os or cpu, a development
 * dependency left out by --omit=dev or --production, a pruned one), so it is not reported at
 * all, neither as installed nor as declared.
 */
export function installedBeside(
  resolver: FileResolver,
  dir: string,
  tool: keyof typeof INSTALL_STATE,
): boolean {
  return INSTALL_STATE[tool].some(
    (f) => resolver.lstat(resolver.realpath(`${dir}/node_modules/${f}`) ?? "")?.type === "file",
  );
}

/** A checksum from a "sha256:HEX" / "sha512-BASE64" style string, when it is one. */
export function checksumOf(s: unknown): Checksum | undefined {
  if (typeof s !== "string") {
    return undefined;
  }
  const hex = /^(md5|sha1|sha256|sha512)[:=]([0-9a-f]+)$/i.exec(s);
  const sri = /^(sha1|sha256|sha512)-([A-Za-z0-9+/=]+)$/.exec(s);
  const m = hex ?? sri;
  if (!m?.[1] || !m[2]) {
    return undefined;
  }
  const algorithm = m[1].toUpperCase() as Checksum["algorithm"];
  const value = hex ? m[2].toLowerCase() : Buffer.from(m[2], "base64").toString("hex");
  const bits = { MD5: 128, SHA1: 160, SHA256: 256, SHA512: 512 }[algorithm];
  return value.length * 4 === bits ? { algorithm, value } : undefined;
}

/** `name` or `@scope/name` split for a purl. */
export function scoped(name: string): { purlNamespace?: string; purlName: string } {
  if (name.startsWith("@") && name.includes("/")) {
    const [ns, bare] = name.split("/", 2) as [string, string];
    return { purlNamespace: ns, purlName: bare };
  }
  return { purlName: name };
}

/** A parsed document's value as an object ({} when it is not one). */
export function asObject(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** A parsed document's value as an array ([] when it is not one). */
export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
