import { CPE_SOURCE, GENERATED_CPE_COMMENT } from "../cpe.js";
import type { Package, Sbom } from "../model.js";
import {
  imagePurl,
  isOrganization,
  parseContact,
  stableUuid,
  subjectName,
  subjectVersion,
} from "./common.js";

type Json = Record<string, unknown>;

export const SPDX3_CONTEXT = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld";

/**
 * Renders an SBOM as native SPDX 3.0.1 JSON-LD (Core, Software and, for an SBOM made by a
 * build, Build profiles): one
 * `software_Sbom` whose root is the image (or directory) package, packages with purls and
 * suppliers, declared licenses as `simplelicensing_LicenseExpression` elements linked with
 * `hasDeclaredLicense`, and `contains` / `dependsOn` relationships. Deterministic.
 */
export function renderSpdx3(sbom: Sbom): string {
  const name = subjectName(sbom);
  const base = `https://spdx.org/spdxdocs/cleanimg-${name.replace(/[^A-Za-z0-9._-]+/g, "-")}-${stableUuid(
    JSON.stringify({ s: sbom.subject, p: sbom.packages.map((p) => p.purl), c: sbom.created }),
  )}/`;
  const ci = "_:creationinfo";
  const id = (local: string): string => `${base}${local}`;
  const graph: Json[] = [];
  const agentId = id("agent/cleanimg");
  const toolId = id("tool/cleanimg");
  graph.push({
    type: "CreationInfo",
    "@id": ci,
    specVersion: "3.0.1",
    created: sbom.created,
    createdBy: [agentId],
    createdUsing: [toolId],
  });
  graph.push({ type: "SoftwareAgent", spdxId: agentId, creationInfo: ci, name: sbom.tool.name });
  graph.push({
    type: "Tool",
    spdxId: toolId,
    creationInfo: ci,
    name: `${sbom.tool.name}-${sbom.tool.version}`,
  });

  const suppliers = new Map<string, string>();
  const supplierId = (s: string): string => {
    const c = parseContact(s);
    const key = `${c.name}|${c.email ?? ""}`;
    let sid = suppliers.get(key);
    if (!sid) {
      sid = id(`agent/${stableUuid(key)}`);
      suppliers.set(key, sid);
      graph.push({
        type: isOrganization(c.name) ? "Organization" : "Person",
        spdxId: sid,
        creationInfo: ci,
        name: c.name,
        ...(c.email
          ? {
              externalIdentifier: [
                {
                  type: "ExternalIdentifier",
                  externalIdentifierType: "email",
                  identifier: c.email,
                },
              ],
            }
          : {}),
      });
    }
    return sid;
  };

  const rootId = id("subject");
  const version = subjectVersion(sbom);
  const rootPurl = imagePurl(sbom);
  graph.push({
    type: "software_Package",
    spdxId: rootId,
    creationInfo: ci,
    name,
    ...(version ? { software_packageVersion: version } : {}),
    ...(rootPurl ? { software_packageUrl: rootPurl } : {}),
    ...(sbom.subject.kind === "image"
      ? {
          verifiedUsing: [
            { type: "Hash", algorithm: "sha256", hashValue: sbom.subject.manifestDigest.slice(7) },
          ],
        }
      : {}),
    software_primaryPurpose: sbom.subject.kind === "image" ? "container" : "source",
  });

  const pkgId = (p: Package): string => id(`package/${p.id}`);
  const elements: string[] = [rootId];
  const relationships: Json[] = [];
  let relN = 0;
  const rel = (from: string, type: string, to: string[]): void => {
    relationships.push({
      type: "Relationship",
      spdxId: id(`relationship/${++relN}`),
      creationInfo: ci,
      from,
      relationshipType: type,
      to,
    });
  };
  if (sbom.distro) {
    const osId = id("operating-system");
    graph.push({
      type: "software_Package",
      spdxId: osId,
      creationInfo: ci,
      name: sbom.distro.id,
      ...(sbom.distro.versionId ? { software_packageVersion: sbom.distro.versionId } : {}),
      ...(sbom.distro.prettyName ? { description: sbom.distro.prettyName } : {}),
      software_primaryPurpose: "operatingSystem",
    });
    elements.push(osId);
    rel(rootId, "contains", [osId]);
  }
  const licenses = new Map<string, string>();
  for (const p of sbom.packages) {
    const pid = pkgId(p);
    elements.push(pid);
    graph.push({
      type: "software_Package",
      spdxId: pid,
      creationInfo: ci,
      name: p.name,
      software_packageVersion: p.version,
      software_packageUrl: p.purl,
      ...(p.supplier ? { suppliedBy: supplierId(p.supplier) } : {}),
      ...(p.author ? { originatedBy: [supplierId(p.author)] } : {}),
      ...(p.checksums.length
        ? {
            verifiedUsing: p.checksums.map((c) => ({
              type: "Hash",
              algorithm: c.algorithm.toLowerCase(),
              hashValue: c.value,
            })),
          }
        : {}),
      ...(p.cpes.length
        ? {
            externalIdentifier: p.cpes.map((c) => ({
              type: "ExternalIdentifier",
              externalIdentifierType: "cpe23",
              identifier: c,
              ...(p.properties?.[CPE_SOURCE] === "generated"
                ? { comment: GENERATED_CPE_COMMENT }
                : {}),
            })),
          }
        : {}),
      software_sourceInfo: `found by ${p.foundBy} in ${p.locations.map((l) => `${l.path}${l.layer ? ` (layer ${l.layer})` : ""}`).join(", ")}`,
      software_primaryPurpose: "library",
    });
    if (p.license) {
      let lid = licenses.get(p.license);
      if (!lid) {
        lid = id(`license/${stableUuid(p.license)}`);
        licenses.set(p.license, lid);
        graph.push({
          type: "simplelicensing_LicenseExpression",
          spdxId: lid,
          creationInfo: ci,
          simplelicensing_licenseExpression: p.license,
        });
        elements.push(lid);
      }
      rel(pid, "hasDeclaredLicense", [lid]);
    }
  }
  const grouped = new Map<string, string[]>();
  for (const r of sbom.relationships) {
    const from = r.from === "root" ? rootId : id(`package/${r.from}`);
    const key = `${from}\n${r.type === "contains" ? "contains" : "dependsOn"}`;
    grouped.set(key, [...(grouped.get(key) ?? []), id(`package/${r.to}`)]);
  }
  for (const [key, to] of [...grouped.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const [from, type] = key.split("\n") as [string, string];
    rel(from, type, [...new Set(to)].sort());
  }
  if (sbom.build) {
    // the Build profile: the build that produced the image, as its provenance records it
    const b = sbom.build;
    const buildId = id("build");
    graph.push({
      type: "build_Build",
      spdxId: buildId,
      creationInfo: ci,
      build_buildType: b.buildType,
      build_buildId: b.buildId,
      build_buildStartTime: b.startTime,
      build_buildEndTime: b.endTime,
      build_configSourceUri: [b.configSource.uri],
      build_configSourceDigest: [
        { type: "Hash", algorithm: "sha256", hashValue: b.configSource.sha256 },
      ],
      ...(Object.keys(b.parameters).length
        ? {
            build_parameter: Object.entries(b.parameters)
              .sort(([x], [y]) => (x < y ? -1 : 1))
              .map(([key, value]) => ({ type: "DictionaryEntry", key, value })),
          }
        : {}),
    });
    elements.push(buildId);
    rel(buildId, "hasOutput", [rootId]);
  }
  graph.push(...relationships);
  elements.push(...relationships.map((r) => r["spdxId"] as string));
  elements.push(...suppliers.values());
  const sbomId = id("sbom");
  graph.push({
    type: "software_Sbom",
    spdxId: sbomId,
    creationInfo: ci,
    name: `SBOM of ${name}`,
    rootElement: [rootId],
    element: [...elements].sort(),
    // made by the build (from the image it produced) or by analysis of an image
    software_sbomType: sbom.build ? ["build", "analyzed"] : ["analyzed"],
  });
  graph.push({
    type: "SpdxDocument",
    spdxId: id("document"),
    creationInfo: ci,
    name: `SBOM of ${name}`,
    rootElement: [sbomId],
    element: [sbomId, agentId, toolId, ...elements].sort(),
    profileConformance: ["core", "software", "simpleLicensing", ...(sbom.build ? ["build"] : [])],
  });
  return `${JSON.stringify({ "@context": SPDX3_CONTEXT, "@graph": graph }, null, 2)}\n`;
}
