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

/** SPDX 2.3 element id from a package id. */
function spdxId(id: string): string {
  return `SPDXRef-Package-${id.replace(/[^A-Za-z0-9.-]/g, "-")}`;
}

/** "Person: name (email)" / "Organization: name (email)" or NOASSERTION. */
export function spdxAgent(s: string | undefined): string {
  if (!s) {
    return "NOASSERTION";
  }
  const c = parseContact(s);
  return `${isOrganization(c.name) ? "Organization" : "Person"}: ${c.name}${c.email ? ` (${c.email})` : ""}`;
}

function licenseRefs(expr: string | undefined): string[] {
  return expr ? [...expr.matchAll(/LicenseRef-[A-Za-z0-9.-]+/g)].map((m) => m[0]) : [];
}

function pkg(p: Package): Json {
  return {
    SPDXID: spdxId(p.id),
    name: p.name,
    versionInfo: p.version,
    supplier: spdxAgent(p.supplier),
    ...(p.author ? { originator: spdxAgent(p.author) } : {}),
    downloadLocation: "NOASSERTION",
    filesAnalyzed: false,
    ...(p.checksums.length
      ? { checksums: p.checksums.map((c) => ({ algorithm: c.algorithm, checksumValue: c.value })) }
      : {}),
    sourceInfo: `found by ${p.foundBy} in ${p.locations.map((l) => `${l.path}${l.layer ? ` (layer ${l.layer})` : ""}`).join(", ")}`,
    licenseConcluded: "NOASSERTION",
    licenseDeclared: p.license ?? "NOASSERTION",
    copyrightText: "NOASSERTION",
    externalRefs: [
      { referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: p.purl },
      ...p.cpes.map((c) => ({
        referenceCategory: "SECURITY",
        referenceType: "cpe23Type",
        referenceLocator: c,
        ...(p.properties?.[CPE_SOURCE] === "generated" ? { comment: GENERATED_CPE_COMMENT } : {}),
      })),
    ],
    primaryPackagePurpose: "LIBRARY",
  };
}

/** Renders an SBOM as SPDX 2.3 JSON. Deterministic for the same input. */
export function renderSpdx23(sbom: Sbom): string {
  const name = subjectName(sbom);
  const version = subjectVersion(sbom);
  const rootPurl = imagePurl(sbom);
  const root: Json = {
    SPDXID: "SPDXRef-Subject",
    name,
    ...(version ? { versionInfo: version } : {}),
    supplier: "NOASSERTION",
    downloadLocation: "NOASSERTION",
    filesAnalyzed: false,
    ...(sbom.subject.kind === "image"
      ? {
          checksums: [{ algorithm: "SHA256", checksumValue: sbom.subject.manifestDigest.slice(7) }],
        }
      : {}),
    licenseConcluded: "NOASSERTION",
    licenseDeclared: "NOASSERTION",
    copyrightText: "NOASSERTION",
    ...(rootPurl
      ? {
          externalRefs: [
            {
              referenceCategory: "PACKAGE-MANAGER",
              referenceType: "purl",
              referenceLocator: rootPurl,
            },
          ],
        }
      : {}),
    primaryPackagePurpose: sbom.subject.kind === "image" ? "CONTAINER" : "SOURCE",
  };
  const packages: Json[] = [root];
  const relationships: Json[] = [
    {
      spdxElementId: "SPDXRef-DOCUMENT",
      relationshipType: "DESCRIBES",
      relatedSpdxElement: "SPDXRef-Subject",
    },
  ];
  if (sbom.distro) {
    packages.push({
      SPDXID: "SPDXRef-OperatingSystem",
      name: sbom.distro.id,
      ...(sbom.distro.versionId ? { versionInfo: sbom.distro.versionId } : {}),
      supplier: "NOASSERTION",
      downloadLocation: "NOASSERTION",
      filesAnalyzed: false,
      licenseConcluded: "NOASSERTION",
      licenseDeclared: "NOASSERTION",
      copyrightText: "NOASSERTION",
      ...(sbom.distro.prettyName ? { description: sbom.distro.prettyName } : {}),
      primaryPackagePurpose: "OPERATING_SYSTEM",
    });
    relationships.push({
      spdxElementId: "SPDXRef-Subject",
      relationshipType: "CONTAINS",
      relatedSpdxElement: "SPDXRef-OperatingSystem",
    });
  }
  packages.push(...sbom.packages.map(pkg));
  for (const r of sbom.relationships) {
    relationships.push({
      spdxElementId: r.from === "root" ? "SPDXRef-Subject" : spdxId(r.from),
      relationshipType: r.type === "contains" ? "CONTAINS" : "DEPENDS_ON",
      relatedSpdxElement: spdxId(r.to),
    });
  }
  const refs = [...new Set(sbom.packages.flatMap((p) => licenseRefs(p.license)))].sort();
  const declaredText = new Map<string, string>();
  for (const p of sbom.packages) {
    for (const ref of licenseRefs(p.license)) {
      const raw = p.licenseDeclared.find((d) =>
        ref.endsWith(d.replace(/[^A-Za-z0-9.-]+/g, "-").replace(/^-+|-+$/g, "")),
      );
      if (raw && !declaredText.has(ref)) {
        declaredText.set(ref, raw);
      }
    }
  }
  const body: Json = {
    spdxVersion: "SPDX-2.3",
    dataLicense: "CC0-1.0",
    SPDXID: "SPDXRef-DOCUMENT",
    name,
    documentNamespace: "",
    creationInfo: {
      created: sbom.created,
      creators: [`Tool: ${sbom.tool.name}-${sbom.tool.version}`],
    },
    packages,
    relationships,
    ...(refs.length
      ? {
          hasExtractedLicensingInfos: refs.map((r) => ({
            licenseId: r,
            name: declaredText.get(r) ?? r.slice("LicenseRef-".length),
            extractedText: `The package declares the license "${declaredText.get(r) ?? r.slice("LicenseRef-".length)}", which has no SPDX identifier.`,
          })),
        }
      : {}),
  };
  body["documentNamespace"] =
    `https://spdx.org/spdxdocs/cleanimg-${encodeURIComponent(name.replace(/[^A-Za-z0-9._-]+/g, "-"))}-${stableUuid(JSON.stringify(body))}`;
  return `${JSON.stringify(body, null, 2)}\n`;
}
