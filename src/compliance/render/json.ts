import type { ComplianceReport } from "../mapping.js";

/** The report as JSON (the `--output compliance-report.json` document), two-space indented. */
export function renderReportJson(r: ComplianceReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}
