import { parseIsoDate } from "../../core/dates.js";
import type { Issue } from "../../core/issues.js";
import type { OsvRecord } from "../osv.js";
import type { VulnSource } from "./source.js";

/** The source name of CISA's Known Exploited Vulnerabilities catalog. */
export const KEV_SOURCE = "cisa:kev";

/** What a finding carries from the KEV catalog (kept in the record's database_specific.kev). */
export interface KevEntry {
  readonly cveID: string;
  readonly dateAdded: string;
  /** BOD 22-01's remediation due date (YYYY-MM-DD). */
  readonly dueDate: string;
  readonly requiredAction?: string;
  readonly knownRansomwareCampaignUse?: string;
  readonly vendorProject?: string;
  readonly product?: string;
  readonly catalogVersion?: string;
}

/** The catalog as CISA publishes it (known_exploited_vulnerabilities.json). */
function isKevCatalog(o: Record<string, unknown>): boolean {
  return (
    typeof o["catalogVersion"] === "string" &&
    Array.isArray(o["vulnerabilities"]) &&
    (o["vulnerabilities"] as unknown[]).every(
      (v) =>
        typeof v === "object" &&
        v !== null &&
        typeof (v as Record<string, unknown>)["cveID"] === "string",
    )
  );
}

/** A date as KEV writes them (YYYY-MM-DD) that exists on the calendar. */
const isCalendarDate = (s: string): boolean =>
  /^\d{4}-\d{2}-\d{2}$/.test(s) && parseIsoDate(s) !== undefined;

/**
 * CISA's KEV catalog as records, one per CVE, with no affected packages (KEV names products,
 * not package versions): findings are marked from it by CVE id or alias. dateAdded is the
 * record's published and modified time; the catalog's version and release time are kept.
 */
export function kevToRecords(
  o: Record<string, unknown>,
  where: string,
  issues: Issue[],
): OsvRecord[] {
  const catalogVersion = String(o["catalogVersion"]);
  const out: OsvRecord[] = [];
  for (const v of o["vulnerabilities"] as Record<string, unknown>[]) {
    const id = String(v["cveID"]);
    const dateAdded = typeof v["dateAdded"] === "string" ? v["dateAdded"] : "";
    const dueDate = typeof v["dueDate"] === "string" ? v["dueDate"] : "";
    if (!isCalendarDate(dueDate) || !isCalendarDate(dateAdded)) {
      issues.push({
        code: "VULN_RECORD_UNKNOWN",
        message: `KEV entry ${id} has no dateAdded or dueDate that is a date (YYYY-MM-DD, one that exists); skipped`,
        path: where,
      });
      continue;
    }
    const kev: KevEntry = {
      cveID: id,
      dateAdded,
      dueDate,
      ...(typeof v["requiredAction"] === "string" ? { requiredAction: v["requiredAction"] } : {}),
      ...(typeof v["knownRansomwareCampaignUse"] === "string"
        ? { knownRansomwareCampaignUse: v["knownRansomwareCampaignUse"] }
        : {}),
      ...(typeof v["vendorProject"] === "string" ? { vendorProject: v["vendorProject"] } : {}),
      ...(typeof v["product"] === "string" ? { product: v["product"] } : {}),
      catalogVersion,
    };
    out.push({
      id,
      published: `${dateAdded}T00:00:00Z`,
      modified: `${dateAdded}T00:00:00Z`,
      ...(typeof v["vulnerabilityName"] === "string" ? { summary: v["vulnerabilityName"] } : {}),
      ...(typeof v["shortDescription"] === "string" ? { details: v["shortDescription"] } : {}),
      database_specific: {
        kev,
        ...(typeof o["dateReleased"] === "string" ? { catalogReleased: o["dateReleased"] } : {}),
      },
    });
  }
  return out;
}

/** CISA's KEV catalog (one object per file). */
export const kevSource: VulnSource = {
  id: "kev",
  what: "CISA's KEV catalog",
  sniff: (o, count) => count === 1 && isKevCatalog(o),
  toRecords: (objects, where, issues) =>
    new Map([[KEV_SOURCE, objects.flatMap((o) => kevToRecords(o, where, issues))]]),
};
