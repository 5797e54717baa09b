import type { ChainReport, LinkReport } from "../chain/index.js";
import {
  evidenceTrust,
  recordAuditEvent,
  verifyAuditTrail,
  verifyEvidence,
} from "../chain/index.js";
import type { Digest } from "../core/digest.js";
import {
  buildReport,
  type ComplianceReport,
  type EvidenceItem,
  type EvidenceSummary,
  type EvidenceType,
  type ReportCheck,
  type RiskItem,
} from "../report/index.js";
import { findingKey, keyOfFinding } from "../vex/index.js";
import { resolveFramework } from "./catalog.js";
import type { AppContext } from "./context.js";
import { imageSignatureCheck, publishedKeyCheck } from "./image-signature.js";
import { policyInput } from "./policy.js";

export const REPORT_MEDIA_TYPE = "application/vnd.cleanimg.compliance-report.v1+json";

/**
 * What an image's verified evidence shows, for reports (stale or broken evidence counts as
 * absent), and the verifications run to show it (`checks`): the chain, the image signature, the
 * published key, the VEX coverage, and with `auditTrail` the whole audit trail.
 */
export async function evidenceSummary(
  ctx: AppContext,
  ref: string,
  /** The image's chain, when the caller has just verified it. */
  chain?: ChainReport,
  opts: { readonly auditTrail?: boolean } = {},
): Promise<EvidenceSummary> {
  const { input, digest, links } = await policyInput(ctx, ref, ref, chain);
  const image = input["image"] as {
    vex: { complete: boolean };
    chain: { intact: boolean; firstBroken?: string };
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
  const link = (s: LinkReport["stage"]): LinkReport =>
    links.find((l) => l.stage === s) as LinkReport;
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
  const store = ctx.evidence();
  const checks = await reportChecks(ctx, digest, links, image, opts.auditTrail === true);
  const sig = checks.find((k) => k.id === "image-signature") as ReportCheck;
  const none: EvidenceItem = { present: false, digests: [], detail: "not recorded" };
  const evidence: Record<EvidenceType, EvidenceItem> = {
    PROV: item(link("provenance")),
    SBOM: item(link("sbom")),
    SCAN: item(link("scan")),
    VEX: item(link("vex")),
    POL: item(link("policy")),
    ADM: item(link("deployment")),
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
  // first detection of each finding: the earliest recorded scan of this image that has it
  const first = new Map<string, string>();
  // known exploited (CISA KEV) as the scans recorded it, the newest scan's word last
  const kev = new Map<string, NonNullable<RiskItem["knownExploited"]>>();
  for (const l of await store.find({ subject: digest, kind: "vuln-scan" })) {
    const doc = JSON.parse(new TextDecoder().decode((await store.getBlob(l.evidence)).bytes)) as {
      findings: {
        id: string;
        package: { purl: string };
        knownExploited?: { dateAdded: string; dueDate: string };
      }[];
    };
    for (const f of doc.findings) {
      const k = keyOfFinding(f);
      if (!first.has(k)) {
        first.set(k, l.createdAt);
      }
      if (f.knownExploited) {
        kev.set(k, { dateAdded: f.knownExploited.dateAdded, dueDate: f.knownExploited.dueDate });
      }
    }
  }
  const risks: RiskItem[] = image.vulnerabilities.map((v) => ({
    id: v.id,
    package: v.package,
    version: v.version,
    severity: v.severity,
    status: v.status,
    ...(v.justification ? { justification: v.justification } : {}),
    firstDetected: first.get(findingKey(v.id, v.purl)) ?? new Date().toISOString(),
    ...((k) => (k ? { knownExploited: k } : {}))(kev.get(findingKey(v.id, v.purl))),
  }));
  const snapshot = link("scan").predicate?.inputs["dbSnapshot"];
  return {
    image: { reference: ref, digest },
    evidence,
    vex: { complete: image.vex.complete },
    risks,
    ...(snapshot ? { dbSnapshot: snapshot } : {}),
    checks,
  };
}

/** The newest reproducibility attestation, counted only when its bundle verifies. */
async function reproducibility(ctx: AppContext, digest: Digest): Promise<EvidenceItem> {
  const repro = await ctx.evidence().find({ subject: digest, kind: "reproducibility" });
  const last = repro[repro.length - 1];
  if (!last) {
    return { present: false, digests: [], detail: "not recorded" };
  }
  try {
    verifyEvidence((await ctx.evidence().getBlob(last.evidence)).bytes, await evidenceTrust(ctx));
    return { present: true, digests: [last.evidence] };
  } catch (e) {
    return { present: false, digests: [], detail: `does not verify: ${(e as Error).message}` };
  }
}

/** The verifications a report runs on the image's evidence (see ReportCheck). */
async function reportChecks(
  ctx: AppContext,
  digest: Digest,
  links: readonly LinkReport[],
  image: { vex: { complete: boolean }; chain: { intact: boolean; firstBroken?: string } },
  auditTrail: boolean,
): Promise<ReportCheck[]> {
  const recorded = links.filter((l) => l.state !== "not-recorded");
  const validLinks = links.filter((l) => l.state === "valid");
  const broken = links.find((l) => l.stage === image.chain.firstBroken);
  const stale = links.filter((l) => l.state === "stale");
  const checks: ReportCheck[] = [
    {
      id: "chain",
      verified:
        "every recorded chain link: attestation bytes, signature by a trusted key, transparency-log inclusion, subject, evidence document, previous links",
      result: recorded.length === 0 ? "UNKNOWN" : image.chain.intact ? "PASS" : "FAIL",
      detail:
        recorded.length === 0
          ? "no evidence recorded for this image"
          : image.chain.intact
            ? `${validLinks.map((l) => l.stage).join(" -> ")} verified${stale.length ? `; stale: ${stale.map((l) => l.stage).join(", ")}` : ""}`
            : `broken at ${image.chain.firstBroken}: ${broken?.reason ?? ""}`,
      evidence: validLinks.map((l) => l.attestation as string),
    },
  ];
  const sig = await imageSignatureCheck(ctx, digest);
  checks.push({
    id: "image-signature",
    verified:
      "the image signature: its bundle's signature by a trusted key and transparency-log inclusion proof, an image signature of this digest",
    result: sig.result,
    detail: sig.detail,
    evidence: sig.evidence,
  });
  const pub = await publishedKeyCheck(ctx, digest);
  checks.push({
    id: "published-key",
    verified: "the published verification key, alone, verifies the image signature",
    ...pub,
  });
  const scan = links.find((l) => l.stage === "scan");
  const vex = links.find((l) => l.stage === "vex");
  const docs = [scan, vex].flatMap((l) =>
    l?.state === "valid" ? [l.attestation as string, ...(l.evidence ? [l.evidence] : [])] : [],
  );
  checks.push({
    id: "vex-coverage",
    verified:
      "each finding of the verified scan has a statement in the verified VEX document, every package assessed",
    result: image.vex.complete ? "PASS" : docs.length === 4 ? "FAIL" : "UNKNOWN",
    detail: image.vex.complete
      ? "every finding has a VEX status"
      : docs.length === 4
        ? "not every finding has a VEX status, or packages could not be assessed"
        : `the scan is ${scan?.state ?? "not-recorded"}, the VEX link ${vex?.state ?? "not-recorded"}`,
    evidence: docs,
  });
  if (auditTrail) {
    const a = await verifyAuditTrail(ctx);
    checks.push({
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
    });
  }
  return checks;
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
