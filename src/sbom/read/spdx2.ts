import type { Issue } from "../../core/issues.js";
import type { Package, Relationship } from "../model.js";
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

/** Reads SPDX 2.2/2.3 JSON into the model. */

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

export function readSpdx2(doc: Json, path: string): ReadResult {
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
