import { join } from "node:path";
import type { ChainReport, LinkReport } from "../chain/index.js";
import type { VexStatement } from "../vex/index.js";
import { keyOfFinding, keyOfStatement } from "../vex/index.js";
import type { DataFreshness, DistroSupport, Finding } from "../vuln/index.js";
import { signedBaseImage } from "./base-image.js";
import type { loadConfig } from "./config.js";
import type { AppContext } from "./context.js";
import type { ImageSubject } from "./images.js";
import { findingsAtOrAbove } from "./scan.js";
import type { CheckResult, ComplianceCheck } from "./status.js";

/**
 * The checks of the compliance status, one function each, over the image's verified chain. PASS
 * always carries the digests of the verified evidence it rests on; what cannot be shown is UNKNOWN.
 */

/** What every check reads: the image, its verified chain, the configuration, the time. */
export interface StatusInputs {
  readonly ctx: AppContext;
  readonly img: ImageSubject;
  readonly chain: ChainReport;
  readonly config: Awaited<ReturnType<typeof loadConfig>>;
  readonly now: Date;
}

export const BASE_DIGEST = "org.opencontainers.image.base.digest";

export const linkOf = (s: StatusInputs, stage: LinkReport["stage"]): LinkReport =>
  s.chain.links.find((l) => l.stage === stage) as LinkReport;
export const usable = (l: LinkReport): boolean => l.state === "valid";
export const ev = (...ls: LinkReport[]): string[] =>
  ls.flatMap((l) => (l.attestation ? [l.attestation] : []));

/** SLSA Build level, SLSA v1.0 Build track. */
export function slsaBuildLevelCheck(s: StatusInputs): ComplianceCheck {
  const prov = linkOf(s, "provenance");
  const level = Number(prov.predicate?.inputs["slsaBuildLevel"] ?? Number.NaN);
  const required = s.config.requiredSlsaBuildLevel ?? 1;
  const title = "SLSA Build level (SLSA v1.0)";
  if (usable(prov) && Number.isInteger(level)) {
    return {
      id: "slsa-build-level",
      title,
      result: level >= required ? "PASS" : "FAIL",
      detail: `Build L${level}: signed provenance by ${prov.predicate?.inputs["builder"]}${level === 1 ? " (a local build; L2 needs a hosted build platform that signs the provenance)" : ""}; required L${required}`,
      evidence: ev(prov),
    };
  }
  return {
    id: "slsa-build-level",
    title,
    result: "FAIL",
    detail:
      prov.state === "not-recorded"
        ? "Build L0: no provenance is recorded for this image (cleanimg build records it)"
        : `the provenance link is ${prov.state}: ${prov.reason ?? ""}`,
    evidence: ev(prov),
  };
}

/** SBOM present and signed, SPDX 3.0.1. */
export function sbomCheck(s: StatusInputs): ComplianceCheck {
  const sbom = linkOf(s, "sbom");
  const format = sbom.predicate?.inputs["format"];
  const base = {
    id: "sbom" as const,
    title: "SBOM present and signed (SPDX 3.0.1)",
    evidence: ev(sbom),
  };
  if (usable(sbom) && format === "spdx-3") {
    return {
      ...base,
      result: "PASS",
      detail: `SPDX 3.0.1, ${sbom.predicate?.inputs["packages"] ?? "?"} packages, signed by ${sbom.signers?.join(", ")}, log index ${sbom.logIndex}`,
    };
  }
  return {
    ...base,
    result: "FAIL",
    detail: usable(sbom)
      ? `the SBOM is ${format}, not SPDX 3.0.1`
      : sbom.state === "not-recorded"
        ? "no SBOM recorded: run cleanimg-init sbom or scan"
        : `the SBOM link is ${sbom.state}: ${sbom.reason ?? ""}`,
  };
}

/** The verified scan and VEX documents of the image (undefined where a link does not verify). */
export interface VulnerabilityEvidence {
  readonly scan: LinkReport;
  readonly vex: LinkReport;
  readonly findings?: readonly Finding[];
  readonly statements?: readonly VexStatement[];
  readonly unassessed: readonly { readonly ecosystem: string; readonly packages: number }[];
  readonly notAssessed: number;
  /** The scan's data age and the distribution's end of life, shown beside the vulnerability lines. */
  readonly dataNote?: string;
}

export async function vulnerabilityEvidence(s: StatusInputs): Promise<VulnerabilityEvidence> {
  const scan = linkOf(s, "scan");
  const vex = linkOf(s, "vex");
  const read = async <T>(l: LinkReport): Promise<T | undefined> =>
    usable(l) && l.evidence
      ? (JSON.parse(
          new TextDecoder().decode((await s.ctx.evidence().getBlob(l.evidence)).bytes),
        ) as T)
      : undefined;
  const scanDoc = await read<{
    findings: Finding[];
    unassessed?: { ecosystem: string; packages: number }[];
    dataFreshness?: DataFreshness;
    distroSupport?: DistroSupport;
  }>(scan);
  const f = scanDoc?.dataFreshness;
  const now = f?.built
    ? Math.max(0, Math.floor((s.now.getTime() - Date.parse(f.built)) / 86_400_000))
    : undefined;
  const eol = scanDoc?.distroSupport;
  const notes = [
    ...(f
      ? [
          f.built
            ? `vulnerability data built ${f.built}: ${now} days old now, ${f.ageDays} at the scan${f.stale ? ` (over the maximum ${f.maxAgeDays} days)` : ""}`
            : "vulnerability data age unknown (no record dates)",
        ]
      : []),
    ...(eol && eol.state !== "supported" ? [eol.detail] : []),
  ];
  const vexDoc = await read<{ statements: VexStatement[] }>(vex);
  const unassessed = scanDoc?.unassessed ?? [];
  return {
    scan,
    vex,
    ...(scanDoc ? { findings: scanDoc.findings } : {}),
    ...(vexDoc ? { statements: vexDoc.statements } : {}),
    unassessed,
    notAssessed: unassessed.reduce((n, u) => n + u.packages, 0),
    ...(notes.length ? { dataNote: notes.join("; ") } : {}),
  };
}

/** Every vulnerability has a VEX status; no unresolved critical vulnerability. */
export function vulnerabilityChecks(v: VulnerabilityEvidence): ComplianceCheck[] {
  const { findings, statements, notAssessed } = v;
  const evidence = ev(v.scan, v.vex);
  if (!findings || !statements) {
    const why = !findings ? notUsable(v.scan, "scan") : notUsable(v.vex, "VEX");
    return [
      {
        id: "vex-coverage",
        title: "Every vulnerability has a VEX status",
        result: v.scan.state === "not-recorded" ? "UNKNOWN" : "FAIL",
        detail: why,
        evidence,
      },
      {
        id: "critical-vulnerabilities",
        title: "No unresolved critical vulnerability",
        result: "UNKNOWN",
        detail: why,
        evidence,
      },
    ];
  }
  const covered = new Set(statements.map((st) => keyOfStatement(st)));
  const missing = findings.filter((f) => !covered.has(keyOfFinding(f)));
  const by = (st: string): number => statements.filter((x) => x.status === st).length;
  const gap =
    notAssessed > 0
      ? `; ${notAssessed} packages could not be assessed, the database has no data for ${v.unassessed.map((u) => `${u.ecosystem} (${u.packages})`).join(", ")}`
      : "";
  const open = findingsAtOrAbove(findings, "CRITICAL", statements);
  const critical = open.filter((f) => f.rating?.severity === "CRITICAL");
  const unrated = open.filter((f) => f.rating === undefined);
  const note = v.dataNote ? ` [${v.dataNote}]` : "";
  const checks: ComplianceCheck[] = [
    {
      id: "vex-coverage",
      title: "Every vulnerability has a VEX status",
      result: missing.length > 0 ? "FAIL" : notAssessed > 0 ? "UNKNOWN" : "PASS",
      detail:
        missing.length === 0
          ? `${findings.length} findings, ${statements.length} statements: ${by("not_affected")} not_affected, ${by("affected")} affected, ${by("fixed")} fixed, ${by("under_investigation")} under_investigation${gap}`
          : `${missing.length} of ${findings.length} findings have no VEX statement (first: ${missing[0]?.id})`,
      evidence,
    },
    {
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
              : `none, on database snapshot ${v.scan.predicate?.inputs["dbSnapshot"]}`,
      evidence,
    },
  ];
  return checks.map((c) => ({ ...c, detail: `${c.detail}${note}` }));
}

export function notUsable(l: LinkReport, what: string): string {
  return l.state === "not-recorded"
    ? `no ${what} recorded: run cleanimg-init scan`
    : `the ${what} link is ${l.state}: ${l.reason ?? ""}`;
}

/**
 * Base image approved: only from signed records (the verified base-image attestation, else the
 * base the verified provenance lists), against `approvedBaseImages`. The manifest's base
 * annotation is unsigned: alone it gives UNKNOWN.
 */
export async function baseImageCheck(s: StatusInputs): Promise<ComplianceCheck> {
  const title = "Base image approved";
  const base = await signedBaseImage(s.ctx, s.img.digest, linkOf(s, "provenance"));
  const annotated = s.img.annotations?.[BASE_DIGEST];
  const check = (
    result: CheckResult,
    detail: string,
    evidence: readonly string[] = [],
  ): ComplianceCheck => ({ id: "base-image", title, result, detail, evidence });
  if (base.kind === "scratch") {
    return check(
      "PASS",
      "no base image: built from scratch, as the signed provenance records",
      base.evidence,
    );
  }
  if (base.kind === "invalid") {
    return check("FAIL", base.reason, base.evidence);
  }
  if (base.kind === "none") {
    return check(
      "UNKNOWN",
      annotated
        ? `the manifest names base ${annotated} in ${BASE_DIGEST}, an unsigned annotation; ${base.reason}`
        : s.img.manifestKnown
          ? `the image does not name its base image (${BASE_DIGEST}) and ${base.reason}`
          : `the image's manifest is not available here (only its digest), and ${base.reason}`,
    );
  }
  const named = `base ${base.name} (${base.digest}), named by ${base.by}`;
  const approved = s.config.approvedBaseImages;
  if (!approved?.length) {
    return check(
      "UNKNOWN",
      `${named}; no approved base images are configured (approvedBaseImages in ${join(s.ctx.home, "config.json")})`,
      base.evidence,
    );
  }
  return approved.includes(base.digest)
    ? check("PASS", `${named}, is on the approved list`, base.evidence)
    : check("FAIL", `${named}, is not on the approved list`, base.evidence);
}

/** Evidence signed and logged. */
export function evidenceSignaturesCheck(s: StatusInputs): ComplianceCheck {
  const recorded = s.chain.links.filter((l) => l.state !== "not-recorded");
  const badSig = recorded.filter(
    (l) =>
      l.state === "broken" &&
      /signature|transparency log|checkpoint|inclusion/.test(l.reason ?? ""),
  );
  return {
    id: "evidence-signatures",
    title: "Evidence signed and logged",
    result:
      recorded.length === 0 ? "UNKNOWN" : badSig.length > 0 || !s.chain.intact ? "FAIL" : "PASS",
    detail:
      recorded.length === 0
        ? "no evidence recorded for this image"
        : badSig.length > 0
          ? `${badSig.map((l) => `${l.stage}: ${l.reason}`).join("; ")}`
          : !s.chain.intact
            ? `not every link verifies (first broken: ${s.chain.firstBroken})`
            : `${recorded.length} links, each signature verified and included in the transparency log`,
    evidence: ev(...recorded),
  };
}

/** Evidence chain intact. */
export function chainCheck(s: StatusInputs): ComplianceCheck {
  const recorded = s.chain.links.filter((l) => l.state !== "not-recorded");
  const stale = s.chain.links.filter((l) => l.state === "stale");
  return {
    id: "chain",
    title: "Evidence chain intact",
    result:
      recorded.length === 0 ? "UNKNOWN" : s.chain.intact && stale.length === 0 ? "PASS" : "FAIL",
    detail:
      recorded.length === 0
        ? "no evidence recorded for this image"
        : !s.chain.intact
          ? `broken at ${s.chain.firstBroken}: ${linkOf(s, s.chain.firstBroken as LinkReport["stage"]).reason}`
          : stale.length > 0
            ? `stale: ${stale.map((l) => `${l.stage} (${l.reason})`).join("; ")}`
            : `${recorded.map((l) => l.stage).join(" -> ")} verified`,
    evidence: ev(...recorded),
  };
}
