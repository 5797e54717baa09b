import type { Issue } from "../../core/issues.js";
import type { FileResolver } from "../../source/index.js";
import type { Cataloger, CatalogResult } from "../cataloger.js";
import type { Checksum, Package } from "../model.js";
import { locationOf, packageId, purl, text } from "./shared.js";

const LOCK = /\/yarn\.lock$/;

export interface YarnLockEntry {
  readonly name: string;
  readonly version: string;
  readonly integrity?: string;
  readonly dependencies: readonly string[];
}

function unquote(s: string): string {
  const t = s.trim();
  return t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

/** The package name of a yarn specifier ("@scope/name@^1.0.0", "name@npm:1.2.3"). */
function nameOf(spec: string): string {
  const s = unquote(spec);
  const at = s.indexOf("@", s.startsWith("@") ? 1 : 0);
  return at > 0 ? s.slice(0, at) : s;
}

/**
 * Parses yarn.lock: the classic v1 format (`version "1.2.3"`) and the YAML of yarn 2+
 * (`version: 1.2.3`, with a `__metadata` entry that is skipped). One entry per resolved
 * package, however many specifiers point at it.
 */
export function parseYarnLock(src: string): YarnLockEntry[] {
  const out = new Map<string, YarnLockEntry>();
  let current:
    | { names: string[]; version?: string; integrity?: string; deps: string[] }
    | undefined;
  let inDeps = false;
  const flush = (): void => {
    if (current?.version) {
      for (const name of new Set(current.names)) {
        const key = `${name}@${current.version}`;
        if (!out.has(key) && name !== "__metadata") {
          out.set(key, {
            name,
            version: current.version,
            ...(current.integrity ? { integrity: current.integrity } : {}),
            dependencies: [...new Set(current.deps)].sort(),
          });
        }
      }
    }
    current = undefined;
  };
  for (const line of src.split(/\r?\n/)) {
    if (!line.trim() || line.trimStart().startsWith("#")) {
      continue;
    }
    if (!line.startsWith(" ")) {
      flush();
      const head = line.replace(/:\s*$/, "");
      current = { names: head.split(/,\s*/).map(nameOf).filter(Boolean), deps: [] };
      inDeps = false;
      continue;
    }
    if (!current) {
      continue;
    }
    const indent = line.length - line.trimStart().length;
    const t = line.trim();
    if (indent <= 2) {
      inDeps = /^(dependencies|optionalDependencies):?$/.test(t);
      const m = /^(version|integrity|checksum):?\s+(.+)$/.exec(t);
      if (m?.[1] === "version") {
        current.version = unquote(m[2] as string);
      } else if (m?.[1] === "integrity") {
        current.integrity = unquote(m[2] as string);
      }
    } else if (inDeps) {
      const m = /^("?[^"\s:]+"?):?\s+/.exec(t);
      if (m?.[1]) {
        current.deps.push(unquote(m[1]));
      }
    }
  }
  flush();
  return [...out.values()];
}

function checksums(integrity: string | undefined): Checksum[] {
  const m = integrity ? /^(sha1|sha512)-([A-Za-z0-9+/=]+)$/.exec(integrity) : null;
  return m?.[1] && m[2]
    ? [
        {
          algorithm: m[1] === "sha1" ? "SHA1" : "SHA512",
          value: Buffer.from(m[2], "base64").toString("hex"),
        },
      ]
    : [];
}

/**
 * yarn lockfiles (v1 and yarn 2+). Where the tree is installed beside the lockfile, the
 * installed package.json files are the evidence and the lock entry is not reported again.
 */
export const yarnLockCataloger: Cataloger = {
  id: "yarn-lock-cataloger",
  version: 1,
  interest: (path) => LOCK.test(path) && !path.includes("/node_modules/"),
  async catalog(resolver: FileResolver): Promise<CatalogResult> {
    const packages: Package[] = [];
    const issues: Issue[] = [];
    for (const node of resolver.files()) {
      if (node.type !== "file" || !LOCK.test(node.path) || node.path.includes("/node_modules/")) {
        continue;
      }
      const bytes = await resolver.read(node.path);
      if (!bytes) {
        issues.push({
          code: "SBOM_FILE_UNREADABLE",
          message: "yarn.lock not readable",
          path: node.path,
        });
        continue;
      }
      const dir = node.path.slice(0, node.path.lastIndexOf("/"));
      for (const e of parseYarnLock(text(bytes))) {
        if (resolver.lstat(`${dir}/node_modules/${e.name}/package.json`)) {
          continue;
        }
        const [ns, bare] = e.name.startsWith("@")
          ? (e.name.split("/", 2) as [string, string])
          : [undefined, e.name];
        const p = purl("npm", ns, bare, e.version);
        packages.push({
          id: packageId(p, node.path),
          name: e.name,
          version: e.version,
          type: "npm",
          purl: p,
          cpes: [],
          licenseDeclared: [],
          foundBy: "yarn-lock-cataloger",
          locations: [locationOf(resolver, node, node.path)],
          checksums: checksums(e.integrity),
          files: [],
          dependsOn: e.dependencies,
        });
      }
    }
    return { packages, issues };
  },
};
