import type { Issue } from "../../../core/issues.js";
import type { FileResolver } from "../../../source/index.js";
import type { Cataloger, CatalogResult } from "../../cataloger.js";
import { normalizeLicenses } from "../../license.js";
import type { Checksum, Package } from "../../model.js";
import { checksumOf, type LockEntry, lockfileCataloger } from "../lockfile.js";
import { locationOf, packageId, purl, text } from "../shared.js";

const GEMSPEC = /\/specifications\/(?:default\/)?[^/]+\.gemspec$/;

function rubyString(src: string, field: string): string | undefined {
  const m = new RegExp(
    `\\bs\\.${field}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|'([^']*)'|%q<([^>]*)>)`,
  ).exec(src);
  return m ? (m[1] ?? m[2] ?? m[3])?.replace(/\\(.)/g, "$1") : undefined;
}

function rubyStringArray(src: string, field: string): string[] {
  const m = new RegExp(`\\bs\\.${field}\\s*=\\s*\\[([^\\]]*)\\]`).exec(src);
  if (!m?.[1]) {
    const single = rubyString(src, field.replace(/s$/, ""));
    return single ? [single] : [];
  }
  return [...m[1].matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'/g)]
    .map((x) => x[1] ?? x[2] ?? "")
    .filter(Boolean);
}

/**
 * Parses the fields of an installed gem specification (the Ruby stub that rubygems writes).
 * Only literal assignments are read; the code is never evaluated.
 */
export function parseGemspec(src: string): {
  name?: string;
  version?: string;
  licenses: string[];
  authors: string[];
  runtimeDeps: string[];
} {
  const name = rubyString(src, "name");
  const version = rubyString(src, "version");
  const deps = [
    ...src.matchAll(/s\.add_(?:runtime_)?dependency\(\s*(?:%q<([^>]+)>|"([^"]+)")/g),
  ].map((m) => m[1] ?? m[2] ?? "");
  return {
    ...(name ? { name } : {}),
    ...(version ? { version } : {}),
    licenses: rubyStringArray(src, "licenses"),
    authors: rubyStringArray(src, "authors"),
    runtimeDeps: [...new Set(deps.filter(Boolean))].sort(),
  };
}

/** Installed Ruby gems: specifications/NAME-VERSION.gemspec files (rubygems, bundler, Debian). */
export const rubyGemspecCataloger: Cataloger = {
  id: "ruby-installed-gemspec-cataloger",
  version: 1,
  interest: (path) => GEMSPEC.test(path),
  async catalog(resolver: FileResolver): Promise<CatalogResult> {
    const packages: Package[] = [];
    const issues: Issue[] = [];
    for (const node of resolver.files()) {
      if (node.type !== "file" || !GEMSPEC.test(node.path)) {
        continue;
      }
      const bytes = await resolver.read(node.path);
      const spec = bytes ? parseGemspec(text(bytes)) : undefined;
      if (!spec?.name || !spec.version) {
        issues.push({
          code: "SBOM_GEMSPEC_INVALID",
          message: "gemspec without a literal name and version",
          path: node.path,
        });
        continue;
      }
      const p = purl("gem", undefined, spec.name, spec.version);
      const license = normalizeLicenses(spec.licenses);
      packages.push({
        id: packageId(p, node.path),
        name: spec.name,
        version: spec.version,
        type: "gem",
        purl: p,
        cpes: [],
        ...(license ? { license } : {}),
        licenseDeclared: spec.licenses,
        ...(spec.authors.length ? { author: spec.authors.join(", ") } : {}),
        foundBy: "ruby-installed-gemspec-cataloger",
        locations: [locationOf(resolver, node, node.path)],
        checksums: [],
        files: [],
        dependsOn: spec.runtimeDeps,
      });
    }
    return { packages, issues };
  },
};

/**
 * Gemfile.lock: the gems of its GEM, GIT and PATH sections (`    name (version[-platform])` at
 * four spaces, their dependencies at six) and, from Bundler 2.5, the CHECKSUMS section.
 */
export function parseGemfileLock(src: string): LockEntry[] {
  const out = new Map<string, LockEntry & { dependsOn: string[] }>();
  const sums = new Map<string, Checksum[]>();
  let section = "";
  let inSpecs = false;
  let current: (LockEntry & { dependsOn: string[] }) | undefined;
  for (const line of src.split(/\r?\n/)) {
    if (/^\S/.test(line)) {
      section = line.trim();
      inSpecs = false;
      current = undefined;
      continue;
    }
    if (section === "CHECKSUMS") {
      const m = /^ {2}(\S+) \(([^)]+)\)(?: (.+))?$/.exec(line);
      if (m?.[1] && m[2] && m[3]) {
        const list = m[3]
          .split(",")
          .map((c) => checksumOf(c.trim()))
          .filter((c): c is Checksum => !!c);
        sums.set(`${m[1]} ${m[2]}`, list);
      }
      continue;
    }
    if (!["GEM", "GIT", "PATH", "PLUGIN SOURCE"].includes(section)) {
      continue;
    }
    if (/^ {2}specs:\s*$/.test(line)) {
      inSpecs = true;
      continue;
    }
    if (!inSpecs) {
      continue;
    }
    const spec = /^ {4}(\S+) \(([^)]+)\)\s*$/.exec(line);
    if (spec?.[1] && spec[2]) {
      const [version, ...platform] = splitPlatform(spec[2]);
      current = {
        name: spec[1],
        version,
        ...(platform.length ? { qualifiers: { platform: platform.join("-") } } : {}),
        dependsOn: [],
        properties: { "bundler:source": section, "bundler:spec": `${spec[1]} (${spec[2]})` },
      };
      out.set(`${spec[1]} ${spec[2]}`, current);
      continue;
    }
    const dep = /^ {6}(\S+)(?: \(.*\))?\s*$/.exec(line);
    if (dep?.[1] && current) {
      current.dependsOn.push(dep[1]);
    }
  }
  return [...out.entries()].map(([key, e]) => {
    const checksums = sums.get(key);
    return checksums ? { ...e, checksums } : e;
  });
}

/** "1.13.6-x86_64-linux" is version 1.13.6 for platform x86_64-linux (versions have no "-"). */
function splitPlatform(v: string): [string, ...string[]] {
  return v.split("-") as [string, ...string[]];
}

export const gemfileLockCataloger: Cataloger = lockfileCataloger({
  id: "ruby-gemfile-lock-cataloger",
  version: 1,
  type: "gem",
  file: /\/Gemfile\.lock$/,
  invalidCode: "SBOM_GEMFILE_LOCK_INVALID",
  parse: (src) => parseGemfileLock(src),
});
