import type { Issue } from "../../../core/issues.js";
import type { FileResolver } from "../../../source/index.js";
import type { CatalogContext, Cataloger, CatalogResult } from "../../cataloger.js";
import { normalizeLicenses } from "../../license.js";
import type { Package } from "../../model.js";
import { distroQualifier } from "../os-release.js";
import { locationOf, packageId, purl, text } from "../shared.js";

const DB = "/lib/apk/db/installed";

export interface ApkEntry {
  readonly name: string;
  readonly version: string;
  readonly arch?: string;
  readonly license?: string;
  readonly origin?: string;
  readonly maintainer?: string;
  readonly checksum?: string;
  readonly depends: readonly string[];
  readonly files: readonly { readonly path: string; readonly checksum?: string }[];
}

/**
 * Parses apk's installed database: blank-line separated records of "K:value" lines (P name,
 * V version, A arch, L license, o origin, m maintainer, C checksum, D depends, F directory,
 * R file in the last F, Z file checksum).
 */
export function parseApkInstalled(src: string): ApkEntry[] {
  const out: ApkEntry[] = [];
  for (const block of src.split(/\n\s*\n/)) {
    const f: Record<string, string> = {};
    const files: { path: string; checksum?: string }[] = [];
    let dir = "";
    for (const line of block.split("\n")) {
      const k = line[0];
      if (!k || line[1] !== ":") {
        continue;
      }
      const v = line.slice(2);
      if (k === "F") {
        dir = v;
      } else if (k === "R") {
        files.push({ path: `/${dir ? `${dir}/` : ""}${v}` });
      } else if (k === "Z" && files.length) {
        const last = files[files.length - 1] as { path: string; checksum?: string };
        last.checksum = v;
      } else if (!(k in f)) {
        f[k] = v;
      }
    }
    if (!f["P"] || !f["V"]) {
      continue;
    }
    out.push({
      name: f["P"],
      version: f["V"],
      ...(f["A"] ? { arch: f["A"] } : {}),
      ...(f["L"] ? { license: f["L"] } : {}),
      ...(f["o"] ? { origin: f["o"] } : {}),
      ...(f["m"] ? { maintainer: f["m"] } : {}),
      ...(f["C"] ? { checksum: f["C"] } : {}),
      depends: (f["D"] ?? "")
        .split(/\s+/)
        .filter((d) => d && !d.startsWith("!") && !d.includes(":") && !d.startsWith("/"))
        .map((d) => d.split(/[<>=~]/)[0] as string),
      files,
    });
  }
  return out;
}

/** Alpine packages from /lib/apk/db/installed. */
export const apkCataloger: Cataloger = {
  id: "apk-db-cataloger",
  version: 1,
  interest: (path) => path === DB,
  async catalog(resolver: FileResolver, ctx: CatalogContext): Promise<CatalogResult> {
    const issues: Issue[] = [];
    const node = resolver.lstat(DB);
    const bytes = node ? await resolver.read(DB) : undefined;
    if (!bytes) {
      return { packages: [], issues };
    }
    const packages: Package[] = parseApkInstalled(text(bytes)).map((e) => {
      const p = purl("apk", ctx.distro?.id ?? "alpine", e.name, e.version, {
        arch: e.arch,
        distro: distroQualifier(ctx.distro),
        upstream: e.origin && e.origin !== e.name ? e.origin : undefined,
      });
      // apk records SPDX-like license lists separated by spaces ("MIT BSD-2-Clause")
      const declared = e.license ? [e.license] : [];
      const license = normalizeLicenses(e.license ? [e.license.split(/\s+/).join(" AND ")] : []);
      return {
        id: packageId(p, DB),
        name: e.name,
        version: e.version,
        type: "apk",
        purl: p,
        cpes: [],
        ...(license ? { license } : {}),
        licenseDeclared: declared,
        ...(e.maintainer ? { supplier: e.maintainer } : {}),
        foundBy: "apk-db-cataloger",
        locations: [locationOf(resolver, node, DB)],
        checksums: [],
        source: { name: e.origin ?? e.name, version: e.version },
        ...(e.arch ? { arch: e.arch } : {}),
        files: e.files.map((f) => ({ path: f.path })),
        dependsOn: [...new Set(e.depends)].sort(),
        ...(e.checksum ? { properties: { "apk:checksum": e.checksum } } : {}),
      };
    });
    return { packages, issues };
  },
};
