import { SbomError } from "../../core/errors.js";
import type { Issue } from "../../core/issues.js";
import { assertCycloneDxSchema } from "../cyclonedx-schema.js";
import type { Distro, Location, Package, Relationship } from "../model.js";
import {
  arr,
  finish,
  HASH_ALGS,
  isObj,
  type Json,
  makePackage,
  type ReadResult,
  str,
} from "./shared.js";

/** Reads CycloneDX 1.2-1.7 JSON into the model. */

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

export function readCycloneDx(doc: Json, path: string): ReadResult {
  const specVersion = String(doc["specVersion"] ?? "");
  if (!/^1\.[2-7]$/.test(specVersion)) {
    throw new SbomError(
      "SBOM_INVALID",
      `${path}: unsupported CycloneDX specVersion "${specVersion}"`,
    );
  }
  assertCycloneDxSchema(doc, specVersion, path);
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
