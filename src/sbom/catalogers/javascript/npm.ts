import type { Issue } from "../../../core/issues.js";
import type { FileResolver } from "../../../source/index.js";
import type { Cataloger, CatalogResult } from "../../cataloger.js";
import { normalizeLicenses } from "../../license.js";
import type { Package } from "../../model.js";
import { locationOf, packageId, purl, text } from "../shared.js";

// An installed package's manifest: directly inside node_modules/<name>/ or node_modules/@scope/<name>/,
// and Debian's packaged modules under /usr/share/nodejs/ and /usr/lib/nodejs/.
const INSTALLED =
  /\/(?:node_modules|usr\/share\/nodejs|usr\/lib\/nodejs)\/(?:@[^/]+\/)?[^/@][^/]*\/package\.json$/;

function licenseOf(j: Record<string, unknown>): string[] {
  const l = j["license"];
  if (typeof l === "string") {
    return [l];
  }
  if (l && typeof l === "object" && typeof (l as { type?: unknown }).type === "string") {
    return [(l as { type: string }).type];
  }
  const ls = j["licenses"];
  if (Array.isArray(ls)) {
    return ls
      .map((x) => (typeof x === "string" ? x : typeof x?.type === "string" ? x.type : ""))
      .filter(Boolean);
  }
  return [];
}

function personOf(v: unknown): string | undefined {
  if (typeof v === "string") {
    return v;
  }
  if (v && typeof v === "object" && typeof (v as { name?: unknown }).name === "string") {
    const p = v as { name: string; email?: string };
    return p.email ? `${p.name} <${p.email}>` : p.name;
  }
  return undefined;
}

/** Installed npm packages: package.json files of node_modules trees. */
export const npmCataloger: Cataloger = {
  id: "npm-installed-package-cataloger",
  version: 1,
  interest(path) {
    return INSTALLED.test(path);
  },
  async catalog(resolver: FileResolver): Promise<CatalogResult> {
    const issues: Issue[] = [];
    const packages: Package[] = [];
    for (const f of resolver.files()) {
      if (f.type !== "file" || !INSTALLED.test(f.path)) {
        continue;
      }
      const bytes = await resolver.read(f.path);
      let j: Record<string, unknown>;
      try {
        j = JSON.parse(text(bytes ?? new Uint8Array())) as Record<string, unknown>;
      } catch {
        issues.push({
          code: "SBOM_NPM_PACKAGE_JSON_INVALID",
          message: "package.json is not valid JSON",
          path: f.path,
        });
        continue;
      }
      const name = typeof j["name"] === "string" ? j["name"] : undefined;
      const version = typeof j["version"] === "string" ? j["version"] : undefined;
      if (!name || !version) {
        continue; // not a published package manifest (fixtures, nested test data)
      }
      const [ns, bare] = name.startsWith("@")
        ? (name.split("/", 2) as [string, string])
        : [undefined, name];
      const p = purl("npm", ns, bare, version);
      const declared = licenseOf(j);
      const license = normalizeLicenses(declared);
      const author = personOf(j["author"]);
      const deps =
        j["dependencies"] && typeof j["dependencies"] === "object"
          ? Object.keys(j["dependencies"] as object)
          : [];
      packages.push({
        id: packageId(p, f.path),
        name,
        version,
        type: "npm",
        purl: p,
        cpes: [],
        ...(license ? { license } : {}),
        licenseDeclared: declared,
        ...(author ? { author } : {}),
        foundBy: "npm-installed-package-cataloger",
        locations: [locationOf(resolver, f, f.path)],
        checksums: [],
        files: [],
        dependsOn: deps.sort(),
      });
    }
    return { packages, issues };
  },
};
