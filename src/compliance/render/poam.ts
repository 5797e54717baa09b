import { deadlineText } from "../deadlines.js";
import type { ComplianceReport } from "../mapping.js";
import { uuidOf } from "./uuid.js";

/**
 * OSCAL 1.1.2 plan of action and milestones: one risk per open finding (affected or under
 * investigation) with FedRAMP's deadline from first detection, and one POA&M item for it.
 */
export function renderOscalPoam(r: ComplianceReport, tool: string): string {
  const key = `${r.image.digest} poam ${r.generated}`;
  const risks = r.remediation.map((x) => ({
    uuid: uuidOf(`${key} risk ${x.id} ${x.package}`),
    title: `${x.id} in ${x.package} ${x.version}`,
    description: `${x.id} (${x.severity}) affects ${x.package} ${x.version} in image ${r.image.reference} (${r.image.digest}); VEX status ${x.status}.`,
    statement: `First detected ${x.firstDetected}; FedRAMP requires remediation of ${x.severity.toLowerCase()} findings within ${x.days} days${x.knownExploited ? `; it is in CISA's Known Exploited Vulnerabilities catalog (added ${x.knownExploited.dateAdded}, BOD 22-01 due date ${x.knownExploited.dueDate}), so it is due by the sooner of the two: ${x.dueBy}` : ""}.`,
    status: "open",
    deadline: x.dueBy,
  }));
  const doc = {
    "plan-of-action-and-milestones": {
      uuid: uuidOf(`${key} poam`),
      metadata: {
        title: `Plan of action and milestones: ${r.image.reference}`,
        "last-modified": r.generated,
        version: "1",
        "oscal-version": "1.1.2",
        remarks: `Open vulnerability findings of ${r.image.digest}, from the scan and VEX evidence recorded by ${tool}.`,
      },
      ...(risks.length ? { risks } : {}),
      "poam-items": r.remediation.length
        ? r.remediation.map((x, i) => ({
            uuid: uuidOf(`${key} item ${x.id} ${x.package}`),
            title: `Remediate ${x.id} in ${x.package}`,
            description: `Update or remove ${x.package} ${x.version} before ${x.dueBy} (${x.severity}, ${deadlineText(x)}).`,
            // FedRAMP's POA&M column "Binding Operational Directive 22-01 tracking": Yes or No
            props: [
              {
                name: "binding-operational-directive-22-01-tracking",
                ns: "https://cleanimg.dev/ns/oscal",
                value: x.knownExploited ? "yes" : "no",
              },
            ],
            "related-risks": [{ "risk-uuid": risks[i]?.uuid as string }],
          }))
        : [
            {
              title: "No open findings",
              description: `The scan and VEX evidence of ${r.image.digest} show no affected or uninvestigated finding.`,
            },
          ],
    },
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
