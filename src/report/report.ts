import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseIsoDate } from "../core/dates.js";
import { UsageError } from "../core/errors.js";

/**
 * Compliance reports: every control of a baseline with a status that the evidence supports, and
 * nothing more. "satisfied (scoped)" only where the image's verified evidence covers every
 * technical objective of the control for this image (the scope is printed); "partial" where it
 * supports the control; every other control "requires organizational evidence". The mapping is
 * data (MAPPINGS, documented in docs/compliance.md), from ../shared/research/compliance-mapping.md.
 */

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

const BASELINES: Readonly<Record<string, { baseline: string; name: string }>> = {
  "fedramp-high": { baseline: "FedRAMP-HIGH", name: "FedRAMP Rev5 High" },
  "fedramp-moderate": { baseline: "FedRAMP-MODERATE", name: "FedRAMP Rev5 Moderate" },
  "fedramp-low": { baseline: "FedRAMP-LOW", name: "FedRAMP Rev5 Low" },
  "nist-800-53": { baseline: "NIST-HIGH", name: "NIST SP 800-53 Rev5 (800-53B High baseline)" },
  "nist-800-53-moderate": {
    baseline: "NIST-MODERATE",
    name: "NIST SP 800-53 Rev5 (800-53B Moderate baseline)",
  },
  "nist-800-53-low": { baseline: "NIST-LOW", name: "NIST SP 800-53 Rev5 (800-53B Low baseline)" },
};
const OTHERS = ["ssdf", "eu-cra", "iso27001", "soc2"];
export const REPORT_FRAMEWORKS = [...Object.keys(BASELINES), ...OTHERS];

/** A framework: its controls, from the shipped data or an imported OSCAL catalog. */
export interface Framework {
  readonly id: string;
  readonly name: string;
  readonly controls: readonly {
    readonly id: string;
    readonly title: string;
    readonly family: string;
  }[];
  /** Where the control list comes from. */
  readonly source: string;
}

interface ControlRow {
  id: string;
  title: string;
  family: string;
  baselines: string[];
}
const dataFile = (name: string): string =>
  fileURLToPath(new URL(`../../data/${name}`, import.meta.url));
let controlData: ControlRow[] | undefined;
function controls(): ControlRow[] {
  controlData ??= (
    JSON.parse(readFileSync(dataFile("nist-800-53-rev5-baselines.json"), "utf8")) as {
      controls: ControlRow[];
    }
  ).controls;
  return controlData;
}

/** Titles of NIST SP 800-53 rev5 controls in any baseline (for profiles imported by id). */
export function nistControlTitle(id: string): { title: string; family: string } | undefined {
  const c = controls().find((x) => x.id === id);
  return c ? { title: c.title, family: c.family } : undefined;
}

/** A shipped framework by id. @throws UsageError when there is none */
export function builtinFramework(id: string): Framework {
  const b = BASELINES[id];
  if (b) {
    return {
      id,
      name: b.name,
      controls: controls().filter((c) => c.baselines.includes(b.baseline)),
      source: "NIST/FedRAMP OSCAL baselines (data/nist-800-53-rev5-baselines.json)",
    };
  }
  if (OTHERS.includes(id)) {
    const f = (
      JSON.parse(readFileSync(dataFile("frameworks.json"), "utf8")) as {
        frameworks: Record<string, { name: string; controls: Framework["controls"] }>;
      }
    ).frameworks[id];
    if (f) {
      return { id, name: f.name, controls: f.controls, source: "data/frameworks.json" };
    }
  }
  throw new UsageError("CLI_USAGE", `no report for framework "${id}" in this version`, {
    hint: `one of ${REPORT_FRAMEWORKS.join(", ")} (fedramp = fedramp-high), or a catalog imported with cleanimg-init catalog import`,
  });
}

/** Parses a framework name; `fedramp` alone (the design's form) is FedRAMP High. */
export function parseFramework(s: string): string {
  return s === "fedramp" ? "fedramp-high" : s;
}

/** Displays a control id as its framework writes it (ac-2.1 -> AC-2(1), i-2a -> I.2(a)). */
export function controlLabel(id: string): string {
  if (/^[a-z]{2}-\d+(\.\d+)?$/.test(id)) {
    const [base, enh] = id.split(".");
    return `${(base ?? "").toUpperCase()}${enh ? `(${enh})` : ""}`;
  }
  const cra = /^(i|ii)-(\d+)([a-z])?$/.exec(id);
  if (cra) {
    return `${(cra[1] as string).toUpperCase()}.${cra[2]}${cra[3] ? `(${cra[3]})` : ""}`;
  }
  return id.toUpperCase();
}

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

const deadlineText = (x: RiskItem & RemediationDeadline): string =>
  x.rule === "kev"
    ? `CISA KEV due date ${x.knownExploited?.dueDate} (BOD 22-01), sooner than FedRAMP's ${x.days} days from first detection`
    : x.rule === "kev-unreadable"
      ? `known exploited, but CISA's due date "${x.knownExploited?.dueDate}" is not a date: FedRAMP's ${x.days} days from first detection is the latest it can be`
      : `${x.days} days from first detection${x.knownExploited ? ` (known exploited: CISA's due date ${x.knownExploited.dueDate} is later)` : ""}`;

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

/** A deterministic UUID (v5-shaped) from a name, so reports of the same inputs are identical. */
function uuidOf(name: string): string {
  const h = createHash("sha256").update(name).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((Number.parseInt(h.slice(16, 17), 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

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

const esc = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** One self-contained HTML page an assessor can read offline: summary, charts, controls, findings, evidence. */
export function renderReportHtml(r: ComplianceReport): string {
  const bar = (parts: { label: string; n: number; color: string }[], total: number): string => {
    let x = 0;
    const w = 600;
    const rects = parts
      .map((p) => {
        const width = total ? (p.n / total) * w : 0;
        const rect = `<rect x="${x.toFixed(1)}" y="0" width="${width.toFixed(1)}" height="28" fill="${p.color}"><title>${esc(p.label)}: ${p.n}</title></rect>`;
        x += width;
        return rect;
      })
      .join("");
    const legend = parts
      .map(
        (p) =>
          `<span class="key"><i style="background:${p.color}"></i>${esc(p.label)} ${p.n}</span>`,
      )
      .join(" ");
    return `<svg width="${w}" height="28" role="img" aria-label="${esc(parts.map((p) => `${p.label} ${p.n}`).join(", "))}">${rects}</svg><div>${legend}</div>`;
  };
  const sev = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"];
  const colors: Record<string, string> = {
    CRITICAL: "#7b1fa2",
    HIGH: "#c62828",
    MEDIUM: "#ef6c00",
    LOW: "#f9a825",
    UNKNOWN: "#9e9e9e",
  };
  const digests = [
    ...new Set(
      r.controls.flatMap((c) => c.evidence.flatMap((e) => e.digests.map((d) => `${e.type} ${d}`))),
    ),
  ].sort();
  const automated = r.controls.filter((c) => c.status !== "requires organizational evidence");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(r.framework.name)}: ${esc(r.image.reference)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#1b1b1b;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
.meta{color:#555} .summary{background:#f3f6fa;border-left:4px solid #1565c0;padding:.8rem 1rem;margin:1rem 0}
table{border-collapse:collapse;width:100%} th,td{border-bottom:1px solid #e3e3e3;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#fafafa} code{font-size:12px;word-break:break-all} .key{margin-right:1rem;white-space:nowrap}
.key i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-1px}
.s-satisfied{color:#2e7d32;font-weight:600} .s-partial{color:#ef6c00;font-weight:600}
</style></head><body>
<h1>${esc(r.framework.name)}</h1>
<div class="meta">Image <b>${esc(r.image.reference)}</b> <code>${esc(r.image.digest)}</code> · generated ${esc(r.generated)}${r.dbSnapshot ? ` · vulnerability data <code>${esc(r.dbSnapshot)}</code>` : ""}</div>
<p class="summary">${esc(r.summary.text)}</p>
<h2>Control posture (${r.framework.controls} controls)</h2>
${bar(
  [
    { label: "satisfied (scoped)", n: r.summary.satisfiedScoped, color: "#2e7d32" },
    { label: "partial", n: r.summary.partial, color: "#ef6c00" },
    { label: "requires organizational evidence", n: r.summary.organizational, color: "#b0bec5" },
  ],
  r.framework.controls,
)}
<h2>Findings by severity (${r.riskAssessment.length}; ${r.remediation.length} open)</h2>
${bar(
  sev.map((s) => ({
    label: s.toLowerCase(),
    n: r.riskAssessment.filter((x) => x.severity === s).length,
    color: colors[s] as string,
  })),
  r.riskAssessment.length,
)}
<h2>Controls with automated evidence (${automated.length})</h2>
<table><thead><tr><th>Control</th><th>Title</th><th>Status</th><th>Evidence</th><th>Note</th></tr></thead><tbody>
${automated
  .map(
    (c) =>
      `<tr><td>${esc(controlLabel(c.id))}</td><td>${esc(c.title)}</td><td class="${c.status === "partial" ? "s-partial" : "s-satisfied"}">${esc(c.status)}</td><td>${c.evidence
        .map(
          (e) =>
            `${e.type} ${e.digests.map((d) => `<a href="#${esc(d)}"><code>${esc(d.slice(7, 19))}</code></a>`).join(" ")}`,
        )
        .join("<br>")}</td><td>${esc(c.note)}</td></tr>`,
  )
  .join("\n")}
</tbody></table>
<p>${r.summary.organizational} further controls require organizational evidence.</p>
<h2>Checks run by this report (${r.checks.length})</h2>
<table><thead><tr><th>Check</th><th>Verified</th><th>Result</th><th>Detail</th><th>Evidence</th></tr></thead><tbody>
${r.checks
  .map(
    (k) =>
      `<tr><td>${esc(k.id)}</td><td>${esc(k.verified)}</td><td class="${k.result === "PASS" ? "s-satisfied" : "s-partial"}">${esc(k.result)}</td><td>${esc(k.detail)}</td><td>${k.evidence.map((d) => `<code>${esc(d)}</code>`).join("<br>")}</td></tr>`,
  )
  .join("\n")}
</tbody></table>
<h2>Vulnerability risk assessment and remediation</h2>
<table><thead><tr><th>Finding</th><th>Package</th><th>Severity</th><th>VEX status</th><th>First detected</th><th>Due (FedRAMP)</th></tr></thead><tbody>
${r.riskAssessment
  .map((x) => {
    const open = r.remediation.find((y) => y.id === x.id && y.package === x.package);
    return `<tr><td>${esc(x.id)}</td><td>${esc(x.package)} ${esc(x.version)}</td><td>${esc(x.severity)}</td><td>${esc(x.status)}${x.justification ? ` (${esc(x.justification)})` : ""}</td><td>${esc(x.firstDetected)}</td><td>${open ? esc(open.dueBy) : "-"}</td></tr>`;
  })
  .join("\n")}
</tbody></table>
<h2>Evidence</h2>
<p>Content-addressed records in the evidence store; each can be fetched, re-hashed and its signature verified.</p>
<ul>${digests
    .map((t) => {
      const [type, d] = t.split(" ") as [string, string];
      return `<li id="${esc(d)}">${esc(type)} <code>${esc(d)}</code></li>`;
    })
    .join("")}</ul>
</body></html>
`;
}
