import type { Cataloger } from "../../cataloger.js";
import { checksumOf, installedBeside, lockfileCataloger, scoped } from "../lockfile.js";

const LOCK = /\/yarn\.lock$/;

export interface YarnLockEntry {
  readonly name: string;
  readonly version: string;
  readonly integrity?: string;
  readonly dependencies: readonly string[];
  /** yarn 2+ `conditions` (`os=darwin & cpu=arm64`): installed only on that platform. */
  readonly conditions?: string;
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
    | { names: string[]; version?: string; integrity?: string; conditions?: string; deps: string[] }
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
            ...(current.conditions ? { conditions: current.conditions } : {}),
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
      const m = /^(version|integrity|checksum|conditions):?\s+(.+)$/.exec(t);
      if (m?.[1] === "version") {
        current.version = unquote(m[2] as string);
      } else if (m?.[1] === "integrity") {
        current.integrity = unquote(m[2] as string);
      } else if (m?.[1] === "conditions") {
        current.conditions = unquote(m[2] as string);
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

/**
 * yarn lockfiles (v1 and yarn 2+). Where yarn installed the tree beside the lockfile (its
 * state file in node_modules), the installed package.json files are the evidence and the lockfile is
 * not reported: what it lists and the tree lacks was not installed (yarn.lock does not even mark
 * development dependencies). Packages for a named platform (yarn 2+ `conditions`) are left out.
 */
export const yarnLockCataloger: Cataloger = lockfileCataloger({
  id: "yarn-lock-cataloger",
  version: 2,
  type: "npm",
  file: LOCK,
  invalidCode: "SBOM_FILE_UNREADABLE",
  parse: (src) =>
    parseYarnLock(src)
      .filter((e) => !e.conditions)
      .map((e) => {
        const sum = checksumOf(e.integrity);
        return {
          name: e.name,
          version: e.version,
          ...scoped(e.name),
          checksums: sum ? [sum] : [],
          dependsOn: e.dependencies,
        };
      }),
  superseded: (resolver, dir, e) =>
    e === undefined
      ? installedBeside(resolver, dir, "yarn")
      : resolver.lstat(`${dir}/node_modules/${e.name}/package.json`) !== undefined,
});
