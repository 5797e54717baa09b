import type { Issue } from "../../core/issues.js";
import type { Checksum, Distro, Package, Relationship } from "../model.js";
import {
  arr,
  containUnclaimed,
  finish,
  HASH_ALGS,
  isObj,
  type Json,
  makePackage,
  type ReadResult,
  str,
} from "./shared.js";

/** Reads SPDX 3.0.1 JSON-LD into the model. */

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

export function readSpdx3(doc: Json, path: string): ReadResult {
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
