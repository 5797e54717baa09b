import type { Issue } from "../../../core/issues.js";
import type { FileResolver } from "../../../source/index.js";
import type { Cataloger, CatalogResult } from "../../cataloger.js";
import { normalizeLicenses } from "../../license.js";
import type { Location, Package } from "../../model.js";
import { locationOf, packageId, purl, text } from "../shared.js";

const METADATA = /\/[^/]+\.dist-info\/METADATA$/;
const PKG_INFO = /\/[^/]+\.egg-info(?:\/PKG-INFO)?$/;
const RECORD = /\/[^/]+\.dist-info\/RECORD$/;
const INSTALLED_FILES = /\/[^/]+\.egg-info\/installed-files\.txt$/;

/** Core metadata headers (RFC 822 style; fields may repeat). */
export function parseCoreMetadata(s: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let last: string | undefined;
  for (const line of s.split("\n")) {
    if (line.trim() === "") {
      break; // the body (long description) follows the first blank line
    }
    if ((line.startsWith(" ") || line.startsWith("\t")) && last) {
      const vals = out.get(last) as string[];
      vals[vals.length - 1] = `${vals[vals.length - 1]}\n${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) {
      continue;
    }
    last = line.slice(0, colon).trim();
    const vals = out.get(last) ?? [];
    vals.push(line.slice(colon + 1).trim());
    out.set(last, vals);
  }
  return out;
}

// Trove license classifiers whose SPDX id is unambiguous.
const CLASSIFIERS: Readonly<Record<string, string>> = {
  "MIT License": "MIT",
  "Apache Software License": "Apache-2.0",
  "ISC License (ISCL)": "ISC",
  "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
  "GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
  "GNU General Public License v2 or later (GPLv2+)": "GPL-2.0-or-later",
  "GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
  "GNU General Public License v3 or later (GPLv3+)": "GPL-3.0-or-later",
  "GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.0-or-later",
  "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
  "GNU Lesser General Public License v3 or later (LGPLv3+)": "LGPL-3.0-or-later",
  "Python Software Foundation License": "PSF-2.0",
  "The Unlicense (Unlicense)": "Unlicense",
  "Zope Public License": "ZPL-2.1",
};

function licensesOf(h: Map<string, string[]>): string[] {
  const expr = h.get("License-Expression")?.[0];
  if (expr) {
    return [expr];
  }
  const field = h.get("License")?.[0];
  if (field && field !== "UNKNOWN" && !field.includes("\n") && field.length <= 80) {
    return [field];
  }
  const out: string[] = [];
  for (const c of h.get("Classifier") ?? []) {
    const m = /^License :: OSI Approved :: (.+)$/.exec(c);
    const id = m?.[1] ? CLASSIFIERS[m[1]] : undefined;
    if (id) {
      out.push(id);
    }
  }
  return out;
}

/** PEP 503 normalised project name, as purl's pypi type requires. */
export function normalizePypiName(n: string): string {
  return n.toLowerCase().replace(/[-_.]+/g, "-");
}

/** Installed Python distributions: *.dist-info/METADATA (+RECORD) and *.egg-info. */
export const pythonCataloger: Cataloger = {
  id: "python-installed-package-cataloger",
  version: 1,
  interest(path) {
    return (
      METADATA.test(path) || PKG_INFO.test(path) || RECORD.test(path) || INSTALLED_FILES.test(path)
    );
  },
  async catalog(resolver: FileResolver): Promise<CatalogResult> {
    const issues: Issue[] = [];
    const packages: Package[] = [];
    for (const f of resolver.files()) {
      if (f.type !== "file" || !(METADATA.test(f.path) || PKG_INFO.test(f.path))) {
        continue;
      }
      const bytes = await resolver.read(f.path);
      if (!bytes) {
        issues.push({
          code: "SBOM_FILE_UNREADABLE",
          message: "python metadata not readable",
          path: f.path,
        });
        continue;
      }
      const h = parseCoreMetadata(text(bytes));
      const name = h.get("Name")?.[0];
      const version = h.get("Version")?.[0];
      if (!name || !version) {
        issues.push({
          code: "SBOM_PYTHON_METADATA_INVALID",
          message: "metadata without Name or Version",
          path: f.path,
        });
        continue;
      }
      const metaDir =
        f.path.endsWith("/PKG-INFO") || f.path.endsWith("/METADATA")
          ? f.path.slice(0, f.path.lastIndexOf("/"))
          : f.path;
      const sitePackages = metaDir.slice(0, metaDir.lastIndexOf("/")) || "/";
      const files: { path: string }[] = [];
      const locations: Location[] = [locationOf(resolver, f, f.path)];
      const record = METADATA.test(f.path) ? `${metaDir}/RECORD` : `${metaDir}/installed-files.txt`;
      const recBytes = await resolver.read(record);
      if (recBytes) {
        locations.push(locationOf(resolver, resolver.lstat(record), record));
        for (const line of text(recBytes).split("\n")) {
          const rel = (
            line.startsWith('"')
              ? (line.match(/^"((?:[^"]|"")*)"/)?.[1] ?? "").replace(/""/g, '"')
              : (line.split(",")[0] ?? "")
          ).trim();
          if (rel) {
            const base = METADATA.test(f.path) ? sitePackages : metaDir;
            files.push({ path: joinPosix(base, rel) });
          }
        }
      }
      const declared = licensesOf(h);
      const license = normalizeLicenses(declared);
      const p = purl("pypi", undefined, normalizePypiName(name), version);
      const author = h.get("Author")?.[0] ?? h.get("Author-email")?.[0];
      const requires = (h.get("Requires-Dist") ?? [])
        .filter((r) => !/;\s*.*extra\s*==/.test(r))
        .map((r) => normalizePypiName((/^[A-Za-z0-9][A-Za-z0-9._-]*/.exec(r.trim()) ?? [""])[0]))
        .filter(Boolean);
      packages.push({
        id: packageId(p, f.path),
        name,
        version,
        type: "pypi",
        purl: p,
        cpes: [],
        ...(license ? { license } : {}),
        licenseDeclared: declared,
        ...(author ? { author } : {}),
        foundBy: "python-installed-package-cataloger",
        locations,
        checksums: [],
        files: files.sort((a, b) => (a.path < b.path ? -1 : 1)),
        dependsOn: [...new Set(requires)].sort(),
      });
    }
    return { packages, issues };
  },
};

function joinPosix(base: string, rel: string): string {
  const parts = base.split("/").filter(Boolean);
  for (const p of rel.split("/")) {
    if (p === "..") {
      parts.pop();
    } else if (p && p !== ".") {
      parts.push(p);
    }
  }
  return `/${parts.join("/")}`;
}
