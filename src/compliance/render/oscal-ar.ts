import { controlLabel } from "../frameworks.js";
import type { ComplianceReport } from "../mapping.js";
import { uuidOf } from "./uuid.js";

/** OSCAL 1.1.2 assessment results: one result, an observation per evidence type, a finding per mapped control. */
export function renderOscalAssessmentResults(r: ComplianceReport, tool: string): string {
  const key = `${r.image.digest} ${r.framework.id} ${r.generated}`;
  const types = [...new Set(r.controls.flatMap((c) => c.evidence.map((x) => x.type)))].sort();
  const obsUuid = (t: string): string => uuidOf(`${key} observation ${t}`);
  const observations: Record<string, unknown>[] = types.map((t) => {
    const digests = [
      ...new Set(
        r.controls.flatMap((c) => c.evidence.filter((x) => x.type === t).flatMap((x) => x.digests)),
      ),
    ];
    return {
      uuid: obsUuid(t),
      title: `${t} evidence for ${r.image.reference}`,
      description: `Verified ${t} evidence of image ${r.image.digest}, recorded and signed by ${tool}.`,
      methods: ["TEST"],
      types: ["control-objective"],
      collected: r.generated,
      "relevant-evidence": digests.map((d) => ({
        href: `#${d}`,
        description: `evidence ${d} (content-addressed)`,
      })),
    };
  });
  // the verifications the report ran: one observation each, with its result and evidence
  const checkUuid = (id: string): string => uuidOf(`${key} check ${id}`);
  for (const k of r.checks) {
    observations.push({
      uuid: checkUuid(k.id),
      title: `Check ${k.id}: ${k.result}`,
      description: `Verified in this report: ${k.verified}. Result ${k.result}: ${k.detail}`,
      methods: ["TEST"],
      types: ["finding"],
      collected: r.generated,
      "relevant-evidence": k.evidence.length
        ? k.evidence.map((d) => ({
            href: `#${d}`,
            description: `evidence ${d} (content-addressed)`,
          }))
        : [{ description: "no evidence: nothing was found to verify" }],
    });
  }
  const findings = r.controls
    .filter((c) => c.status !== "requires organizational evidence")
    .map((c) => ({
      uuid: uuidOf(`${key} finding ${c.id}`),
      title: `${controlLabel(c.id)} ${c.title}: ${c.status}`,
      description: c.note,
      target: {
        type: "objective-id",
        "target-id": `${c.id}_obj`,
        status: {
          state: c.status === "satisfied (scoped)" ? "satisfied" : "not-satisfied",
          ...(c.status === "partial" ? { reason: "other" } : {}),
        },
        ...(c.status === "partial"
          ? { remarks: "partial: automated evidence supports part of the control" }
          : {}),
      },
      "related-observations": [
        ...c.evidence.map((x) => ({ "observation-uuid": obsUuid(x.type) })),
        ...c.checks.map((id) => ({ "observation-uuid": checkUuid(id) })),
      ],
    }));
  const doc = {
    "assessment-results": {
      uuid: uuidOf(`${key} assessment-results`),
      metadata: {
        title: `${r.framework.name}: automated evidence for ${r.image.reference}`,
        "last-modified": r.generated,
        version: "1",
        "oscal-version": "1.1.2",
        remarks: r.summary.text,
      },
      "import-ap": { href: "#no-assessment-plan" },
      results: [
        {
          uuid: uuidOf(`${key} result`),
          title: `Automated supply-chain evidence, ${r.image.reference} (${r.image.digest})`,
          description: r.summary.text,
          start: r.generated,
          "reviewed-controls": {
            "control-selections": [
              { "include-controls": r.controls.map((c) => ({ "control-id": c.id })) },
            ],
          },
          ...(observations.length ? { observations } : {}),
          ...(findings.length ? { findings } : {}),
        },
      ],
    },
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
