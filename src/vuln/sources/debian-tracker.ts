import type { OsvRecord } from "../osv.js";
import { DEBIAN_RELEASES } from "../osv.js";
import type { VulnSource } from "./source.js";

interface TrackerRelease {
  readonly status?: string;
  readonly fixed_version?: string;
  readonly urgency?: string;
  readonly nodsa?: string;
  readonly nodsa_reason?: string;
}

interface TrackerIssue {
  readonly description?: string;
  readonly scope?: string;
  readonly debianbug?: number;
  readonly releases?: Readonly<Record<string, TrackerRelease>>;
}

/** The tracker's JSON: source package -> issue id (CVE-…, TEMP-…) -> per-release state. */
function isDebianTracker(o: Record<string, unknown>): boolean {
  const first = Object.values(o)[0];
  if (!first || typeof first !== "object" || Array.isArray(first)) {
    return false;
  }
  const issue = Object.values(first as Record<string, unknown>)[0];
  return !!issue && typeof issue === "object" && "releases" in (issue as Record<string, unknown>);
}

/**
 * The Debian security tracker's JSON (security-tracker.debian.org/tracker/data/json) as
 * OSV-shaped records, one per issue id, with an affected entry per (source package, release):
 *   resolved with a fixed version -> fixed in it; resolved with fixed version "0" -> not affected;
 *   open -> unfixed, or no-dsa / ignored / postponed when the tracker says no DSA will be issued,
 *   or end-of-life when the release is no longer supported for that package;
 *   undetermined -> undetermined (the match is "unknown", never "not affected").
 * The tracker's urgency is kept; sid (unstable) has no release number and is left out.
 */
export function debianTrackerToOsv(
  doc: Readonly<Record<string, Readonly<Record<string, TrackerIssue>>>>,
): OsvRecord[] {
  const byId = new Map<
    string,
    { summary?: string; affected: NonNullable<OsvRecord["affected"]>[number][] }
  >();
  for (const [pkg, issues] of Object.entries(doc)) {
    for (const [id, issue] of Object.entries(issues ?? {})) {
      if (!/^(CVE|TEMP)-/.test(id)) {
        continue;
      }
      const rec = byId.get(id) ?? { affected: [] };
      if (!rec.summary && issue.description) {
        rec.summary = issue.description;
      }
      for (const [codename, r] of Object.entries(issue.releases ?? {})) {
        const release = DEBIAN_RELEASES[codename];
        if (!release) {
          continue;
        }
        const common = {
          release: codename,
          ...(r.urgency ? { urgency: r.urgency } : {}),
          ...(issue.scope ? { scope: issue.scope } : {}),
          ...(issue.debianbug ? { debianbug: issue.debianbug } : {}),
          ...(r.nodsa ? { nodsa: r.nodsa } : {}),
        };
        const fixed = r.fixed_version;
        let entry: NonNullable<OsvRecord["affected"]>[number];
        const pkgRef = { ecosystem: `Debian:${release}`, name: pkg };
        if (r.status === "resolved" && fixed === "0") {
          entry = { package: pkgRef, database_specific: { ...common, status: "not-affected" } };
        } else if (r.status === "resolved" && fixed) {
          entry = {
            package: pkgRef,
            ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed }] }],
            database_specific: common,
          };
        } else if (r.status === "open") {
          const status =
            r.urgency === "end-of-life"
              ? "end-of-life"
              : r.nodsa !== undefined
                ? r.nodsa_reason || "no-dsa"
                : "unfixed";
          entry = { package: pkgRef, database_specific: { ...common, status } };
        } else {
          entry = { package: pkgRef, database_specific: { ...common, status: "undetermined" } };
        }
        rec.affected.push(entry);
      }
      byId.set(id, rec);
    }
  }
  return [...byId.entries()]
    .filter(([, r]) => r.affected.length > 0)
    .map(([id, r]) => ({
      id,
      ...(r.summary ? { summary: r.summary } : {}),
      affected: r.affected,
      database_specific: { source: "debian-security-tracker" },
    }));
}

/** The security tracker's whole JSON document (one object per file). */
export const debianTrackerSource: VulnSource = {
  id: "debian-tracker",
  what: "the Debian security tracker JSON",
  sniff: (o, count) => count === 1 && isDebianTracker(o),
  toRecords: (objects) =>
    new Map([
      [
        "debian:tracker",
        objects.flatMap((o) =>
          debianTrackerToOsv(o as Record<string, Record<string, TrackerIssue>>),
        ),
      ],
    ]),
};
