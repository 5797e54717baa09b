import type { Digest } from "../core/digest.js";
import {
  buildReport,
  type ComplianceReport,
  type EvidenceItem,
  type EvidenceSummary,
  type EvidenceType,
  type RiskItem,
} from "../report/index.js";
import { resolveFramework } from "./catalog.js";
import type { ChainReport, LinkReport } from "./chain.js";
import type { AppContext } from "./context.js";
import { policyInput } from "./policy.js";

export const REPORT_MEDIA_TYPE = "application/vnd.cleanimg.compliance-report.v1+json";

/** What an image's verified evidence shows, for reports (stale or broken evidence counts as absent). */
export async function evidenceSummary(
  ctx: AppContext,
  ref: string,
  /** The image's chain, when the caller has just verified it. */
  chain?: ChainReport,
): Promise<EvidenceSummary> {
  const { input, digest, links } = await policyInput(ctx, ref, ref, chain);
  const image = input["image"] as {
    signature: { valid: boolean; digest?: string };
    vex: { complete: boolean };
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
  const repro = await store.find({ subject: digest, kind: "reproducibility" });
  const none: EvidenceItem = { present: false, digests: [], detail: "not recorded" };
  const evidence: Record<EvidenceType, EvidenceItem> = {
    PROV: item(link("provenance")),
    SBOM: item(link("sbom")),
    SCAN: item(link("scan")),
    VEX: item(link("vex")),
    POL: item(link("policy")),
    ADM: item(link("deployment")),
    SIG: image.signature.valid
      ? { present: true, digests: [image.signature.digest as string] }
      : none,
    TLOG: valid.length
      ? {
          present: true,
          digests: valid.map((l) => l.attestation as string),
          detail: "every verified link's log inclusion",
        }
      : none,
    ITL: none,
    REPRO: repro.length
      ? { present: true, digests: [repro[repro.length - 1]?.evidence as string] }
      : none,
  };
  // first detection of each finding: the earliest recorded scan of this image that has it
  const first = new Map<string, string>();
  for (const l of await store.find({ subject: digest, kind: "vuln-scan" })) {
    const doc = JSON.parse(new TextDecoder().decode((await store.getBlob(l.evidence)).bytes)) as {
      findings: { id: string; package: { purl: string } }[];
    };
    for (const f of doc.findings) {
      const k = `${f.id}\n${f.package.purl}`;
      if (!first.has(k)) {
        first.set(k, l.createdAt);
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
    firstDetected: first.get(`${v.id}\n${v.purl}`) ?? new Date().toISOString(),
  }));
  const snapshot = link("scan").predicate?.inputs["dbSnapshot"];
  return {
    image: { reference: ref, digest },
    evidence,
    vex: { complete: image.vex.complete },
    risks,
    ...(snapshot ? { dbSnapshot: snapshot } : {}),
  };
}

/** The compliance report of an image for a framework; recorded as evidence of the image. */
export async function complianceReport(
  ctx: AppContext,
  ref: string,
  framework: string,
  opts: { now?: () => Date } = {},
): Promise<{ report: ComplianceReport; evidence?: Digest }> {
  const fw = await resolveFramework(ctx, framework);
  const summary = await evidenceSummary(ctx, ref);
  const report = buildReport(fw, summary, (opts.now ?? (() => new Date()))().toISOString());
  const store = ctx.evidence();
  const d = await store.putBlob(
    new TextEncoder().encode(JSON.stringify(report)),
    REPORT_MEDIA_TYPE,
  );
  await store.link(summary.image.digest as Digest, d, "compliance-report", { framework: fw.id });
  return { report, evidence: d };
}
