import { type Digest, isDigest } from "../../core/digest.js";
import type { Issue } from "../../core/issues.js";
import { lazyModule } from "../../core/lazy.js";
import { packageId } from "../catalogers/shared.js";
import { normalizeLicenses } from "../license.js";
import type { Checksum, Distro, Location, Package, Relationship, Sbom } from "../model.js";

/** What the readers of every format share: the model they fill and its checks. */

// loaded on first use (core/lazy.ts)
const purlLib = lazyModule<{
  PackageURL: {
    fromString(s: string): { type: string; qualifiers?: Record<string, string> | null };
  };
}>("packageurl-js");

export type Json = Record<string, unknown>;
export const isObj = (v: unknown): v is Json =>
  typeof v === "object" && v !== null && !Array.isArray(v);
export const str = (v: unknown): string | undefined =>
  typeof v === "string" && v.length > 0 ? v : undefined;
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The formats {@link readSbom} recognises. */
export type ImportedFormat = "cyclonedx" | "spdx-2" | "spdx-3";

export interface ReadResult {
  readonly sbom: Sbom;
  readonly format: ImportedFormat;
  readonly specVersion: string;
}

export function typeOfPurl(
  p: string | undefined,
  issues: Issue[],
  where: string,
): { type: string; distro?: string } {
  if (!p) {
    return { type: "unknown" };
  }
  try {
    const u = purlLib().PackageURL.fromString(p);
    const distro = u.qualifiers?.["distro"];
    return { type: u.type, ...(distro ? { distro } : {}) };
  } catch {
    issues.push({
      code: "SBOM_PURL_INVALID",
      message: `invalid purl "${p.slice(0, 120)}"`,
      path: where,
    });
    return { type: "unknown" };
  }
}

export function makePackage(
  fields: {
    name: string;
    version: string | undefined;
    purl: string | undefined;
    cpes: string[];
    licenses: string[];
    supplier?: string | undefined;
    author?: string | undefined;
    checksums: Checksum[];
    locations: Location[];
    ref: string;
    foundBy: string;
  },
  issues: Issue[],
  path: string,
): Package {
  const { type } = typeOfPurl(fields.purl, issues, path);
  const license = normalizeLicenses(fields.licenses);
  return {
    id: packageId(fields.purl ?? `${fields.name}@${fields.version ?? ""}`, fields.ref),
    name: fields.name,
    version: fields.version ?? "",
    type,
    purl: fields.purl ?? "",
    cpes: fields.cpes,
    ...(license ? { license } : {}),
    licenseDeclared: fields.licenses,
    ...(fields.supplier ? { supplier: fields.supplier } : {}),
    ...(fields.author ? { author: fields.author } : {}),
    foundBy: fields.foundBy,
    locations: fields.locations,
    checksums: fields.checksums,
    files: [],
    dependsOn: [],
  };
}

export function distroFromPackages(packages: readonly Package[]): Distro | undefined {
  for (const p of packages) {
    const m = /[?&]distro=([^&]+)/.exec(p.purl);
    if (m?.[1]) {
      const d = decodeURIComponent(m[1]);
      const i = d.lastIndexOf("-");
      return i > 0 ? { id: d.slice(0, i), versionId: d.slice(i + 1) } : { id: d };
    }
  }
  return undefined;
}

export const HASH_ALGS: Record<string, Checksum["algorithm"]> = {
  MD5: "MD5",
  "SHA-1": "SHA1",
  SHA1: "SHA1",
  "SHA-256": "SHA256",
  SHA256: "SHA256",
  "SHA-512": "SHA512",
  SHA512: "SHA512",
};

export function finish(
  path: string,
  format: ImportedFormat,
  specVersion: string,
  head: {
    name: string;
    version?: string | undefined;
    created?: string | undefined;
    tool?: { name: string; version: string } | undefined;
  },
  packages: Package[],
  relationships: Relationship[],
  issues: Issue[],
  distro?: Distro,
): ReadResult {
  const d = distro ?? distroFromPackages(packages);
  const manifestDigest =
    head.version && isDigest(head.version) ? (head.version as Digest) : undefined;
  return {
    format,
    specVersion,
    sbom: {
      subject: {
        kind: "document",
        path,
        format: `${format}@${specVersion}`,
        name: head.name,
        ...(head.version ? { version: head.version } : {}),
        ...(manifestDigest ? { manifestDigest } : {}),
      },
      ...(d ? { distro: d } : {}),
      packages,
      relationships,
      issues,
      created: head.created ?? "",
      tool: head.tool ?? { name: "", version: "" },
    },
  };
}

/** Packages no relationship places anywhere are contained by the root. */
export function containUnclaimed(
  relationships: Relationship[],
  contained: ReadonlySet<string>,
  packages: readonly Package[],
): Relationship[] {
  for (const p of packages) {
    if (!contained.has(p.id)) {
      relationships.push({ from: "root", to: p.id, type: "contains" });
    }
  }
  return relationships;
}
