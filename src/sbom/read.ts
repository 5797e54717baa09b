import { createRequire } from "node:module";
import { type Digest, isDigest } from "../core/digest.js";
import { SbomError } from "../core/errors.js";
import type { Issue } from "../core/issues.js";
import { assertJsonDepth } from "../core/json.js";
import { packageId } from "./catalogers/shared.js";
import { normalizeLicenses } from "./license.js";
import type { Checksum, Distro, Location, Package, Relationship, Sbom } from "./model.js";

const require = createRequire(import.meta.url);
const { PackageURL } = require("packageurl-js") as {
  PackageURL: {
    fromString(s: string): { type: string; qualifiers?: Record<string, string> | null };
  };
};

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined =>
  typeof v === "string" && v.length > 0 ? v : undefined;
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The formats {@link readSbom} recognises. */
export type ImportedFormat = "cyclonedx" | "spdx-2" | "spdx-3";

export interface ReadResult {
  readonly sbom: Sbom;
  readonly format: ImportedFormat;
  readonly specVersion: string;
}

/**
 * Reads an SBOM made by any tool (CycloneDX 1.4-1.6 JSON, SPDX 2.2/2.3 JSON, SPDX 3.0.1
 * JSON-LD) into the model, so that later steps (scan, VEX, reports) work on it. What cannot be
 * mapped becomes an issue.
 * @throws SbomError SBOM_FORMAT_UNKNOWN when the document is none of those, SBOM_INVALID
 */
export function readSbom(bytes: Uint8Array, path: string): ReadResult {
  let doc: unknown;
  const text = new TextDecoder().decode(bytes);
  assertJsonDepth(text, path);
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new SbomError("SBOM_FORMAT_UNKNOWN", `${path} is not JSON`, {
      cause: e,
      hint: "SBOMs are read in CycloneDX JSON, SPDX 2.x JSON or SPDX 3 JSON-LD; convert tag-value or XML first",
    });
  }
  if (!isObj(doc)) {
    throw new SbomError("SBOM_FORMAT_UNKNOWN", `${path} is not a JSON object`);
  }
  if (doc["bomFormat"] === "CycloneDX") {
    return readCycloneDx(doc, path);
  }
  if (typeof doc["spdxVersion"] === "string") {
    return readSpdx2(doc, path);
  }
  if (Array.isArray(doc["@graph"])) {
    return readSpdx3(doc, path);
  }
  throw new SbomError("SBOM_FORMAT_UNKNOWN", `${path} is not CycloneDX, SPDX 2 or SPDX 3 JSON`, {
    hint: "an in-toto attestation must be unwrapped first (its predicate is the SBOM)",
  });
}

function typeOfPurl(
  p: string | undefined,
  issues: Issue[],
  where: string,
): { type: string; distro?: string } {
  if (!p) {
    return { type: "unknown" };
  }
  try {
    const u = PackageURL.fromString(p);
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

function makePackage(
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

function distroFromPackages(packages: readonly Package[]): Distro | undefined {
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

const HASH_ALGS: Record<string, Checksum["algorithm"]> = {
  MD5: "MD5",
  "SHA-1": "SHA1",
  SHA1: "SHA1",
  "SHA-256": "SHA256",
  SHA256: "SHA256",
  "SHA-512": "SHA512",
  SHA512: "SHA512",
};

function finish(
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

// --- CycloneDX ---------------------------------------------------------------------------------

function cdxLicenses(c: Json): string[] {
  return arr(c["licenses"]).flatMap((l) => {
    if (!isObj(l)) {
      return [];
    }
    const expr = str(l["expression"]);
    if (expr) {
      return [expr];
    }
    const lic = isObj(l["license"]) ? l["license"] : undefined;
    const v = str(lic?.["id"]) ?? str(lic?.["name"]);
    return v ? [v] : [];
  });
}

function readCycloneDx(doc: Json, path: string): ReadResult {
  const specVersion = String(doc["specVersion"] ?? "");
  if (!/^1\.[2-7]$/.test(specVersion)) {
    throw new SbomError(
      "SBOM_INVALID",
      `${path}: unsupported CycloneDX specVersion "${specVersion}"`,
    );
  }
  const issues: Issue[] = [];
  const packages: Package[] = [];
  const relationships: Relationship[] = [];
  const refToId = new Map<string, string>();
  let distro: Distro | undefined;
  const visit = (c: unknown, parent: string): void => {
    if (!isObj(c)) {
      return;
    }
    const type = str(c["type"]);
    const name = str(c["name"]);
    if (type === "operating-system" && name) {
      const v = str(c["version"]);
      distro = { id: name, ...(v ? { versionId: v } : {}) };
    } else if (name && type !== "file") {
      const ref = str(c["bom-ref"]) ?? `${name}@${str(c["version"]) ?? ""}#${packages.length}`;
      const props = arr(c["properties"]).filter(isObj);
      const locations: Location[] = props
        .filter((p) => /:location:\d+:path$/.test(String(p["name"])))
        .map((p) => ({ path: String(p["value"]) }));
      const authors = arr(c["authors"])
        .filter(isObj)
        .map((a) => str(a["name"]))
        .filter(Boolean) as string[];
      const pkg = makePackage(
        {
          name,
          version: str(c["version"]),
          purl: str(c["purl"]),
          cpes: str(c["cpe"]) ? [String(c["cpe"])] : [],
          licenses: cdxLicenses(c),
          supplier: isObj(c["supplier"]) ? str(c["supplier"]["name"]) : undefined,
          author: str(c["author"]) ?? authors[0],
          checksums: arr(c["hashes"])
            .filter(isObj)
            .flatMap((h) => {
              const alg = HASH_ALGS[String(h["alg"])];
              return alg && str(h["content"])
                ? [{ algorithm: alg, value: String(h["content"]) }]
                : [];
            }),
          locations,
          ref,
          foundBy: `imported:cyclonedx`,
        },
        issues,
        path,
      );
      packages.push(pkg);
      refToId.set(ref, pkg.id);
      relationships.push({ from: parent, to: pkg.id, type: "contains" });
      for (const child of arr(c["components"])) {
        visit(child, pkg.id);
      }
      return;
    }
    for (const child of arr(c["components"])) {
      visit(child, parent);
    }
  };
  for (const c of arr(doc["components"])) {
    visit(c, "root");
  }
  const meta = isObj(doc["metadata"]) ? doc["metadata"] : {};
  const root = isObj(meta["component"]) ? meta["component"] : undefined;
  const rootRef = root ? str(root["bom-ref"]) : undefined;
  for (const d of arr(doc["dependencies"]).filter(isObj)) {
    const from = str(d["ref"]);
    if (!from || from === rootRef) {
      continue;
    }
    for (const to of arr(d["dependsOn"])) {
      const a = refToId.get(from);
      const b = refToId.get(String(to));
      if (a && b) {
        relationships.push({ from: a, to: b, type: "depends-on" });
      }
    }
  }
  const toolsRaw = meta["tools"];
  const tools = Array.isArray(toolsRaw)
    ? toolsRaw
    : isObj(toolsRaw)
      ? arr(toolsRaw["components"])
      : [];
  const tool = tools.filter(isObj)[0];
  return finish(
    path,
    "cyclonedx",
    specVersion,
    {
      name: (root && str(root["name"])) ?? path,
      version: root ? str(root["version"]) : undefined,
      created: str(meta["timestamp"]),
      tool: tool
        ? { name: str(tool["name"]) ?? "", version: str(tool["version"]) ?? "" }
        : undefined,
    },
    packages,
    relationships,
    issues,
    distro,
  );
}

// --- SPDX 2 --------------------------------------------------------------------------------------

function spdxAgentName(v: string | undefined): string | undefined {
  if (!v || v === "NOASSERTION" || v === "NONE") {
    return undefined;
  }
  return v.replace(/^(Person|Organization|Tool):\s*/, "");
}

function spdxLicense(v: unknown): string[] {
  const s = str(v);
  return s && s !== "NOASSERTION" && s !== "NONE" ? [s] : [];
}

function readSpdx2(doc: Json, path: string): ReadResult {
  const specVersion = String(doc["spdxVersion"]).replace(/^SPDX-/, "");
  const issues: Issue[] = [];
  const packages: Package[] = [];
  const byId = new Map<string, string>();
  const described = new Set<string>();
  for (const r of arr(doc["relationships"]).filter(isObj)) {
    if (r["relationshipType"] === "DESCRIBES" && r["spdxElementId"] === "SPDXRef-DOCUMENT") {
      described.add(String(r["relatedSpdxElement"]));
    }
  }
  for (const id of arr(doc["documentDescribes"])) {
    described.add(String(id));
  }
  let root: Json | undefined;
  for (const p of arr(doc["packages"]).filter(isObj)) {
    const spdxId = String(p["SPDXID"] ?? "");
    if (described.has(spdxId) && !root && described.size === 1) {
      root = p;
      continue;
    }
    const name = str(p["name"]);
    if (!name) {
      issues.push({ code: "SBOM_PACKAGE_INVALID", message: `package ${spdxId} has no name`, path });
      continue;
    }
    const refs = arr(p["externalRefs"]).filter(isObj);
    const purl = str(refs.find((r) => r["referenceType"] === "purl")?.["referenceLocator"]);
    const pkg = makePackage(
      {
        name,
        version: str(p["versionInfo"]),
        purl,
        cpes: refs
          .filter((r) => String(r["referenceType"]).startsWith("cpe"))
          .map((r) => String(r["referenceLocator"])),
        licenses: [
          ...spdxLicense(p["licenseDeclared"]),
          ...(spdxLicense(p["licenseDeclared"]).length ? [] : spdxLicense(p["licenseConcluded"])),
        ],
        supplier: spdxAgentName(str(p["supplier"])),
        author: spdxAgentName(str(p["originator"])),
        checksums: arr(p["checksums"])
          .filter(isObj)
          .flatMap((c) => {
            const alg = HASH_ALGS[String(c["algorithm"])];
            return alg && str(c["checksumValue"])
              ? [{ algorithm: alg, value: String(c["checksumValue"]) }]
              : [];
          }),
        locations: [],
        ref: spdxId,
        foundBy: "imported:spdx",
      },
      issues,
      path,
    );
    if (
      p["primaryPackagePurpose"] === "OPERATING_SYSTEM" ||
      p["primaryPackagePurpose"] === "OPERATING-SYSTEM"
    ) {
      continue;
    }
    packages.push(pkg);
    byId.set(spdxId, pkg.id);
  }
  const rootId = root ? String(root["SPDXID"]) : undefined;
  const relationships: Relationship[] = [];
  const contained = new Set<string>();
  for (const r of arr(doc["relationships"]).filter(isObj)) {
    const a = String(r["spdxElementId"]);
    const b = String(r["relatedSpdxElement"]);
    const t = String(r["relationshipType"]);
    const from = a === rootId ? "root" : byId.get(a);
    const to = b === rootId ? "root" : byId.get(b);
    if (t === "CONTAINS" && from && to && to !== "root") {
      relationships.push({ from, to, type: "contains" });
      contained.add(to);
    } else if (t === "CONTAINED_BY" && from && to && from !== "root") {
      relationships.push({ from: to, to: from, type: "contains" });
      contained.add(from);
    } else if (t === "DEPENDS_ON" && from && to && from !== "root" && to !== "root") {
      relationships.push({ from, to, type: "depends-on" });
    } else if (t === "DEPENDENCY_OF" && from && to && from !== "root" && to !== "root") {
      relationships.push({ from: to, to: from, type: "depends-on" });
    }
  }
  containUnclaimed(relationships, contained, packages);
  const ci = isObj(doc["creationInfo"]) ? doc["creationInfo"] : {};
  const toolCreator = arr(ci["creators"])
    .map(String)
    .find((c) => c.startsWith("Tool:"));
  const toolName = toolCreator?.replace(/^Tool:\s*/, "");
  return finish(
    path,
    "spdx-2",
    specVersion,
    {
      name: (root && str(root["name"])) ?? str(doc["name"]) ?? path,
      version: root ? str(root["versionInfo"]) : undefined,
      created: str(ci["created"]),
      tool: toolName ? { name: toolName, version: "" } : undefined,
    },
    packages,
    relationships,
    issues,
  );
}

// --- SPDX 3 --------------------------------------------------------------------------------------

const isRelationship = (e: Json): boolean =>
  e["type"] === "Relationship" || e["type"] === "LifecycleScopedRelationship";

/** Declared licenses, else concluded ones, by element id; NOASSERTION and NONE say nothing. */
function spdx3Licenses(graph: readonly Json[], elements: ReadonlyMap<string, Json>) {
  const declared = new Map<string, string[]>();
  const concluded = new Map<string, string[]>();
  for (const r of graph.filter(isRelationship)) {
    const target =
      r["relationshipType"] === "hasDeclaredLicense"
        ? declared
        : r["relationshipType"] === "hasConcludedLicense"
          ? concluded
          : undefined;
    if (!target) {
      continue;
    }
    const from = String(r["from"]);
    for (const to of arr(r["to"])) {
      const lic = elements.get(String(to));
      const expr = str(lic?.["simplelicensing_licenseExpression"]) ?? str(lic?.["name"]);
      if (expr && expr !== "NOASSERTION" && expr !== "NONE") {
        target.set(from, [...(target.get(from) ?? []), expr]);
      }
    }
  }
  return (id: string): string[] => declared.get(id) ?? concluded.get(id) ?? [];
}

function spdx3Checksums(e: Json): Checksum[] {
  return arr(e["verifiedUsing"])
    .filter(isObj)
    .flatMap((h) => {
      const alg =
        HASH_ALGS[
          String(h["algorithm"])
            .toUpperCase()
            .replace(/^SHA(\d)/, "SHA$1")
        ];
      return alg && str(h["hashValue"]) ? [{ algorithm: alg, value: String(h["hashValue"]) }] : [];
    });
}

/** One software_Package element as a package of the model. */
function spdx3Package(
  e: Json,
  name: string,
  elements: ReadonlyMap<string, Json>,
  licenses: (id: string) => string[],
  issues: Issue[],
  path: string,
): Package {
  const sid = String(e["spdxId"]);
  const supplier = str(e["suppliedBy"]);
  const originator = str(arr(e["originatedBy"])[0]);
  return makePackage(
    {
      name,
      version: str(e["software_packageVersion"]),
      purl: str(e["software_packageUrl"]),
      cpes: arr(e["externalIdentifier"])
        .filter(isObj)
        .filter((x) => String(x["externalIdentifierType"]).startsWith("cpe"))
        .map((x) => String(x["identifier"])),
      licenses: licenses(sid),
      supplier: supplier ? (str(elements.get(supplier)?.["name"]) ?? supplier) : undefined,
      author: originator ? (str(elements.get(originator)?.["name"]) ?? originator) : undefined,
      checksums: spdx3Checksums(e),
      locations: [],
      ref: sid,
      foundBy: "imported:spdx3",
    },
    issues,
    path,
  );
}

/** contains / dependsOn between known packages (the root as "root"). */
function spdx3Relationships(
  graph: readonly Json[],
  rootId: string | undefined,
  byId: ReadonlyMap<string, string>,
  packages: readonly Package[],
): Relationship[] {
  const relationships: Relationship[] = [];
  const contained = new Set<string>();
  for (const r of graph.filter(isRelationship)) {
    const fromRaw = String(r["from"]);
    const from = fromRaw === rootId ? "root" : byId.get(fromRaw);
    for (const toRaw of arr(r["to"]).map(String)) {
      const to = byId.get(toRaw);
      if (!from || !to) {
        continue;
      }
      if (r["relationshipType"] === "contains") {
        relationships.push({ from, to, type: "contains" });
        contained.add(to);
      } else if (r["relationshipType"] === "dependsOn" && from !== "root") {
        relationships.push({ from, to, type: "depends-on" });
      }
    }
  }
  return containUnclaimed(relationships, contained, packages);
}

/** Packages no relationship places anywhere are contained by the root. */
function containUnclaimed(
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

/** The root element: the SBOM's (or document's) root, through a nested software_Sbom. */
function spdx3RootId(
  sbomEl: Json | undefined,
  docEl: Json | undefined,
  elements: ReadonlyMap<string, Json>,
): string | undefined {
  const rootId = str(arr(sbomEl?.["rootElement"] ?? docEl?.["rootElement"])[0]);
  if (rootId && elements.get(rootId)?.["type"] === "software_Sbom") {
    return str(arr(elements.get(rootId)?.["rootElement"])[0]);
  }
  return rootId;
}

function readSpdx3(doc: Json, path: string): ReadResult {
  const graph = arr(doc["@graph"]).filter(isObj);
  const issues: Issue[] = [];
  const elements = new Map<string, Json>();
  for (const e of graph) {
    const id = str(e["spdxId"]) ?? str(e["@id"]);
    if (id) {
      elements.set(id, e);
    }
  }
  const creation = graph.find((e) => e["type"] === "CreationInfo");
  const specVersion = str(creation?.["specVersion"]) ?? "3.0.1";
  const sbomEl = graph.find((e) => e["type"] === "software_Sbom");
  const docEl = graph.find((e) => e["type"] === "SpdxDocument");
  const rootId = spdx3RootId(sbomEl, docEl, elements);
  const licenses = spdx3Licenses(graph, elements);
  const packages: Package[] = [];
  const byId = new Map<string, string>();
  let distro: Distro | undefined;
  for (const e of graph) {
    const sid = String(e["spdxId"]);
    if (e["type"] !== "software_Package" || sid === rootId) {
      continue;
    }
    const name = str(e["name"]);
    if (!name) {
      issues.push({ code: "SBOM_PACKAGE_INVALID", message: `package ${sid} has no name`, path });
      continue;
    }
    if (e["software_primaryPurpose"] === "operatingSystem") {
      const v = str(e["software_packageVersion"]);
      distro = { id: name, ...(v ? { versionId: v } : {}) };
      continue;
    }
    const pkg = spdx3Package(e, name, elements, licenses, issues, path);
    packages.push(pkg);
    byId.set(sid, pkg.id);
  }
  const rootEl = rootId ? elements.get(rootId) : undefined;
  const toolId = str(arr(creation?.["createdUsing"])[0]);
  const toolName = toolId ? str(elements.get(toolId)?.["name"]) : undefined;
  return finish(
    path,
    "spdx-3",
    specVersion,
    {
      name: str(rootEl?.["name"]) ?? str(docEl?.["name"]) ?? path,
      version: str(rootEl?.["software_packageVersion"]),
      created: str(creation?.["created"]),
      tool: toolName ? { name: toolName, version: "" } : undefined,
    },
    packages,
    spdx3Relationships(graph, rootId, byId, packages),
    issues,
    distro,
  );
}
