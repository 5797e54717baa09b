import { join } from "node:path";
import { type Digest, isDigest } from "../core/digest.js";
import { buildReport, builtinFramework, controlLabel } from "../report/index.js";
import type { VexStatement } from "../vex/index.js";
import type { Finding } from "../vuln/index.js";
import { AuditWatcher, auditEvents } from "./audit.js";
import { type ChainReport, type LinkReport, verifyChain } from "./chain.js";
import { loadConfig } from "./config.js";
import type { AppContext } from "./context.js";
import { discoverEvidence } from "./distribute.js";
import { imageSignatureCheck } from "./image-signature.js";
import { resolveSubject } from "./images.js";
import { evidenceSummary } from "./report.js";
import { findingsAtOrAbove } from "./scan.js";

export { type FleetRow, fleetStatus } from "./fleet.js";

/**
 * "Is this image compliant?": the design's check list, each line PASS, FAIL or UNKNOWN with the
 * evidence behind it. PASS is only ever printed with the digest of verified evidence; what the
 * evidence cannot show is UNKNOWN, never PASS.
 */

export type CheckResult = "PASS" | "FAIL" | "UNKNOWN";

export interface ComplianceCheck {
  readonly id:
    | "slsa-build-level"
    | "sbom"
    | "vex-coverage"
    | "base-image"
    | "critical-vulnerabilities"
    | "image-signature"
    | "evidence-signatures"
    | "chain"
    | "fedramp-ready";
  readonly title: string;
  readonly result: CheckResult;
  readonly detail: string;
  /** Digests of the evidence the result rests on. */
  readonly evidence: readonly string[];
}

export interface ComplianceStatus {
  readonly image: { readonly reference: string; readonly digest: Digest };
  readonly checks: readonly ComplianceCheck[];
  /** Every check PASS. */
  readonly compliant: boolean;
  readonly chain: ChainReport;
}

const BASE_DIGEST = "org.opencontainers.image.base.digest";

/** Computes the check list for an image. */
export async function complianceStatus(ctx: AppContext, ref: string): Promise<ComplianceStatus> {
  const img = await resolveSubject(ctx, ref);
  const digest = img.digest;
  // an image in a registry, and nothing of it here: its evidence is discovered there
  if (!isDigest(ref)) {
    await discoverEvidence(ctx, ref, digest);
  }
  const chain = await verifyChain(ctx, digest);
  const config = await loadConfig(ctx);
  const link = (s: LinkReport["stage"]): LinkReport =>
    chain.links.find((l) => l.stage === s) as LinkReport;
  const usable = (l: LinkReport): boolean => l.state === "valid";
  const ev = (...ls: LinkReport[]): string[] =>
    ls.flatMap((l) => (l.attestation ? [l.attestation] : []));
  const checks: ComplianceCheck[] = [];

  // SLSA Build level, SLSA v1.0 Build track
  const prov = link("provenance");
  const level = Number(prov.predicate?.inputs["slsaBuildLevel"] ?? Number.NaN);
  const required = config.requiredSlsaBuildLevel ?? 1;
  checks.push(
    usable(prov) && Number.isInteger(level)
      ? {
          id: "slsa-build-level",
          title: "SLSA Build level (SLSA v1.0)",
          result: level >= required ? "PASS" : "FAIL",
          detail: `Build L${level}: signed provenance by ${prov.predicate?.inputs["builder"]}${level === 1 ? " (a local build; L2 needs a hosted build platform that signs the provenance)" : ""}; required L${required}`,
          evidence: ev(prov),
        }
      : {
          id: "slsa-build-level",
          title: "SLSA Build level (SLSA v1.0)",
          result: "FAIL",
          detail:
            prov.state === "not-recorded"
              ? "Build L0: no provenance is recorded for this image (cleanimg build records it)"
              : `the provenance link is ${prov.state}: ${prov.reason ?? ""}`,
          evidence: ev(prov),
        },
  );

  // SBOM present and signed, SPDX 3.0.1
  const sbom = link("sbom");
  const sbomFormat = sbom.predicate?.inputs["format"];
  checks.push({
    id: "sbom",
    title: "SBOM present and signed (SPDX 3.0.1)",
    ...(usable(sbom) && sbomFormat === "spdx-3"
      ? {
          result: "PASS" as const,
          detail: `SPDX 3.0.1, ${sbom.predicate?.inputs["packages"] ?? "?"} packages, signed by ${sbom.signers?.join(", ")}, log index ${sbom.logIndex}`,
        }
      : usable(sbom)
        ? { result: "FAIL" as const, detail: `the SBOM is ${sbomFormat}, not SPDX 3.0.1` }
        : {
            result: "FAIL" as const,
            detail:
              sbom.state === "not-recorded"
                ? "no SBOM recorded: run cleanimg-init sbom or scan"
                : `the SBOM link is ${sbom.state}: ${sbom.reason ?? ""}`,
          }),
    evidence: ev(sbom),
  });

  // every finding has a VEX status; no unresolved critical vulnerability
  const scanLink = link("scan");
  const vexLink = link("vex");
  let findings: Finding[] | undefined;
  let statements: VexStatement[] | undefined;
  let unassessed: { ecosystem: string; packages: number }[] = [];
  if (usable(scanLink) && scanLink.evidence) {
    const doc = JSON.parse(
      new TextDecoder().decode((await ctx.evidence().getBlob(scanLink.evidence)).bytes),
    ) as { findings: Finding[]; unassessed?: { ecosystem: string; packages: number }[] };
    findings = doc.findings;
    unassessed = doc.unassessed ?? [];
  }
  if (usable(vexLink) && vexLink.evidence) {
    const doc = JSON.parse(
      new TextDecoder().decode((await ctx.evidence().getBlob(vexLink.evidence)).bytes),
    ) as { statements: VexStatement[] };
    statements = doc.statements;
  }
  const notUsable = (l: LinkReport, what: string): string =>
    l.state === "not-recorded"
      ? `no ${what} recorded: run cleanimg-init scan`
      : `the ${what} link is ${l.state}: ${l.reason ?? ""}`;
  if (findings && statements) {
    const covered = new Set(statements.map((s) => `${s.vulnerability}\n${s.subcomponent.purl}`));
    const missing = findings.filter((f) => !covered.has(`${f.id}\n${f.package.purl}`));
    const by = (st: string): number => statements.filter((s) => s.status === st).length;
    const notAssessed = unassessed.reduce((n, u) => n + u.packages, 0);
    const gap =
      notAssessed > 0
        ? `; ${notAssessed} packages could not be assessed, the database has no data for ${unassessed.map((u) => `${u.ecosystem} (${u.packages})`).join(", ")}`
        : "";
    checks.push({
      id: "vex-coverage",
      title: "Every vulnerability has a VEX status",
      result: missing.length > 0 ? "FAIL" : notAssessed > 0 ? "UNKNOWN" : "PASS",
      detail:
        missing.length === 0
          ? `${findings.length} findings, ${statements.length} statements: ${by("not_affected")} not_affected, ${by("affected")} affected, ${by("fixed")} fixed, ${by("under_investigation")} under_investigation${gap}`
          : `${missing.length} of ${findings.length} findings have no VEX statement (first: ${missing[0]?.id})`,
      evidence: ev(scanLink, vexLink),
    });
    const open = findingsAtOrAbove(findings, "CRITICAL", statements);
    const critical = open.filter((f) => f.rating?.severity === "CRITICAL");
    const unrated = open.filter((f) => f.rating === undefined);
    checks.push({
      id: "critical-vulnerabilities",
      title: "No unresolved critical vulnerability",
      result:
        critical.length > 0 ? "FAIL" : unrated.length > 0 || notAssessed > 0 ? "UNKNOWN" : "PASS",
      detail:
        critical.length > 0
          ? `${critical.length} critical not resolved by VEX: ${critical
              .slice(0, 5)
              .map((f) => `${f.id} (${f.package.name})`)
              .join(", ")}`
          : unrated.length > 0
            ? `none rated critical, but ${unrated.length} unresolved findings have no severity rating (first: ${unrated[0]?.id})${gap}`
            : notAssessed > 0
              ? `none found${gap}`
              : `none, on database snapshot ${scanLink.predicate?.inputs["dbSnapshot"]}`,
      evidence: ev(scanLink, vexLink),
    });
  } else {
    const why = !findings ? notUsable(scanLink, "scan") : notUsable(vexLink, "VEX");
    checks.push({
      id: "vex-coverage",
      title: "Every vulnerability has a VEX status",
      result: scanLink.state === "not-recorded" ? "UNKNOWN" : "FAIL",
      detail: why,
      evidence: ev(scanLink, vexLink),
    });
    checks.push({
      id: "critical-vulnerabilities",
      title: "No unresolved critical vulnerability",
      result: "UNKNOWN",
      detail: why,
      evidence: ev(scanLink, vexLink),
    });
  }

  // base image approved
  const base = img.annotations?.[BASE_DIGEST];
  const fromScratch = usable(prov) && prov.predicate?.inputs["base"] === "scratch";
  checks.push({
    id: "base-image",
    title: "Base image approved",
    ...(fromScratch
      ? {
          result: "PASS" as const,
          detail:
            "no base image: built from scratch, every package pinned in the signed provenance",
        }
      : !base
        ? {
            result: "UNKNOWN" as const,
            detail: img.manifestKnown
              ? `the image does not name its base image (${BASE_DIGEST}) and no provenance records one`
              : "the image's manifest is not available here (only its digest), so its base image cannot be read; give the image reference",
          }
        : !config.approvedBaseImages?.length
          ? {
              result: "UNKNOWN" as const,
              detail: `base ${base}; no approved base images are configured (approvedBaseImages in ${join(ctx.home, "config.json")})`,
            }
          : config.approvedBaseImages.includes(base)
            ? { result: "PASS" as const, detail: `base ${base} is on the approved list` }
            : { result: "FAIL" as const, detail: `base ${base} is not on the approved list` }),
    evidence: fromScratch ? ev(prov) : base ? [base] : [],
  });

  // signatures
  checks.push(await imageSignatureCheck(ctx, digest));
  const recorded = chain.links.filter((l) => l.state !== "not-recorded");
  const badSig = recorded.filter(
    (l) =>
      l.state === "broken" &&
      /signature|transparency log|checkpoint|inclusion/.test(l.reason ?? ""),
  );
  checks.push({
    id: "evidence-signatures",
    title: "Evidence signed and logged",
    result:
      recorded.length === 0 ? "UNKNOWN" : badSig.length > 0 || !chain.intact ? "FAIL" : "PASS",
    detail:
      recorded.length === 0
        ? "no evidence recorded for this image"
        : badSig.length > 0
          ? `${badSig.map((l) => `${l.stage}: ${l.reason}`).join("; ")}`
          : !chain.intact
            ? `not every link verifies (first broken: ${chain.firstBroken})`
            : `${recorded.length} links, each signature verified and included in the transparency log`,
    evidence: ev(...recorded),
  });

  const stale = chain.links.filter((l) => l.state === "stale");
  checks.push({
    id: "chain",
    title: "Evidence chain intact",
    result:
      recorded.length === 0 ? "UNKNOWN" : chain.intact && stale.length === 0 ? "PASS" : "FAIL",
    detail:
      recorded.length === 0
        ? "no evidence recorded for this image"
        : !chain.intact
          ? `broken at ${chain.firstBroken}: ${link(chain.firstBroken as LinkReport["stage"]).reason}`
          : stale.length > 0
            ? `stale: ${stale.map((l) => `${l.stage} (${l.reason})`).join("; ")}`
            : `${recorded.map((l) => l.stage).join(" -> ")} verified`,
    evidence: ev(...recorded),
  });

  // FedRAMP ready: every SI-2 control of the Rev5 High baseline satisfied by the evidence
  const report = buildReport(
    builtinFramework("fedramp-high"),
    await evidenceSummary(ctx, ref, chain),
    new Date().toISOString(),
  );
  const si2 = report.controls.filter((c) => c.id === "si-2" || c.id.startsWith("si-2."));
  const unsatisfied = si2.filter((c) => c.status !== "satisfied (scoped)");
  checks.push({
    id: "fedramp-ready",
    title: "FedRAMP ready (SI-2 controls, Rev5 High)",
    result:
      unsatisfied.length === 0
        ? "PASS"
        : si2.some((c) => c.status === "partial")
          ? "UNKNOWN"
          : "FAIL",
    detail: si2
      .map((c) => `${controlLabel(c.id)} ${c.status}`)
      .join("; ")
      .concat(
        unsatisfied.length ? " (see cleanimg-init --compliance fedramp for what is missing)" : "",
      ),
    evidence: [...new Set(si2.flatMap((c) => c.evidence.flatMap((e) => e.digests)))],
  });

  return {
    image: { reference: ref, digest },
    checks,
    compliant: checks.every((c) => c.result === "PASS"),
    chain,
  };
}

/** One day of the fleet's posture, from the signed audit trail. */
export interface PostureDay {
  /** UTC date, YYYY-MM-DD. */
  readonly date: string;
  /** Policy decisions recorded that day, by outcome. */
  readonly allowed: number;
  readonly denied: number;
  /** Admission requests denied that day (each workload and reason once per cache period). */
  readonly admissionsDenied: number;
  /** Chain links recorded or imported that day. */
  readonly links: number;
  /** Distinct images with evidence recorded that day. */
  readonly images: number;
}

/**
 * The fleet's posture per day over the last `days` days, counted from audit events (signed and
 * hash-chained, so the history cannot be rewritten without `audit verify` saying so).
 */
export async function postureOverTime(
  ctx: AppContext,
  days: number,
  now: Date = new Date(),
): Promise<PostureDay[]> {
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
  const start = new Date(end.getTime() - days * 86_400_000);
  const events = await auditEvents(ctx, start.toISOString(), end.toISOString());
  const out = new Map<
    string,
    { allowed: number; denied: number; adm: number; links: number; images: Set<string> }
  >();
  for (let t = start.getTime(); t < end.getTime(); t += 86_400_000) {
    out.set(new Date(t).toISOString().slice(0, 10), {
      allowed: 0,
      denied: 0,
      adm: 0,
      links: 0,
      images: new Set(),
    });
  }
  for (const e of events) {
    const d = out.get(e.time.slice(0, 10));
    if (!d) {
      continue;
    }
    if (e.details["stage"]) {
      d.links++;
    }
    if (e.subject) {
      d.images.add(e.subject);
    }
    if (e.action === "policy") {
      if (e.details["decision"] === "allow") {
        d.allowed++;
      } else {
        d.denied++;
      }
    }
    if (e.action === "admission" && e.details["allowed"] === "false") {
      d.adm++;
    }
  }
  return [...out].map(([date, d]) => ({
    date,
    allowed: d.allowed,
    denied: d.denied,
    admissionsDenied: d.adm,
    links: d.links,
    images: d.images.size,
  }));
}

/**
 * Verified chains per image, kept until that image's evidence changes (seen in the audit log by
 * any process sharing the store) or `ttlMs` passes: a fleet view re-verifies only what changed.
 */
export class ChainCache {
  readonly #cache = new Map<Digest, { report: ChainReport; at: number }>();
  readonly #watcher: AuditWatcher;
  constructor(
    private readonly ctx: AppContext,
    private readonly ttlMs = 300_000,
    private readonly now: () => number = Date.now,
  ) {
    this.#watcher = new AuditWatcher(ctx);
  }

  /** Drops what changed; call once per batch of lookups. */
  async refresh(): Promise<void> {
    for (const ev of await this.#watcher.changes()) {
      if (!ev) {
        this.#cache.clear();
      } else if (ev.subject) {
        this.#cache.delete(ev.subject);
      }
    }
  }

  async verify(image: Digest): Promise<ChainReport> {
    const c = this.#cache.get(image);
    if (c && this.now() - c.at < this.ttlMs) {
      return c.report;
    }
    const report = await verifyChain(this.ctx, image);
    if (this.#cache.size >= 50_000) {
      this.#cache.delete(this.#cache.keys().next().value as Digest);
    }
    this.#cache.set(image, { report, at: this.now() });
    return report;
  }
}
