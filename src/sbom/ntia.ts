import type { Sbom } from "./model.js";

/** A missing NTIA minimum element, reported as an SBOM quality issue. */
export interface NtiaIssue {
  readonly code:
    | "SBOM_NTIA_SUPPLIER_MISSING"
    | "SBOM_NTIA_VERSION_MISSING"
    | "SBOM_NTIA_IDENTIFIER_MISSING"
    | "SBOM_NTIA_AUTHOR_MISSING"
    | "SBOM_NTIA_TIMESTAMP_MISSING"
    | "SBOM_NTIA_NAME_MISSING";
  readonly message: string;
  readonly package?: string;
}

/**
 * Checks the NTIA minimum elements (2021): per component supplier name, component name,
 * version, a unique identifier (purl or CPE), dependency relationship; per document the author
 * of the SBOM data and a timestamp. Missing elements become issues; nothing is filled in.
 */
export function checkNtiaMinimumElements(sbom: Sbom): NtiaIssue[] {
  const out: NtiaIssue[] = [];
  if (!sbom.created) {
    out.push({ code: "SBOM_NTIA_TIMESTAMP_MISSING", message: "the SBOM has no creation time" });
  }
  if (!sbom.tool.name) {
    out.push({
      code: "SBOM_NTIA_AUTHOR_MISSING",
      message: "the SBOM does not name its author (tool or person)",
    });
  }
  for (const p of sbom.packages) {
    const label = `${p.name}@${p.version}`;
    if (!p.name) {
      out.push({ code: "SBOM_NTIA_NAME_MISSING", message: "a package has no name", package: p.id });
    }
    if (!p.version) {
      out.push({
        code: "SBOM_NTIA_VERSION_MISSING",
        message: `${label} has no version`,
        package: p.id,
      });
    }
    if (!p.supplier && !p.author) {
      out.push({
        code: "SBOM_NTIA_SUPPLIER_MISSING",
        message: `${label} names no supplier`,
        package: p.id,
      });
    }
    if (!p.purl && p.cpes.length === 0) {
      out.push({
        code: "SBOM_NTIA_IDENTIFIER_MISSING",
        message: `${label} has no purl or CPE`,
        package: p.id,
      });
    }
  }
  return out;
}
