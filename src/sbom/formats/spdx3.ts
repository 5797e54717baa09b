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

const CI = "_:creationinfo";

/** The graph being written: element ids under one document namespace, shared agents and licenses. */
class Spdx3Graph {
  readonly graph: Json[] = [];
  readonly elements: string[] = [];
  readonly relationships: Json[] = [];
  private relN = 0;
  readonly suppliers = new Map<string, string>();
  private readonly licenses = new Map<string, string>();

  constructor(private readonly base: string) {}

  id(local: string): string {
    return `${this.base}${local}`;
  }

  rel(from: string, type: string, to: string[]): void {
    this.relationships.push({
      type: "Relationship",
      spdxId: this.id(`relationship/${++this.relN}`),
      creationInfo: CI,
      from,
      relationshipType: type,
      to,
    });
  }

  /** The Organization or Person element of a supplier or author, written once. */
  supplierId(s: string): string {
    const c = parseContact(s);
    const key = `${c.name}|${c.email ?? ""}`;
    let sid = this.suppliers.get(key);
    if (!sid) {
      sid = this.id(`agent/${stableUuid(key)}`);
      this.suppliers.set(key, sid);
      this.graph.push({
        type: isOrganization(c.name) ? "Organization" : "Person",
        spdxId: sid,
        creationInfo: CI,
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
  }

  /** The license expression element, written once per expression. */
  licenseId(expression: string): string {
    let lid = this.licenses.get(expression);
    if (!lid) {
      lid = this.id(`license/${stableUuid(expression)}`);
      this.licenses.set(expression, lid);
      this.graph.push({
        type: "simplelicensing_LicenseExpression",
        spdxId: lid,
        creationInfo: CI,
        simplelicensing_licenseExpression: expression,
      });
      this.elements.push(lid);
    }
    return lid;
  }
}

function creationElements(g: Spdx3Graph, sbom: Sbom): { agentId: string; toolId: string } {
  const agentId = g.id("agent/cleanimg");
  const toolId = g.id("tool/cleanimg");
  g.graph.push({
    type: "CreationInfo",
    "@id": CI,
    specVersion: "3.0.1",
    created: sbom.created,
    createdBy: [agentId],
    createdUsing: [toolId],
  });
  g.graph.push({ type: "SoftwareAgent", spdxId: agentId, creationInfo: CI, name: sbom.tool.name });
  g.graph.push({
    type: "Tool",
    spdxId: toolId,
    creationInfo: CI,
    name: `${sbom.tool.name}-${sbom.tool.version}`,
  });
  return { agentId, toolId };
}

/** The image (or directory) package, and the operating system it contains. */
function subjectElements(g: Spdx3Graph, sbom: Sbom, name: string): string {
  const rootId = g.id("subject");
  const version = subjectVersion(sbom);
  const rootPurl = imagePurl(sbom);
  g.graph.push({
    type: "software_Package",
    spdxId: rootId,
    creationInfo: CI,
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
  g.elements.push(rootId);
  if (sbom.distro) {
    const osId = g.id("operating-system");
    g.graph.push({
      type: "software_Package",
      spdxId: osId,
      creationInfo: CI,
      name: sbom.distro.id,
      ...(sbom.distro.versionId ? { software_packageVersion: sbom.distro.versionId } : {}),
      ...(sbom.distro.prettyName ? { description: sbom.distro.prettyName } : {}),
      software_primaryPurpose: "operatingSystem",
    });
    g.elements.push(osId);
    g.rel(rootId, "contains", [osId]);
  }
  return rootId;
}

function packageElement(g: Spdx3Graph, p: Package): void {
  const pid = g.id(`package/${p.id}`);
  g.elements.push(pid);
  g.graph.push({
    type: "software_Package",
    spdxId: pid,
    creationInfo: CI,
    name: p.name,
    software_packageVersion: p.version,
    software_packageUrl: p.purl,
    ...(p.supplier ? { suppliedBy: g.supplierId(p.supplier) } : {}),
    ...(p.author ? { originatedBy: [g.supplierId(p.author)] } : {}),
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
    g.rel(pid, "hasDeclaredLicense", [g.licenseId(p.license)]);
  }
}

/** The SBOM's relationships, one Relationship per (from, type) with its targets sorted. */
function packageRelationships(g: Spdx3Graph, sbom: Sbom, rootId: string): void {
  const grouped = new Map<string, string[]>();
  for (const r of sbom.relationships) {
    const from = r.from === "root" ? rootId : g.id(`package/${r.from}`);
    const key = `${from}\n${r.type === "contains" ? "contains" : "dependsOn"}`;
    grouped.set(key, [...(grouped.get(key) ?? []), g.id(`package/${r.to}`)]);
  }
  for (const [key, to] of [...grouped.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const [from, type] = key.split("\n") as [string, string];
    g.rel(from, type, [...new Set(to)].sort());
  }
}

/** The Build profile: the build that produced the image, as its provenance records it. */
function buildElement(g: Spdx3Graph, b: NonNullable<Sbom["build"]>, rootId: string): void {
  const buildId = g.id("build");
  g.graph.push({
    type: "build_Build",
    spdxId: buildId,
    creationInfo: CI,
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
  g.elements.push(buildId);
  g.rel(buildId, "hasOutput", [rootId]);
}

/**
 * Renders an SBOM as native SPDX 3.0.1 JSON-LD (Core, Software and, for an SBOM made by a
 * build, Build profiles): one
 * `software_Sbom` whose root is the image (or directory) package, packages with purls and
 * suppliers, declared licenses as `simplelicensing_LicenseExpression` elements linked with
 * `hasDeclaredLicense`, and `contains` / `dependsOn` relationships. Deterministic.
 */
export function renderSpdx3(sbom: Sbom): string {
  const name = subjectName(sbom);
  const g = new Spdx3Graph(
    `https://spdx.org/spdxdocs/cleanimg-${name.replace(/[^A-Za-z0-9._-]+/g, "-")}-${stableUuid(
      JSON.stringify({ s: sbom.subject, p: sbom.packages.map((p) => p.purl), c: sbom.created }),
    )}/`,
  );
  const { agentId, toolId } = creationElements(g, sbom);
  const rootId = subjectElements(g, sbom, name);
  for (const p of sbom.packages) {
    packageElement(g, p);
  }
  packageRelationships(g, sbom, rootId);
  if (sbom.build) {
    buildElement(g, sbom.build, rootId);
  }
  g.graph.push(...g.relationships);
  const elements = [
    ...g.elements,
    ...g.relationships.map((r) => r["spdxId"] as string),
    ...g.suppliers.values(),
  ];
  const sbomId = g.id("sbom");
  g.graph.push({
    type: "software_Sbom",
    spdxId: sbomId,
    creationInfo: CI,
    name: `SBOM of ${name}`,
    rootElement: [rootId],
    element: [...elements].sort(),
    // made by the build (from the image it produced) or by analysis of an image
    software_sbomType: sbom.build ? ["build", "analyzed"] : ["analyzed"],
  });
  g.graph.push({
    type: "SpdxDocument",
    spdxId: g.id("document"),
    creationInfo: CI,
    name: `SBOM of ${name}`,
    rootElement: [sbomId],
    element: [sbomId, agentId, toolId, ...elements].sort(),
    profileConformance: ["core", "software", "simpleLicensing", ...(sbom.build ? ["build"] : [])],
  });
  return `${JSON.stringify({ "@context": SPDX3_CONTEXT, "@graph": g.graph }, null, 2)}\n`;
}
