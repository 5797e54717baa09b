import { isAbout } from "../attest/index.js";
import type { ChainReport, LinkReport } from "../chain/index.js";
import {
  evidenceTrust,
  recordAuditEvent,
  verifyAuditTrail,
  verifyEvidence,
} from "../chain/index.js";
import {
  buildReport,
  type ComplianceCheck,
  type ComplianceReport,
  chainCheck,
  type EvidenceBundle,
  type EvidenceItem,
  type EvidenceSummary,
  type EvidenceType,
  imageSignatureCheck,
  linkOf,
  policyInputOf,
  type ReportCheck,
  type RiskItem,
  vulnerabilityChecks,
} from "../compliance/index.js";
import type { Digest } from "../core/digest.js";
import { findingKey, keyOfFinding } from "../vex/index.js";
import { BUILDER_ID } from "./build.js";
import { REPRODUCIBLE_PREDICATE } from "./build-evidence.js";
import { resolveFramework } from "./catalog.js";
import type { AppContext } from "./context.js";
import { gatherEvidence } from "./evidence-bundle.js";
import { publishedKeyCheck } from "./image-signature.js";

export const REPORT_MEDIA_TYPE = "application/vnd.cleanimg.compliance-report.v1+json";

/**
 * What an image's verified evidence shows, for reports (stale or broken evidence counts as
 * absent), and the verifications run to show it (`checks`): the chain, the image signature, the
 * published key, the VEX coverage, and with `auditTrail` the whole audit trail. The checks are
 * the compliance checks status runs (src/compliance), over the same evidence bundle.
 */
export async function evidenceSummary(
  ctx: AppContext,
  ref: string,
  /** The image's chain, when the caller has just verified it. */
  chain?: ChainReport,
  opts: { readonly auditTrail?: boolean } = {},
): Promise<EvidenceSummary> {
  const b = await gatherEvidence(ctx, ref, { remediation: true, ...(chain ? { chain } : {}) });
  const digest = b.image.digest;
  const links = b.chain.links;
  const item = (l: LinkReport): EvidenceItem =>
    l.state === "valid"
      ? {
          present: true,
          digests: [l.attestation as string, ...(l.evidence ? [l.evidence] : [])],
          ...(l.logIndex !== undefined ? { logIndex: l.logIndex } : {}),
        }
      : {
          present: false,
          digests: [],
          detail: l.state === "not-recorded" ? "not recorded" : `${l.state}: ${l.reason ?? ""}`,
        };
  const valid = links.filter((l) => l.state === "valid");
  const checks = await reportChecks(ctx, b, opts.auditTrail === true);
  const sig = checks.find((k) => k.id === "image-signature") as ReportCheck;
  const none: EvidenceItem = { present: false, digests: [], detail: "not recorded" };
  const evidence: Record<EvidenceType, EvidenceItem> = {
    PROV: item(linkOf(b, "provenance")),
    SBOM: item(linkOf(b, "sbom")),
    SCAN: item(linkOf(b, "scan")),
    VEX: item(linkOf(b, "vex")),
    POL: item(linkOf(b, "policy")),
    ADM: item(linkOf(b, "deployment")),
    SIG:
      sig.result === "PASS"
        ? { present: true, digests: sig.evidence, detail: sig.detail }
        : { present: false, digests: [], detail: `image signature ${sig.result}: ${sig.detail}` },
    TLOG: valid.length
      ? {
          present: true,
          digests: valid.map((l) => l.attestation as string),
          detail: "every verified link's log inclusion",
        }
      : none,
    ITL: none,
    REPRO: await reproducibility(ctx, digest),
  };
  const snapshot = linkOf(b, "scan").predicate?.inputs["dbSnapshot"];
  return {
    image: { reference: ref, digest },
    evidence,
    vex: { complete: vexComplete(b) },
    risks: riskItems(b),
    ...(snapshot ? { dbSnapshot: snapshot } : {}),
    checks,
  };
}

/** Every finding of the verified scan, with its VEX status and its first signed detection. */
function riskItems(b: EvidenceBundle): RiskItem[] {
  const input = policyInputOf(b, b.image.reference, BUILDER_ID)["image"] as {
    vulnerabilities: {
      id: string;
      package: string;
      version: string;
      purl: string;
      severity: string;
      status: string;
      justification?: string;
    }[];
  };
  const findings = new Map((b.scan?.findings ?? []).map((f) => [keyOfFinding(f), f]));
  // a finding of the verified scan is detected at the latest by that scan's signed time
  const scanned = linkOf(b, "scan").created as string;
  return input.vulnerabilities.map((v) => {
    const k = findingKey(v.id, v.purl);
    const kev = findings.get(k)?.knownExploited;
    return {
      id: v.id,
      package: v.package,
      version: v.version,
      severity: v.severity,
      status: v.status,
      ...(v.justification ? { justification: v.justification } : {}),
      firstDetected: b.remediation?.firstDetected.get(k) ?? scanned,
      ...(kev ? { knownExploited: { dateAdded: kev.dateAdded, dueDate: kev.dueDate } } : {}),
    };
  });
}

/** Each finding of the verified scan has a VEX status and every package was assessed. */
function vexComplete(b: EvidenceBundle): boolean {
  return (
    policyInputOf(b, b.image.reference, BUILDER_ID)["image"] as { vex: { complete: boolean } }
  ).vex.complete;
}

/** The newest reproducibility attestation, counted only when its bundle verifies. */
async function reproducibility(ctx: AppContext, digest: Digest): Promise<EvidenceItem> {
  const repro = await ctx.evidence().find({ subject: digest, kind: "reproducibility" });
  const last = repro[repro.length - 1];
  if (!last) {
    return { present: false, digests: [], detail: "not recorded" };
  }
  try {
    const v = verifyEvidence(
      (await ctx.evidence().getBlob(last.evidence)).bytes,
      await evidenceTrust(ctx),
    );
    const st = v.statement;
    const why =
      st.predicateType !== REPRODUCIBLE_PREDICATE
        ? `is a ${st.predicateType} attestation, not a reproducibility one`
        : !isAbout(st, digest)
          ? "is signed for another image"
          : (st.predicate as { matched?: unknown }).matched !== true
            ? "records a rebuild that did not match"
            : undefined;
    return why
      ? { present: false, digests: [], detail: `the newest reproducibility record ${why}` }
      : { present: true, digests: [last.evidence] };
  } catch (e) {
    return { present: false, digests: [], detail: `does not verify: ${(e as Error).message}` };
  }
}

/** What each check of a report verifies, in words. */
const VERIFIED = {
  chain:
    "every recorded chain link: attestation bytes, signature by a trusted key, transparency-log inclusion, subject, evidence document, previous links; none stale",
  "image-signature":
    "the image signature: its bundle's signature by a trusted key and transparency-log inclusion proof, an image signature of this digest",
  "vex-coverage":
    "each finding of the verified scan has a statement in the verified VEX document, every package assessed",
} as const;

/** The verifications a report runs on the image's evidence (see ReportCheck). */
async function reportChecks(
  ctx: AppContext,
  b: EvidenceBundle,
  auditTrail: boolean,
): Promise<ReportCheck[]> {
  const of = (c: ComplianceCheck): ReportCheck => ({
    id: c.id as keyof typeof VERIFIED,
    verified: VERIFIED[c.id as keyof typeof VERIFIED],
    result: c.result,
    detail: c.detail,
    evidence: c.evidence,
  });
  const vex = vulnerabilityChecks(b).find((c) => c.id === "vex-coverage") as ComplianceCheck;
  const checks: ReportCheck[] = [of(chainCheck(b)), of(imageSignatureCheck(b.signature))];
  const pub = await publishedKeyCheck(ctx, b.image.digest);
  checks.push({
    id: "published-key",
    verified: "the published verification key, alone, verifies the image signature",
    ...pub,
  });
  checks.push(of(vex));
  if (auditTrail) {
    checks.push(await auditTrailCheck(ctx));
  }
  return checks;
}

/** The whole audit trail, verified. */
async function auditTrailCheck(ctx: AppContext): Promise<ReportCheck> {
  const a = await verifyAuditTrail(ctx);
  return {
    id: "audit-trail",
    verified:
      "the whole audit log: dense sequence numbers, each event hash-chained to the one before, each signature by a trusted key",
    result: a.events === 0 ? "UNKNOWN" : a.intact ? "PASS" : "FAIL",
    detail:
      a.events === 0
        ? "the audit log is empty"
        : a.intact
          ? `${a.events} events verified, head ${a.head}`
          : `${a.problems.length} problems: ${a.problems
              .slice(0, 3)
              .map((p) => `event ${p.seq}: ${p.reason}`)
              .join("; ")}`,
    evidence: a.head ? [a.head] : [],
  };
}

/**
 * The compliance report of an image for a framework. With `record` (the default), it is also
 * kept as evidence of the image: the report blob, and its "compliance-report" link made in the
 * same transaction as the audit event that records the write (attributed to `actor`). Without
 * it, the report is computed and nothing is written (the server's GET).
 */
export async function complianceReport(
  ctx: AppContext,
  ref: string,
  framework: string,
  opts: { now?: () => Date; record?: boolean; actor?: string; source?: string } = {},
): Promise<{ report: ComplianceReport; evidence?: Digest }> {
  const fw = await resolveFramework(ctx, framework);
  // the report runs every verification its mappings name, the audit trail's included
  const summary = await evidenceSummary(ctx, ref, undefined, { auditTrail: true });
  const report = buildReport(fw, summary, (opts.now ?? (() => new Date()))().toISOString());
  if (opts.record === false) {
    return { report };
  }
  const subject = summary.image.digest as Digest;
  const d = await ctx
    .evidence()
    .putBlob(new TextEncoder().encode(JSON.stringify(report)), REPORT_MEDIA_TYPE);
  await recordAuditEvent(
    ctx,
    {
      action: "evidence-import",
      subject,
      ...(summary.image.reference !== subject ? { subjectName: summary.image.reference } : {}),
      evidence: { report: d },
      details: { kind: "compliance-report", framework: fw.id, source: opts.source ?? "cli" },
      ...(opts.actor ? { actor: opts.actor } : {}),
    },
    [{ subject, evidence: d, kind: "compliance-report", annotations: { framework: fw.id } }],
  );
  return { report, evidence: d };
}
