import type { Issue } from "../../../core/issues.js";
import { storedZip, zipEntries, zipRead } from "../../../core/zip.js";
import type { FileNode, FileResolver } from "../../../source/index.js";
import type { Cataloger, CatalogResult } from "../../cataloger.js";
import { normalizeLicenses } from "../../license.js";
import type { Location, Package } from "../../model.js";
import { locationOf, packageId, purl, text } from "../shared.js";

const ARCHIVE = /\.(jar|war|ear|jpi|hpi|par|sar|nar|kar|rar)$/i;
const POM_PROPERTIES = /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/;
const MAX_MEMBER = 64 * 1024 * 1024;
const MAX_METADATA = 1024 * 1024;
const MAX_DEPTH = 3;

/**
 * A Java archive cut down to what the cataloger reads: pom.properties, the manifest and nested
 * archives (reduced in turn, to the depth the cataloger visits), as a stored zip under the same
 * member names. An archive with a member the cataloger could not read either is kept whole, so
 * that the cataloger reports it exactly as before.
 */
export function reduceJavaArchive(bytes: Uint8Array, depth = 0): Uint8Array {
  const entries = zipEntries(bytes);
  if (typeof entries === "string") {
    return bytes;
  }
  const kept: { name: string; data: Uint8Array }[] = [];
  for (const e of entries) {
    const metadata = POM_PROPERTIES.test(e.name) || e.name === "META-INF/MANIFEST.MF";
    const nested = depth < MAX_DEPTH && ARCHIVE.test(e.name) && !e.name.endsWith("/");
    if (!metadata && !nested) {
      continue;
    }
    const data = zipRead(bytes, e, metadata ? MAX_METADATA : MAX_MEMBER);
    if (!data) {
      return bytes;
    }
    kept.push({ name: e.name, data: nested ? reduceJavaArchive(data, depth + 1) : data });
  }
  const out = storedZip(kept);
  return out && out.length < bytes.length ? out : bytes;
}

/** `key=value` lines of a Java properties file (comments and blank lines skipped). */
export function parseProperties(s: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of s.split(/\r?\n/)) {
    const t = line.trim();
    if (!t || t.startsWith("#") || t.startsWith("!")) {
      continue;
    }
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(t);
    if (m?.[1]) {
      out.set(m[1], m[2] ?? "");
    }
  }
  return out;
}

/** Main attributes of a JAR manifest (72-byte line continuations joined). */
export function parseManifestMf(s: string): Map<string, string> {
  const out = new Map<string, string>();
  let last: string | undefined;
  for (const line of s.split(/\r?\n/)) {
    if (line === "") {
      break; // main section ends at the first blank line
    }
    if (line.startsWith(" ") && last) {
      out.set(last, `${out.get(last) ?? ""}${line.slice(1)}`);
      continue;
    }
    const i = line.indexOf(":");
    if (i > 0) {
      last = line.slice(0, i).trim();
      out.set(last, line.slice(i + 1).trim());
    }
  }
  return out;
}

function mavenPackage(
  resolver: FileResolver,
  node: FileNode,
  virtualPath: string,
  g: string | undefined,
  a: string,
  version: string,
  license: string[],
  from: string,
): Package {
  // a maven purl needs the group id (the purl spec, and packageurl-js, refuse one without): when
  // neither pom.properties nor the manifest names it, the package keeps a generic purl rather
  // than a guessed group
  const p = g ? purl("maven", g, a, version) : purl("generic", undefined, a, version);
  const loc: Location = { ...locationOf(resolver, node, node.path) };
  const lic = normalizeLicenses(license);
  return {
    id: packageId(p, virtualPath),
    name: g ? `${g}:${a}` : a,
    version,
    type: "maven",
    purl: p,
    cpes: [],
    ...(lic ? { license: lic } : {}),
    licenseDeclared: license,
    foundBy: "java-archive-cataloger",
    locations: [loc],
    checksums: [],
    files: [],
    dependsOn: [],
    properties: {
      "java:archive": virtualPath,
      "java:identity": from,
      ...(g ? {} : { "java:group": "unknown" }),
    },
  };
}

/**
 * Java archives (jar, war, ear and friends), nested archives included: each
 * META-INF/maven/.../pom.properties is a package; an archive without one is identified by
 * its manifest (Implementation-/Bundle- attributes), or recorded as an issue.
 */
export const javaArchiveCataloger: Cataloger = {
  id: "java-archive-cataloger",
  version: 2,
  interest: (path) => ARCHIVE.test(path),
  reduce: (_path, bytes) => reduceJavaArchive(bytes),
  async catalog(resolver: FileResolver): Promise<CatalogResult> {
    const packages: Package[] = [];
    const issues: Issue[] = [];
    const visit = (node: FileNode, bytes: Uint8Array, virtualPath: string, depth: number): void => {
      const entries = zipEntries(bytes);
      if (typeof entries === "string") {
        issues.push({ code: "SBOM_JAVA_ARCHIVE_UNREADABLE", message: entries, path: virtualPath });
        return;
      }
      let found = 0;
      for (const e of entries) {
        if (POM_PROPERTIES.test(e.name)) {
          const data = zipRead(bytes, e, MAX_METADATA);
          const props = data ? parseProperties(text(data)) : undefined;
          const a = props?.get("artifactId");
          const v = props?.get("version");
          if (a && v) {
            packages.push(
              mavenPackage(
                resolver,
                node,
                virtualPath,
                props?.get("groupId"),
                a,
                v,
                [],
                "pom.properties",
              ),
            );
            found++;
          }
        }
      }
      if (found === 0) {
        const mf = entries.find((e) => e.name === "META-INF/MANIFEST.MF");
        const m = mf ? zipRead(bytes, mf, MAX_METADATA) : undefined;
        const attrs = m ? parseManifestMf(text(m)) : new Map<string, string>();
        const version =
          attrs.get("Implementation-Version") ??
          attrs.get("Bundle-Version") ??
          attrs.get("Specification-Version");
        const base = virtualPath.split(/[/:]/).pop()?.replace(ARCHIVE, "") ?? "";
        const fromName = /^(.+?)-(\d[\w.-]*)$/.exec(base);
        const name =
          attrs.get("Bundle-SymbolicName")?.split(";")[0] ??
          attrs.get("Implementation-Title") ??
          fromName?.[1] ??
          base;
        const v = version ?? fromName?.[2];
        if (name && v) {
          const group = attrs.get("Implementation-Vendor-Id");
          const lic = attrs.get("Bundle-License");
          packages.push(
            mavenPackage(
              resolver,
              node,
              virtualPath,
              group,
              name,
              v,
              lic && !lic.includes("://") ? [lic] : [],
              "manifest",
            ),
          );
        } else if (depth === 0) {
          issues.push({
            code: "SBOM_JAVA_ARCHIVE_UNIDENTIFIED",
            message: "no pom.properties and no name/version in the manifest",
            path: virtualPath,
          });
        }
      }
      if (depth >= MAX_DEPTH) {
        return;
      }
      for (const e of entries) {
        if (ARCHIVE.test(e.name) && !e.name.endsWith("/")) {
          const inner = zipRead(bytes, e, MAX_MEMBER);
          if (inner) {
            visit(node, inner, `${virtualPath}:${e.name}`, depth + 1);
          } else {
            issues.push({
              code: "SBOM_JAVA_ARCHIVE_UNREADABLE",
              message: "nested archive not read (too large or unsupported compression)",
              path: `${virtualPath}:${e.name}`,
            });
          }
        }
      }
    };
    for (const node of resolver.files()) {
      if (node.type !== "file" || !ARCHIVE.test(node.path)) {
        continue;
      }
      const bytes = await resolver.read(node.path);
      if (!bytes) {
        issues.push({
          code: "SBOM_FILE_UNREADABLE",
          message: "java archive not read (over the size limit?)",
          path: node.path,
        });
        continue;
      }
      visit(node, bytes, node.path, 0);
    }
    return { packages, issues };
  },
};
