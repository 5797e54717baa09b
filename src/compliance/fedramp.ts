import { keyOfFinding, keyOfStatement } from "../vex/index.js";
import { kevDueBy, remediationDeadline } from "./deadlines.js";
import {
  type CheckResult,
  type ComplianceCheck,
  type EvidenceBundle,
  ev,
  notUsable,
  usable,
} from "./evidence.js";
import { type VulnerabilityView, vulnerabilityView } from "./vulnerabilities.js";

/**
 * The FedRAMP readiness check: SI-2 (flaw remediation) condition by condition, over the
 * verified scan and VEX, with the first detection of each finding from the signed scan links.
 */

/** One condition of SI-2 (flaw remediation) and what the evidence shows of it. */
export interface Si2Condition {
  readonly name: string;
  readonly result: CheckResult;
  readonly detail: string;
}

/** SI-2: the scan verified, on the current database snapshot, every package assessed. */
function scanConditions(b: EvidenceBundle, v: VulnerabilityView): Si2Condition[] {
  const snapshot = v.scan.predicate?.inputs["dbSnapshot"];
  const dbHere = b.remediation?.database;
  return [
    usable(v.scan) && v.findings
      ? { name: "signed scan", result: "PASS", detail: `scan verified (${v.scan.attestation})` }
      : {
          name: "signed scan",
          result: v.scan.state === "not-recorded" ? "UNKNOWN" : "FAIL",
          detail: notUsable(v.scan, "scan"),
        },
    !usable(v.scan) || !snapshot
      ? { name: "current snapshot", result: "UNKNOWN", detail: "no verified scan names a snapshot" }
      : !dbHere || dbHere.records === 0
        ? {
            name: "current snapshot",
            result: "UNKNOWN",
            detail: `scanned on ${snapshot}; no vulnerability database here to tell whether it is current`,
          }
        : dbHere.snapshot === snapshot
          ? {
              name: "current snapshot",
              result: "PASS",
              detail: `scanned on ${snapshot}, the database's current snapshot`,
            }
          : {
              name: "current snapshot",
              result: "FAIL",
              detail: `scanned on ${snapshot}; the database now holds ${dbHere.snapshot}: scan again`,
            },
    !v.findings
      ? { name: "every package assessed", result: "UNKNOWN", detail: "no verified scan" }
      : v.notAssessed > 0
        ? {
            name: "every package assessed",
            result: "UNKNOWN",
            detail: `${v.notAssessed} packages could not be assessed (${v.unassessed.map((u) => `${u.ecosystem} ${u.packages}`).join(", ")})`,
          }
        : { name: "every package assessed", result: "PASS", detail: "every package assessed" },
  ];
}

/** SI-2: every finding has a VEX status; none unresolved past its remediation deadline. */
function findingConditions(b: EvidenceBundle, v: VulnerabilityView): Si2Condition[] {
  const { findings, statements } = v;
  if (!findings || !statements) {
    const detail = !findings ? notUsable(v.scan, "scan") : notUsable(v.vex, "VEX");
    return [
      { name: "every finding has a VEX status", result: "UNKNOWN", detail },
      { name: "remediation deadlines", result: "UNKNOWN", detail },
    ];
  }
  const status = new Map(statements.map((x) => [keyOfStatement(x), x]));
  const missing = findings.filter((f) => !status.has(keyOfFinding(f)));
  const unresolved = findings.filter((f) => {
    const st = status.get(keyOfFinding(f))?.status;
    return st !== "not_affected" && st !== "fixed";
  });
  const first = b.remediation?.firstDetected ?? new Map<string, string>();
  const dated = unresolved
    .filter((f) => f.rating?.severity !== "NONE")
    .map((f) => {
      const detected = first.get(keyOfFinding(f));
      // FedRAMP's timeframe from first detection, or CISA's KEV due date when sooner (and a
      // known exploited finding is due by that date even with no signed first detection); a KEV
      // due date that is not a date leaves the deadline unknown (it may be sooner than FedRAMP's)
      const kev = f.knownExploited ? kevDueBy(f.knownExploited.dueDate) : undefined;
      if (f.knownExploited && kev === undefined) {
        return {
          f,
          why: `${f.id} is known exploited, but CISA's due date "${f.knownExploited.dueDate}" is not a date`,
        };
      }
      const due = detected
        ? Date.parse(
            remediationDeadline(f.rating?.severity ?? "", detected, f.knownExploited).dueBy,
          )
        : kev;
      return due === undefined || Number.isNaN(due)
        ? { f, why: `${f.id} has no signed first detection` }
        : { f, due: new Date(due) };
    });
  const undated = dated.filter((d) => !d.due);
  const overdue = dated.filter((d) => d.due && d.due.getTime() < b.now.getTime());
  const next = dated
    .flatMap((d) => (d.due ? [d.due.toISOString()] : []))
    .sort()
    .at(0);
  return [
    missing.length > 0
      ? {
          name: "every finding has a VEX status",
          result: "FAIL",
          detail: `${missing.length} of ${findings.length} findings have none (first: ${missing[0]?.id})`,
        }
      : {
          name: "every finding has a VEX status",
          result: "PASS",
          detail: `${findings.length} findings, each with a VEX status`,
        },
    overdue.length > 0
      ? {
          name: "remediation deadlines",
          result: "FAIL",
          detail: `${overdue.length} unresolved past the deadline: ${overdue
            .slice(0, 5)
            .map(
              (d) =>
                `${d.f.id} (${d.f.rating?.severity ?? "unrated"}${d.f.knownExploited ? ", known exploited (CISA KEV)" : ""}, due ${d.due?.toISOString()})`,
            )
            .join(", ")}`,
        }
      : undated.length > 0
        ? {
            name: "remediation deadlines",
            result: "UNKNOWN",
            detail: `the deadline of ${undated.length} unresolved findings cannot be told (first: ${undated[0]?.why})`,
          }
        : {
            name: "remediation deadlines",
            result: "PASS",
            detail:
              dated.length === 0
                ? "no unresolved finding"
                : `${dated.length} unresolved, none past its deadline (next due ${next})`,
          },
  ];
}

/**
 * FedRAMP ready, SI-2 (flaw remediation) from the evidence: a verified scan on the database's
 * current snapshot, every package assessed, every finding with a VEX status, and no unresolved
 * finding past FedRAMP's deadline from first detection (critical and high 30 days, moderate 90,
 * low 180; unrated 30; a known exploited finding by CISA's KEV due date when sooner). FAIL when one fails, UNKNOWN when one cannot be shown, PASS only when each
 * is shown by verified evidence. The organizational parts of SI-2 are not automated: the detail
 * says so.
 */
export function fedrampReadyCheck(b: EvidenceBundle): ComplianceCheck {
  const v = vulnerabilityView(b);
  const conditions = [...scanConditions(b, v), ...findingConditions(b, v)];
  const result: CheckResult = conditions.some((c) => c.result === "FAIL")
    ? "FAIL"
    : conditions.some((c) => c.result === "UNKNOWN")
      ? "UNKNOWN"
      : "PASS";
  return {
    id: "fedramp-ready",
    title: "FedRAMP ready (SI-2 flaw remediation, from the evidence)",
    result,
    detail: `${conditions.map((c) => `${c.result} ${c.name}: ${c.detail}`).join("; ")}; SI-2's organizational parts (the flaw remediation process, testing updates before install) need organizational evidence`,
    evidence: ev(v.scan, v.vex),
  };
}
