import { parseIsoDate } from "../core/dates.js";
import type { RiskItem } from "./mapping.js";

/** Remediation deadlines: FedRAMP's days from first detection, CISA KEV due dates. */

const DAYS: Readonly<Record<string, number>> = { CRITICAL: 30, HIGH: 30, MEDIUM: 90, LOW: 180 };

/** When a finding must be remediated, and by which rule. */
export interface RemediationDeadline {
  readonly dueBy: string;
  /** FedRAMP's timeframe for the severity, in days from first detection. */
  readonly days: number;
  /**
   * "fedramp": first detection + days; "kev": CISA's due date, which is sooner;
   * "kev-unreadable": known exploited, but its due date is not a date, so the FedRAMP timeframe
   * is only the latest the deadline can be.
   */
  readonly rule: "fedramp" | "kev" | "kev-unreadable";
}

/**
 * CISA's KEV due date (YYYY-MM-DD) as the end of that day, UTC, in epoch milliseconds; undefined
 * when it is not a date that exists.
 */
export function kevDueBy(dueDate: string): number | undefined {
  const day = /^\d{4}-\d{2}-\d{2}$/.test(dueDate) ? parseIsoDate(dueDate) : undefined;
  return day === undefined ? undefined : day + 86_400_000 - 1;
}

/**
 * The remediation deadline FedRAMP sets for a finding. FedRAMP's continuous monitoring
 * timeframes: critical and high 30 days from first detection, moderate 90, low 180 (unrated 30).
 * A finding in CISA's Known Exploited Vulnerabilities catalog: FedRAMP's BOD 22-01 guidance
 * (fedramp.gov, 2022-03-08) puts CSPs in the directive's scope, so it is due by the catalog's
 * dueDate (the end of that day, UTC), or by the FedRAMP timeframe when that is sooner.
 */
export function remediationDeadline(
  severity: string,
  firstDetected: string,
  knownExploited?: { readonly dueDate: string },
): RemediationDeadline {
  const days = DAYS[severity] ?? 30;
  const fedramp = Date.parse(firstDetected) + days * 86_400_000;
  const kev = knownExploited ? kevDueBy(knownExploited.dueDate) : undefined;
  return kev !== undefined && kev < fedramp
    ? { dueBy: new Date(kev).toISOString(), days, rule: "kev" }
    : {
        dueBy: new Date(fedramp).toISOString(),
        days,
        rule: knownExploited && kev === undefined ? "kev-unreadable" : "fedramp",
      };
}

export const deadlineText = (x: RiskItem & RemediationDeadline): string =>
  x.rule === "kev"
    ? `CISA KEV due date ${x.knownExploited?.dueDate} (BOD 22-01), sooner than FedRAMP's ${x.days} days from first detection`
    : x.rule === "kev-unreadable"
      ? `known exploited, but CISA's due date "${x.knownExploited?.dueDate}" is not a date: FedRAMP's ${x.days} days from first detection is the latest it can be`
      : `${x.days} days from first detection${x.knownExploited ? ` (known exploited: CISA's due date ${x.knownExploited.dueDate} is later)` : ""}`;
