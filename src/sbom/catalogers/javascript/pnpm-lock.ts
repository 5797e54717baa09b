import { assertYamlDepth, yaml } from "../../../core/yaml.js";
import type { Cataloger } from "../../cataloger.js";
import {
  asObject,
  checksumOf,
  installedBeside,
  type LockEntry,
  lockfileCataloger,
  scoped,
} from "../lockfile.js";

const LOCK = /\/pnpm-lock\.yaml$/;

/**
 * Name and version of a pnpm package key. v5: `/name/1.2.3` or `/@scope/name/1.2.3_peer@2`;
 * v6: `/name@1.2.3(peer@2)`; v9: `name@1.2.3(peer@2)`. Peer suffixes are not part of the version.
 */
export function parsePnpmKey(key: string, lockVersion: number): [string, string] | undefined {
  const k = key.replace(/^\//, "");
  if (lockVersion < 6) {
    const parts = k.split("/");
    const scopedName = parts[0]?.startsWith("@");
    const name = scopedName ? `${parts[0]}/${parts[1]}` : parts[0];
    const version = (scopedName ? parts[2] : parts[1])?.split("_")[0];
    return name && version ? [name, version] : undefined;
  }
  const bare = k.replace(/\(.*$/, "");
  const at = bare.indexOf("@", bare.startsWith("@") ? 1 : 0);
  return at > 0 ? [bare.slice(0, at), bare.slice(at + 1)] : undefined;
}

/**
 * Production packages of a pnpm lockfile (v5.x, v6, v9). Before v9 each package says `dev: true`
 * when only development needs it; v9 dropped that flag, so there the production set is what the
 * importers' dependencies and optionalDependencies reach through the snapshots.
 */
export function parsePnpmLock(src: string): LockEntry[] {
  assertYamlDepth(src, "the pnpm lockfile");
  // aliases are bounded (the library's default, 100): an alias bomb expands exponentially
  const doc = asObject(yaml().parse(src, { prettyErrors: false, logLevel: "error" }));
  const lockVersion = Number.parseFloat(String(doc["lockfileVersion"] ?? "5"));
  if (!Number.isFinite(lockVersion)) {
    throw new Error(`unknown lockfileVersion ${String(doc["lockfileVersion"])}`);
  }
  const packages = asObject(doc["packages"]);
  const snapshots = asObject(doc["snapshots"]);
  let production: Set<string> | undefined;
  if (lockVersion >= 9) {
    production = new Set();
    const importers = Object.values(asObject(doc["importers"]));
    const queue: string[] = [];
    const visit = (deps: unknown): void => {
      for (const [name, v] of Object.entries(asObject(deps))) {
        const spec = typeof v === "string" ? v : asObject(v)["version"];
        if (typeof spec === "string" && !spec.startsWith("link:")) {
          queue.push(`${name}@${spec}`);
        }
      }
    };
    for (const imp of importers) {
      visit(asObject(imp)["dependencies"]);
      visit(asObject(imp)["optionalDependencies"]);
    }
    while (queue.length > 0) {
      const key = queue.pop() as string;
      if (production.has(key)) {
        continue;
      }
      production.add(key);
      const snap = asObject(snapshots[key]);
      visit(snap["dependencies"]);
      visit(snap["optionalDependencies"]);
    }
  }
  const out: LockEntry[] = [];
  const keys = lockVersion >= 9 ? Object.keys(snapshots) : Object.keys(packages);
  for (const key of keys) {
    const parsed = parsePnpmKey(key, lockVersion);
    if (!parsed) {
      continue;
    }
    const [name, version] = parsed;
    const meta =
      lockVersion >= 9 ? asObject(packages[key.replace(/\(.*$/, "")]) : asObject(packages[key]);
    const snap = lockVersion >= 9 ? asObject(snapshots[key]) : meta;
    if (production ? !production.has(key) : meta["dev"] === true) {
      continue;
    }
    if (!/^\d/.test(version)) {
      continue; // link:, file: and tarball dependencies have no registry version
    }
    if (meta["os"] !== undefined || meta["cpu"] !== undefined || meta["libc"] !== undefined) {
      continue; // installed only on the platform it names, which the lockfile does not choose
    }
    const sum = checksumOf(asObject(meta["resolution"])["integrity"]);
    const deps = Object.keys({
      ...asObject(snap["dependencies"]),
      ...asObject(snap["optionalDependencies"]),
    });
    out.push({
      name,
      version,
      ...scoped(name),
      checksums: sum ? [sum] : [],
      dependsOn: deps,
    });
  }
  return out;
}

/**
 * pnpm lockfiles: the packages a production install of the project gets, less those for a named
 * os, cpu or libc. Where pnpm installed the tree beside the lockfile (node_modules/.modules.yaml),
 * that tree is the evidence and the lockfile is not reported.
 */
export const pnpmLockCataloger: Cataloger = lockfileCataloger({
  id: "pnpm-lock-cataloger",
  version: 2,
  type: "npm",
  file: LOCK,
  invalidCode: "SBOM_PNPM_LOCK_INVALID",
  parse: (src) => parsePnpmLock(src),
  superseded: (resolver, dir, e) =>
    e === undefined
      ? installedBeside(resolver, dir, "pnpm")
      : resolver.lstat(`${dir}/node_modules/${e.name}/package.json`) !== undefined,
});
