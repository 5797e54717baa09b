import type { Issue } from "../../../core/issues.js";
import type { FileNode, FileResolver } from "../../../source/index.js";
import type { Cataloger, CatalogResult } from "../../cataloger.js";
import { normalizeLicenses } from "../../license.js";
import type { Checksum, Package } from "../../model.js";
import { installedBeside } from "../lockfile.js";
import { locationOf, packageId, purl, text } from "../shared.js";

const LOCK = /\/(?:package-lock|npm-shrinkwrap)\.json$/;

type Json = Record<string, unknown>;

function integrity(v: unknown): Checksum[] {
  if (typeof v !== "string") {
    return [];
  }
  return v.split(/\s+/).flatMap((sri) => {
    const m = /^(sha1|sha256|sha512)-([A-Za-z0-9+/=]+)$/.exec(sri);
    if (!m?.[1] || !m[2]) {
      return [];
    }
    const alg = ({ sha1: "SHA1", sha256: "SHA256", sha512: "SHA512" } as const)[
      m[1] as "sha1" | "sha256" | "sha512"
    ];
    return [{ algorithm: alg, value: Buffer.from(m[2], "base64").toString("hex") }];
  });
}

interface LockEntry {
  name: string;
  version: string;
  checksums: Checksum[];
  license: string[];
  dependsOn: string[];
  installPath: string;
}

/**
 * An optional package that names the os or cpu it is for (`@esbuild/darwin-arm64`,
 * `turbo-windows-64`): npm installs it only on that platform, and the lockfile lists every
 * platform's. Which one a build would fetch is not in the lockfile.
 */
function platformOptional(raw: Json): boolean {
  return (
    (raw["optional"] === true || raw["devOptional"] === true) &&
    (Array.isArray(raw["os"]) || Array.isArray(raw["cpu"]))
  );
}

/**
 * Entries of a lockfile (v1 nested `dependencies`, v2/v3 flat `packages`), without development
 * ones and without optional packages for a named os or cpu (which one is installed depends on the
 * platform of the install, not on the lockfile).
 */
export function parsePackageLock(j: Json): { version: number; entries: LockEntry[] } {
  const version = typeof j["lockfileVersion"] === "number" ? j["lockfileVersion"] : 1;
  const entries: LockEntry[] = [];
  const packages = j["packages"];
  if (version >= 2 && packages && typeof packages === "object") {
    for (const [path, raw] of Object.entries(packages as Record<string, Json>)) {
      if (
        path === "" ||
        !raw ||
        raw["dev"] === true ||
        raw["link"] === true ||
        raw["extraneous"] === true ||
        platformOptional(raw)
      ) {
        continue;
      }
      const name =
        typeof raw["name"] === "string"
          ? raw["name"]
          : path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);
      const v = raw["version"];
      if (!name || typeof v !== "string") {
        continue;
      }
      const lic = raw["license"];
      entries.push({
        name,
        version: v,
        checksums: integrity(raw["integrity"]),
        license: typeof lic === "string" ? [lic] : [],
        dependsOn: Object.keys((raw["dependencies"] as object | undefined) ?? {}).sort(),
        installPath: path,
      });
    }
    return { version, entries };
  }
  const walk = (deps: unknown, prefix: string): void => {
    for (const [name, raw] of Object.entries((deps as Record<string, Json> | undefined) ?? {})) {
      if (!raw || raw["dev"] === true || typeof raw["version"] !== "string") {
        continue;
      }
      const installPath = `${prefix}node_modules/${name}`;
      entries.push({
        name,
        version: raw["version"],
        checksums: integrity(raw["integrity"]),
        license: [],
        dependsOn: Object.keys((raw["requires"] as object | undefined) ?? {}).sort(),
        installPath,
      });
      walk(raw["dependencies"], `${installPath}/`);
    }
  };
  walk(j["dependencies"], "");
  return { version, entries };
}

/**
 * npm lockfiles (package-lock.json v1-v3, npm-shrinkwrap.json): the production dependency
 * tree a project declares. Where npm installed the tree beside the lockfile (its hidden
 * lockfile, node_modules/.package-lock.json), the installed package.json files are the evidence: an installed entry is reported
 * by the installed-package cataloger, and one that is not on disk was not installed (another
 * platform's optional package, an omitted dependency), so it is not reported either.
 */
export const npmLockCataloger: Cataloger = {
  id: "npm-lock-cataloger",
  declares: true,
  version: 2,
  interest: (path) => LOCK.test(path) && !path.includes("/node_modules/"),
  async catalog(resolver: FileResolver): Promise<CatalogResult> {
    const packages: Package[] = [];
    const issues: Issue[] = [];
    for (const node of resolver.files() as Iterable<FileNode>) {
      if (node.type !== "file" || !LOCK.test(node.path) || node.path.includes("/node_modules/")) {
        continue;
      }
      const bytes = await resolver.read(node.path);
      let j: Json;
      try {
        j = JSON.parse(text(bytes ?? new Uint8Array())) as Json;
      } catch {
        issues.push({
          code: "SBOM_NPM_LOCK_INVALID",
          message: "lockfile is not valid JSON",
          path: node.path,
        });
        continue;
      }
      const dir = node.path.slice(0, node.path.lastIndexOf("/"));
      if (installedBeside(resolver, dir, "npm")) {
        continue; // the installed tree is the evidence (npm-installed-package-cataloger)
      }
      for (const e of parsePackageLock(j).entries) {
        if (resolver.lstat(`${dir}/${e.installPath}/package.json`)) {
          continue; // installed: reported by the installed-package cataloger
        }
        const [ns, bare] = e.name.startsWith("@")
          ? (e.name.split("/", 2) as [string, string])
          : [undefined, e.name];
        const p = purl("npm", ns, bare, e.version);
        const license = normalizeLicenses(e.license);
        packages.push({
          id: packageId(p, `${node.path}#${e.installPath}`),
          name: e.name,
          version: e.version,
          type: "npm",
          purl: p,
          cpes: [],
          ...(license ? { license } : {}),
          licenseDeclared: e.license,
          foundBy: "npm-lock-cataloger",
          locations: [locationOf(resolver, node, node.path)],
          checksums: e.checksums,
          files: [],
          dependsOn: e.dependsOn,
          properties: { "npm:installPath": e.installPath },
        });
      }
    }
    return { packages, issues };
  },
};
