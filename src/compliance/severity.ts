import { UsageError } from "../core/errors.js";
import type { VexStatement } from "../vex/index.js";
import { keyOfFinding, keyOfStatement } from "../vex/index.js";
import type { Finding } from "../vuln/index.js";

export const SEVERITIES = ["NONE", "LOW", "MEDIUM", "HIGH", "CRITICAL"] as const;

/** What --fail-on takes: a severity, or "KEV" (known exploited, whatever the severity). */
export type FailOn = (typeof SEVERITIES)[number] | "KEV";

/** Parses --fail-on: low, medium, high, critical, or kev. @throws UsageError CLI_USAGE */
export function parseSeverity(s: string): FailOn {
  const up = s.toUpperCase();
  if ((SEVERITIES as readonly string[]).includes(up) || up === "KEV") {
    return up as FailOn;
  }
  throw new UsageError("CLI_USAGE", `unknown severity "${s}"`, {
    hint: "one of low, medium, high, critical, or kev (in CISA's Known Exploited Vulnerabilities catalog)",
  });
}

/**
 * Findings at or above a severity that VEX does not resolve: a finding whose statement is
 * not_affected (with its evidence) or fixed does not count; every other one does, and a finding
 * with no rating counts too (unknown is not "low").
 */
export function findingsAtOrAbove(
  findings: readonly Finding[],
  /** A severity, or "KEV": the findings CISA's catalog lists as known exploited. */
  min: FailOn,
  vex: readonly VexStatement[] = [],
): Finding[] {
  const rank = (s: string | undefined): number =>
    s === undefined ? SEVERITIES.length : SEVERITIES.indexOf(s as (typeof SEVERITIES)[number]);
  const resolved = new Set(
    vex
      .filter((v) => v.status === "not_affected" || v.status === "fixed")
      .map((v) => keyOfStatement(v)),
  );
  return findings.filter(
    (f) =>
      (min === "KEV"
        ? f.knownExploited !== undefined
        : rank(f.rating?.severity) >= SEVERITIES.indexOf(min)) && !resolved.has(keyOfFinding(f)),
  );
}
