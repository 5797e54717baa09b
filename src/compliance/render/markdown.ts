import { deadlineText } from "../deadlines.js";
import { controlLabel } from "../frameworks.js";
import type { ComplianceReport } from "../mapping.js";

/** Markdown for people. */
export function renderReportMarkdown(r: ComplianceReport): string {
  const lines = [
    `# ${r.framework.name}: ${r.image.reference}`,
    "",
    `Image \`${r.image.digest}\`, generated ${r.generated}.`,
    "",
    r.summary.text,
    "",
    "| Control | Title | Status | Evidence |",
    "| --- | --- | --- | --- |",
    ...r.controls
      .filter((c) => c.status !== "requires organizational evidence")
      .map(
        (c) =>
          `| ${controlLabel(c.id)} | ${c.title} | ${c.status} | ${c.evidence.map((x) => `${x.type} ${x.digests.map((d) => `\`${d.slice(0, 19)}…\``).join(" ")}`).join("; ")} |`,
      ),
    "",
    `${r.summary.organizational} further controls require organizational evidence.`,
    "",
    "## Checks run by this report",
    "",
    "| Check | Verified | Result | Detail | Evidence |",
    "| --- | --- | --- | --- | --- |",
    ...r.checks.map(
      (k) =>
        `| ${k.id} | ${k.verified} | ${k.result} | ${k.detail.replace(/\|/g, "\\|")} | ${k.evidence.map((d) => `\`${d}\``).join(" ")} |`,
    ),
    "",
    "## Remediation timeline (FedRAMP: critical and high 30 days, moderate 90, low 180; known exploited: CISA's KEV due date when sooner)",
    "",
    ...(r.remediation.length
      ? r.remediation.map(
          (x) =>
            `- ${x.id} in ${x.package} ${x.version} (${x.severity}, ${x.status}${x.knownExploited ? ", known exploited (CISA KEV)" : ""}): first detected ${x.firstDetected}, due ${x.dueBy} (${deadlineText(x)})`,
        )
      : ["- nothing open"]),
    "",
  ];
  return lines.join("\n");
}
