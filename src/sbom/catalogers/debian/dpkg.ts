import type { Issue } from "../../../core/issues.js";
import type { FileResolver } from "../../../source/index.js";
import type { CatalogContext, Cataloger, CatalogResult } from "../../cataloger.js";
import { normalizeLicenses } from "../../license.js";
import type { Location, Package } from "../../model.js";
import { distroQualifier } from "../os-release.js";
import { locationOf, packageId, parseStanzas, presenceOf, purl, text } from "../shared.js";

const STATUS = "/var/lib/dpkg/status";
const STATUS_D = /^\/var\/lib\/dpkg\/status\.d\/[^/]+$/;
const INFO = /^\/var\/lib\/dpkg\/info\/[^/]+\.(list|md5sums)$/;
const COPYRIGHT = /^\/usr\/share\/doc\/[^/]+\/copyright$/;

/** Extracts the License: short names of a machine-readable (DEP-5) copyright file. */
export function parseDep5Licenses(s: string): string[] {
  if (!/^Format:\s*\S*copyright-format/m.test(s)) {
    return [];
  }
  const out = new Set<string>();
  for (const m of s.matchAll(/^License:[ \t]*([^\n]+)$/gm)) {
    const name = (m[1] ?? "").trim();
    if (name) {
      out.add(name);
    }
  }
  return [...out].sort();
}

function parseSource(
  v: string | undefined,
  name: string,
  version: string,
): { name: string; version: string } {
  if (!v) {
    return { name, version };
  }
  const m = /^(\S+)(?:\s+\(([^)]+)\))?$/.exec(v.trim());
  return { name: m?.[1] ?? name, version: m?.[2] ?? version };
}

function dependencyNames(v: string | undefined): string[] {
  if (!v) {
    return [];
  }
  // "libc6 (>= 2.34), libssl3 | libssl1.1": the first alternative of each clause
  return v
    .split(",")
    .map((c) => (c.split("|")[0] ?? "").trim().split(/[\s(:]/)[0] ?? "")
    .filter(Boolean);
}

type StatusSource = { path: string; stanzas: Map<string, string>[]; statusD: boolean };

/** /var/lib/dpkg/status and the status.d files distroless images carry instead. */
async function statusSources(resolver: FileResolver): Promise<StatusSource[]> {
  const sources: StatusSource[] = [];
  const status = await resolver.read(STATUS);
  if (status) {
    sources.push({ path: STATUS, stanzas: parseStanzas(text(status)), statusD: false });
  }
  for (const f of resolver.files()) {
    if (f.type === "file" && STATUS_D.test(f.path) && !f.path.endsWith(".md5sums")) {
      const b = await resolver.read(f.path);
      if (b) {
        sources.push({ path: f.path, stanzas: parseStanzas(text(b)), statusD: true });
      }
    }
  }
  return sources;
}

/** A package's files (from its .list, else its md5sums) with their md5 where recorded. */
async function packageFiles(
  resolver: FileResolver,
  src: StatusSource,
  name: string,
  arch: string | undefined,
) {
  const listPath = await firstExisting(resolver, [
    `/var/lib/dpkg/info/${name}:${arch}.list`,
    `/var/lib/dpkg/info/${name}.list`,
  ]);
  const md5Path = src.statusD
    ? await firstExisting(resolver, [
        `${src.path}.md5sums`,
        `/var/lib/dpkg/status.d/${name}.md5sums`,
      ])
    : await firstExisting(resolver, [
        `/var/lib/dpkg/info/${name}:${arch}.md5sums`,
        `/var/lib/dpkg/info/${name}.md5sums`,
      ]);
  const md5 = new Map<string, string>();
  if (md5Path) {
    for (const line of text((await resolver.read(md5Path)) as Uint8Array).split("\n")) {
      const m = /^([0-9a-f]{32})\s+(.+)$/.exec(line.trim());
      if (m?.[1] && m[2]) {
        md5.set(`/${m[2].replace(/^\/+/, "")}`, m[1]);
      }
    }
  }
  const files = new Map<string, string | undefined>();
  if (listPath) {
    for (const line of text((await resolver.read(listPath)) as Uint8Array).split("\n")) {
      const p = line.trim();
      if (p && p !== "/.") {
        const node = resolver.lstat(p);
        if (node && node.type !== "dir") {
          files.set(p, md5.get(p));
        }
      }
    }
  } else {
    for (const [p, sum] of md5) {
      files.set(p, sum);
    }
  }
  const locations: Location[] = [locationOf(resolver, resolver.lstat(src.path), src.path)];
  if (listPath) {
    locations.push(locationOf(resolver, resolver.lstat(listPath), listPath));
  }
  if (md5Path && md5Path !== listPath) {
    locations.push(locationOf(resolver, resolver.lstat(md5Path), md5Path));
  }
  return { md5, files, locations };
}

/** The property a package's Built-Using field is kept under (the source versions compiled in). */
export const DEBIAN_BUILT_USING = "debian:builtUsing";

/** One installed package's stanza as a package of the model. */
async function dpkgPackage(
  resolver: FileResolver,
  ctx: CatalogContext,
  src: StatusSource,
  st: Map<string, string>,
  name: string,
  version: string,
): Promise<Package> {
  const arch = st.get("Architecture");
  const source = parseSource(st.get("Source"), name, version);
  const { md5, files, locations } = await packageFiles(resolver, src, name, arch);
  const copyright = await resolver.read(`/usr/share/doc/${name}/copyright`);
  const declared = copyright ? parseDep5Licenses(text(copyright)) : [];
  const p = purl("deb", ctx.distro?.id ?? "debian", name, version, {
    arch,
    distro: distroQualifier(ctx.distro),
    upstream:
      source.name !== name
        ? source.version !== version
          ? `${source.name}@${source.version}`
          : source.name
        : undefined,
  });
  const license = normalizeLicenses(declared);
  const maintainer = st.get("Maintainer");
  // the exact source versions compiled into its binaries (static linking: Go, Rust)
  const builtUsing = st.get("Built-Using")?.replace(/\s+/g, " ").trim();
  return {
    id: packageId(p, src.path),
    name,
    version,
    type: "deb",
    purl: p,
    cpes: [],
    ...(license ? { license } : {}),
    licenseDeclared: declared,
    ...(maintainer ? { supplier: maintainer } : {}),
    foundBy: "dpkg-db-cataloger",
    locations,
    checksums: [],
    source,
    // md5sums lists exactly the regular files: their absence is what "removed later" means
    ...(md5.size ? { presence: presenceOf(resolver, md5.keys()) } : {}),
    ...(arch ? { arch } : {}),
    files: [...files.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([path, sum]) => ({ path, ...(sum ? { md5: sum } : {}) })),
    dependsOn: [
      ...new Set([
        ...dependencyNames(st.get("Pre-Depends")),
        ...dependencyNames(st.get("Depends")),
      ]),
    ].sort(),
    ...(builtUsing ? { properties: { [DEBIAN_BUILT_USING]: builtUsing } } : {}),
  };
}

/** Packages from the dpkg database: /var/lib/dpkg/status and distroless status.d files. */
export const dpkgCataloger: Cataloger = {
  id: "dpkg-db-cataloger",
  version: 1,
  interest(path) {
    return path === STATUS || STATUS_D.test(path) || INFO.test(path) || COPYRIGHT.test(path);
  },
  async catalog(resolver: FileResolver, ctx: CatalogContext): Promise<CatalogResult> {
    const issues: Issue[] = [];
    const packages: Package[] = [];
    for (const src of await statusSources(resolver)) {
      for (const st of src.stanzas) {
        const name = st.get("Package");
        const version = st.get("Version");
        if (!name || !version) {
          issues.push({
            code: "SBOM_DPKG_ENTRY_INVALID",
            message: "stanza without Package or Version skipped",
            path: src.path,
          });
          continue;
        }
        const state = st.get("Status");
        if (state !== undefined && !/\binstalled$/.test(state)) {
          continue; // config-files, half-installed, not-installed: not present
        }
        packages.push(await dpkgPackage(resolver, ctx, src, st, name, version));
      }
    }
    return { packages, issues };
  },
};

async function firstExisting(
  resolver: FileResolver,
  paths: readonly string[],
): Promise<string | undefined> {
  for (const p of paths) {
    if (await resolver.read(p)) {
      return p;
    }
  }
  return undefined;
}
