import { remediationDeadline } from "./deadlines.js";
import type { Framework } from "./frameworks.js";
import {
  type ComplianceReport,
  type ControlResult,
  type ControlStatus,
  type EvidenceSummary,
  MAPPINGS,
} from "./mapping.js";

/**
 * Compliance reports: every control of a baseline with a status that the evidence supports, and
 * nothing more. "satisfied (scoped)" only where the image's verified evidence covers every
 * technical objective of the control for this image (the scope is printed); "partial" where it
 * supports the control; every other control "requires organizational evidence". The mapping is
 * data (MAPPINGS, documented in docs/compliance.md), from ../shared/research/compliance-mapping.md.
 */

/** Builds the report of one image against one framework's baseline. */
export function buildReport(
  fw: Framework,
  e: EvidenceSummary,
  generated: string,
): ComplianceReport {
  const rows = fw.controls;
  const mapped = new Map(MAPPINGS.map((m) => [m.control, m]));
  const results = rows.map((c): ControlResult => {
    const m = mapped.get(c.id);
    const base = { id: c.id, title: c.title, family: c.family };
    if (!m) {
      return {
        ...base,
        status: "requires organizational evidence",
        evidence: [],
        checks: [],
        note: "no automated evidence maps to this control",
      };
    }
    const have = m.requires.filter((t) => e.evidence[t].present);
    const missing = m.requires.filter((t) => !e.evidence[t].present);
    const cited = have.map((t) => ({ type: t, digests: e.evidence[t].digests }));
    if (have.length === 0) {
      return {
        ...base,
        status: "requires organizational evidence",
        evidence: [],
        checks: [],
        note: `automated evidence would need ${m.requires.join(", ")}; none is recorded for this image`,
      };
    }
    const needed = m.checks ?? [];
    const failed = needed.flatMap((id) => {
      const k = e.checks.find((x) => x.id === id);
      return !k
        ? [`the ${id} check was not run in this report`]
        : k.result !== "PASS"
          ? [`${id} ${k.result}: ${k.detail}`]
          : [];
    });
    const ran = needed.filter((id) => e.checks.some((x) => x.id === id));
    if (missing.length === 0 && needed.length > 0 && failed.length === 0 && m.satisfiedIf?.(e)) {
      return {
        ...base,
        status: "satisfied (scoped)",
        evidence: cited,
        checks: ran,
        note: `scope: ${m.scope ?? "this image"}; verified in this report: ${needed.join(", ")}`,
      };
    }
    const why = m.satisfiedIf
      ? failed.length
        ? `not satisfied within its scope (${m.scope ?? "this image"}): ${failed.join("; ")}; `
        : missing.length === 0 && !m.satisfiedIf(e)
          ? `not satisfied within its scope (${m.scope ?? "this image"}); `
          : ""
      : "";
    return {
      ...base,
      status: "partial",
      evidence: cited,
      checks: ran,
      note: `${missing.length ? `missing automated evidence: ${missing.join(", ")}; ` : ""}${why}organizational evidence is needed for the rest of the control`,
    };
  });
  const count = (s: ControlStatus): number => results.filter((r) => r.status === s).length;
  const satisfiedScoped = count("satisfied (scoped)");
  const partial = count("partial");
  const organizational = count("requires organizational evidence");
  const remediation = e.risks
    .filter((r) => r.status === "affected" || r.status === "under_investigation")
    .map((r) => ({ ...r, ...remediationDeadline(r.severity, r.firstDetected, r.knownExploited) }))
    .sort((a, b) => (a.dueBy < b.dueBy ? -1 : a.dueBy > b.dueBy ? 1 : 0));
  return {
    reportVersion: 1,
    framework: { id: fw.id, name: fw.name, controls: rows.length, source: fw.source },
    image: e.image,
    generated,
    summary: {
      satisfiedScoped,
      partial,
      organizational,
      text: `${fw.name}, ${rows.length} controls: ${satisfiedScoped + partial} with automated evidence (${satisfiedScoped} satisfied within the stated scope, ${partial} partial); ${organizational} require organizational evidence. Not a compliance determination: an assessor decides.`,
    },
    controls: results,
    checks: e.checks,
    riskAssessment: e.risks,
    remediation,
    ...(e.dbSnapshot ? { dbSnapshot: e.dbSnapshot } : {}),
  };
}
