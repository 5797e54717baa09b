import type { RemediationDeadline } from "./deadlines.js";

/** The evidence-to-control mapping as data (MAPPINGS) and the report's types. */

/** Kinds of evidence a control can rest on. */
export type EvidenceType =
  | "PROV"
  | "SBOM"
  | "SCAN"
  | "VEX"
  | "SIG"
  | "TLOG"
  | "POL"
  | "ADM"
  | "ITL"
  | "REPRO";

export interface Mapping {
  readonly control: string;
  readonly requires: readonly EvidenceType[];
  /** When the evidence covers every technical objective for this image (else partial). */
  readonly satisfiedIf?: (e: EvidenceSummary) => boolean;
  /**
   * The verifications the scope names: "satisfied (scoped)" only when the report ran each of
   * them in this run and each passed (see ReportCheck). A mapping without checks is never
   * satisfied, only partial.
   */
  readonly checks?: readonly ReportCheckId[];
  readonly scope?: string;
}

/** Verifications a report runs itself, on the image's evidence, when it is made. */
export type ReportCheckId =
  | "chain"
  | "image-signature"
  | "published-key"
  | "audit-trail"
  | "vex-coverage";

/** One verification the report ran in this run, with what it verified and the evidence. */
export interface ReportCheck {
  readonly id: ReportCheckId;
  /** What was verified, in words. */
  readonly verified: string;
  /** PASS: verified; FAIL: verification failed; UNKNOWN: nothing to verify, or not run. */
  readonly result: "PASS" | "FAIL" | "UNKNOWN";
  readonly detail: string;
  /** Digests of the evidence the result rests on. */
  readonly evidence: readonly string[];
}

const vexComplete = (e: EvidenceSummary): boolean => e.vex.complete;
const always = (): boolean => true;

export const MAPPINGS: readonly Mapping[] = [
  {
    control: "si-7.6",
    requires: ["SIG", "TLOG"],
    satisfiedIf: always,
    checks: ["image-signature"],
    scope:
      "this image: its signature verified in this report (a trusted key, the transparency-log inclusion proof)",
  },
  {
    control: "sa-10.1",
    requires: ["SIG", "TLOG", "PROV"],
    satisfiedIf: always,
    checks: ["image-signature", "chain"],
    scope:
      "this image: verification material (signature, provenance, log proofs) recorded and verified in this report",
  },
  {
    control: "au-9.3",
    requires: ["SIG", "TLOG"],
    satisfiedIf: always,
    checks: ["audit-trail", "chain"],
    scope:
      "cleanimg's own evidence records: the audit trail's hash chain and signatures, and this image's chain links (signatures, log inclusion), verified in this report",
  },
  {
    control: "sa-15.7",
    requires: ["SCAN", "VEX"],
    satisfiedIf: vexComplete,
    checks: ["vex-coverage"],
    scope:
      "this image: every finding of the verified scan has an exploitability status in the verified VEX document",
  },
  ...(
    [
      ["cm-2", ["PROV", "SBOM"]],
      ["cm-2.2", ["SBOM", "PROV"]],
      ["cm-2.3", ["SBOM", "PROV", "SIG"]],
      ["cm-3", ["PROV", "POL", "ADM"]],
      ["cm-3.1", ["ADM", "POL"]],
      ["cm-4.2", ["POL"]],
      ["cm-5", ["PROV", "SIG"]],
      ["cm-6", ["POL"]],
      ["cm-7", ["SBOM", "POL"]],
      ["cm-7.5", ["POL", "SIG", "ADM"]],
      ["cm-8", ["SBOM"]],
      ["cm-8.1", ["ADM", "SBOM"]],
      ["cm-8.2", ["SBOM"]],
      ["cm-8.3", ["ADM", "SIG"]],
      ["cm-8.4", ["SBOM"]],
      ["cm-10", ["SBOM"]],
      ["cm-14", ["SIG", "POL", "ADM"]],
      ["ra-3.1", ["SBOM", "SCAN"]],
      ["ra-5", ["SCAN"]],
      ["ra-5.2", ["SCAN"]],
      ["ra-5.3", ["SCAN", "ADM"]],
      ["ra-5.5", ["SCAN"]],
      ["ra-7", ["VEX"]],
      ["si-2", ["SCAN"]],
      ["si-2.2", ["SCAN", "ADM"]],
      ["si-2.3", ["SCAN", "ADM"]],
      ["si-5", ["SCAN"]],
      ["si-7", ["SIG", "PROV"]],
      ["si-7.1", ["SIG", "POL", "ADM"]],
      ["si-7.15", ["SIG", "POL", "ADM"]],
      ["sa-10", ["PROV", "SIG"]],
      ["sa-11", ["ITL"]],
      ["sa-11.2", ["SCAN", "VEX"]],
      ["sa-15", ["PROV"]],
      ["sa-22", ["SBOM"]],
      ["sr-3", ["SIG", "PROV", "POL"]],
      ["sr-4", ["PROV", "SBOM"]],
      ["sr-4.1", ["SBOM"]],
      ["sr-4.2", ["TLOG", "ADM", "PROV"]],
      ["sr-4.3", ["SIG", "PROV", "TLOG", "ADM"]],
      ["sr-4.4", ["PROV", "SBOM"]],
      ["sr-5", ["POL"]],
      ["sr-6", ["SBOM"]],
      ["sr-9", ["SIG", "TLOG"]],
      ["sr-10", ["SCAN", "SIG"]],
      ["sr-11", ["SIG", "PROV", "POL"]],
      ["au-2", ["ADM"]],
      ["au-9", ["TLOG"]],
      ["au-10", ["SIG", "TLOG"]],
      ["au-12", ["ADM"]],
      ["sc-13", ["SIG"]],
      ["ia-9", ["SIG"]],
      // NIST SSDF SP 800-218 v1.1 (practices)
      ["po.3", ["PROV", "SBOM", "SCAN", "POL"]],
      ["po.5", ["PROV"]],
      ["ps.3", ["SBOM", "PROV", "SIG"]],
      ["pw.4", ["SCAN", "SIG"]],
      ["rv.1", ["SCAN"]],
      ["rv.2", ["VEX", "SCAN"]],
      // EU CRA Annex I
      ["i-2a", ["SCAN", "VEX"]],
      ["i-2f", ["SIG", "PROV"]],
      ["ii-1", ["SBOM", "SCAN"]],
      ["ii-7", ["SIG", "TLOG"]],
      // ISO/IEC 27001:2022 Annex A
      ["a.8.8", ["SCAN", "VEX"]],
      ["a.8.19", ["ADM", "POL", "SIG"]],
      ["a.8.32", ["PROV", "POL", "ADM"]],
      ["a.8.25", ["PROV", "ITL"]],
      ["a.8.29", ["SCAN", "ITL"]],
      ["a.5.9", ["SBOM", "ADM"]],
      ["a.5.21", ["SBOM", "PROV"]],
      // SOC 2 common criteria
      ["cc6.8", ["ADM", "POL", "SIG"]],
      ["cc7.1", ["SCAN", "SBOM"]],
      ["cc8.1", ["PROV", "POL", "ADM"]],
    ] as const
  ).map(([control, requires]) => ({ control, requires })),
  {
    control: "ps.2",
    requires: ["SIG", "TLOG"],
    satisfiedIf: always,
    checks: ["image-signature", "published-key"],
    scope:
      "this release: signed, the signature in the transparency log, and the published verification key verifies it (checked in this report)",
  },
];

export interface EvidenceItem {
  readonly present: boolean;
  /** Digests of the verified evidence (attestations, documents). */
  readonly digests: readonly string[];
  readonly logIndex?: number;
  readonly detail?: string;
}

export interface RiskItem {
  readonly id: string;
  readonly package: string;
  readonly version: string;
  readonly severity: string;
  readonly status: string;
  readonly justification?: string;
  readonly firstDetected: string;
  /** In CISA's Known Exploited Vulnerabilities catalog: when added, and BOD 22-01's due date. */
  readonly knownExploited?: { readonly dateAdded: string; readonly dueDate: string };
}

/** What an image's verified evidence shows (assembled by `app`). */
export interface EvidenceSummary {
  readonly image: { readonly reference: string; readonly digest: string };
  readonly evidence: Readonly<Record<EvidenceType, EvidenceItem>>;
  readonly vex: { readonly complete: boolean };
  /** Every finding of the current scan with its VEX status and first detection. */
  readonly risks: readonly RiskItem[];
  readonly dbSnapshot?: string;
  /** The verifications run to make this summary (a mapping's checks that are absent did not run). */
  readonly checks: readonly ReportCheck[];
}

export type ControlStatus = "satisfied (scoped)" | "partial" | "requires organizational evidence";

export interface ControlResult {
  readonly id: string;
  readonly title: string;
  readonly family: string;
  readonly status: ControlStatus;
  readonly evidence: readonly {
    readonly type: EvidenceType;
    readonly digests: readonly string[];
  }[];
  /** The report's checks this status rests on (ids in the report's `checks`). */
  readonly checks: readonly ReportCheckId[];
  readonly note: string;
}

export interface ComplianceReport {
  readonly reportVersion: 1;
  readonly framework: {
    readonly id: string;
    readonly name: string;
    readonly controls: number;
    readonly source: string;
  };
  readonly image: { readonly reference: string; readonly digest: string };
  readonly generated: string;
  readonly summary: {
    readonly satisfiedScoped: number;
    readonly partial: number;
    readonly organizational: number;
    readonly text: string;
  };
  readonly controls: readonly ControlResult[];
  /** The verifications this report ran, with their results and evidence. */
  readonly checks: readonly ReportCheck[];
  readonly riskAssessment: readonly RiskItem[];
  readonly remediation: readonly (RiskItem & RemediationDeadline)[];
  readonly dbSnapshot?: string;
}
