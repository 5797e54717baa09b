import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  ATTESTATION_KIND,
  type ChainLinkPredicate,
  type ChainReport,
  evidenceTrust,
  type LinkReport,
  verifyEvidence,
} from "../chain/index.js";
import type { Digest } from "../core/digest.js";
import { remediationDeadline } from "../report/index.js";
import type { VexStatement } from "../vex/index.js";
import { keyOfFinding, keyOfStatement } from "../vex/index.js";
import type { DataFreshness, DistroSupport, Finding } from "../vuln/index.js";
import type { loadConfig } from "./config.js";
import type { AppContext } from "./context.js";
import type { ImageSubject } from "./images.js";
import { signedBaseImage } from "./provenance.js";
import { findingsAtOrAbove } from "./scan.js";
import type { CheckResult, ComplianceCheck } from "./status.js";
import { vulnDbStatus } from "./vulndb.js";

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
const usable = (l: LinkReport): boolean => l.state === "valid";
const ev = (...ls: LinkReport[]): string[] =>
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

function notUsable(l: LinkReport, what: string): string {
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

/** One condition of SI-2 (flaw remediation) and what the evidence shows of it. */
export interface Si2Condition {
  readonly name: string;
  readonly result: CheckResult;
  readonly detail: string;
}

/**
 * When each finding was first detected: the signed creation time of the earliest verified scan
 * link of this image whose document lists it (the store's own timestamps are not signed).
 */
async function firstDetections(s: StatusInputs): Promise<Map<string, string>> {
  const store = s.ctx.evidence();
  const trust = await evidenceTrust(s.ctx);
  const first = new Map<string, string>();
  const rows = await store.find({ subject: s.img.digest, kind: ATTESTATION_KIND });
  for (const row of rows.filter((r) => r.annotations["stage"] === "scan")) {
    try {
      const v = verifyEvidence((await store.getBlob(row.evidence)).bytes, trust);
      const p = v.statement.predicate as ChainLinkPredicate;
      if (
        p.stage !== "scan" ||
        !v.statement.subject.some((x) => `sha256:${x.digest["sha256"]}` === s.img.digest)
      ) {
        continue;
      }
      const doc = JSON.parse(
        new TextDecoder().decode((await store.getBlob(p.evidence.digest as Digest)).bytes),
      ) as { findings: Finding[] };
      for (const f of doc.findings) {
        const k = keyOfFinding(f);
        const at = first.get(k);
        if (!at || p.created < at) {
          first.set(k, p.created);
        }
      }
    } catch {
      // a scan record that does not verify (or whose document is gone) dates nothing
    }
  }
  return first;
}

/** SI-2: the scan verified, on the current database snapshot, every package assessed. */
function scanConditions(s: StatusInputs, v: VulnerabilityEvidence): Si2Condition[] {
  const snapshot = v.scan.predicate?.inputs["dbSnapshot"];
  const dbHere = existsSync(join(s.ctx.home, "vulndb", "vuln.db"))
    ? vulnDbStatus(s.ctx)
    : undefined;
  return [
    usable(v.scan) && v.findings
      ? { name: "signed scan", result: "PASS", detail: `scan verified (${v.scan.attestation})` }
      : {
          name: "signed scan",
          result: v.scan.state === "not-recorded" ? "UNKNOWN" : "FAIL",
          detail: notUsable(v.scan, "scan"),
        },
    !usable(v.scan) || !snapshot
      ? { name: "current snapshot", result: "UNKNOWN", detail: "no verified scan names a snapshot" }
      : !dbHere || dbHere.records === 0
        ? {
            name: "current snapshot",
            result: "UNKNOWN",
            detail: `scanned on ${snapshot}; no vulnerability database here to tell whether it is current`,
          }
        : dbHere.snapshot === snapshot
          ? {
              name: "current snapshot",
              result: "PASS",
              detail: `scanned on ${snapshot}, the database's current snapshot`,
            }
          : {
              name: "current snapshot",
              result: "FAIL",
              detail: `scanned on ${snapshot}; the database now holds ${dbHere.snapshot}: scan again`,
            },
    !v.findings
      ? { name: "every package assessed", result: "UNKNOWN", detail: "no verified scan" }
      : v.notAssessed > 0
        ? {
            name: "every package assessed",
            result: "UNKNOWN",
            detail: `${v.notAssessed} packages could not be assessed (${v.unassessed.map((u) => `${u.ecosystem} ${u.packages}`).join(", ")})`,
          }
        : { name: "every package assessed", result: "PASS", detail: "every package assessed" },
  ];
}

/** SI-2: every finding has a VEX status; none unresolved past its remediation deadline. */
async function findingConditions(
  s: StatusInputs,
  v: VulnerabilityEvidence,
): Promise<Si2Condition[]> {
  const { findings, statements } = v;
  if (!findings || !statements) {
    const detail = !findings ? notUsable(v.scan, "scan") : notUsable(v.vex, "VEX");
    return [
      { name: "every finding has a VEX status", result: "UNKNOWN", detail },
      { name: "remediation deadlines", result: "UNKNOWN", detail },
    ];
  }
  const status = new Map(statements.map((x) => [keyOfStatement(x), x]));
  const missing = findings.filter((f) => !status.has(keyOfFinding(f)));
  const unresolved = findings.filter((f) => {
    const st = status.get(keyOfFinding(f))?.status;
    return st !== "not_affected" && st !== "fixed";
  });
  const first = await firstDetections(s);
  const dated = unresolved
    .filter((f) => f.rating?.severity !== "NONE")
    .map((f) => {
      const detected = first.get(keyOfFinding(f));
      // FedRAMP's timeframe from first detection, or CISA's KEV due date when sooner (and a
      // known exploited finding is due by that date even with no signed first detection)
      const kevDue = f.knownExploited ? `${f.knownExploited.dueDate}T23:59:59.999Z` : undefined;
      const due = detected
        ? remediationDeadline(f.rating?.severity ?? "", detected, f.knownExploited).dueBy
        : kevDue;
      return { f, due: due ? new Date(due) : undefined };
    });
  const undated = dated.filter((d) => !d.due);
  const overdue = dated.filter((d) => d.due && d.due.getTime() < s.now.getTime());
  const next = dated
    .flatMap((d) => (d.due ? [d.due.toISOString()] : []))
    .sort()
    .at(0);
  return [
    missing.length > 0
      ? {
          name: "every finding has a VEX status",
          result: "FAIL",
          detail: `${missing.length} of ${findings.length} findings have none (first: ${missing[0]?.id})`,
        }
      : {
          name: "every finding has a VEX status",
          result: "PASS",
          detail: `${findings.length} findings, each with a VEX status`,
        },
    overdue.length > 0
      ? {
          name: "remediation deadlines",
          result: "FAIL",
          detail: `${overdue.length} unresolved past the deadline: ${overdue
            .slice(0, 5)
            .map(
              (d) =>
                `${d.f.id} (${d.f.rating?.severity ?? "unrated"}${d.f.knownExploited ? ", known exploited (CISA KEV)" : ""}, due ${d.due?.toISOString()})`,
            )
            .join(", ")}`,
        }
      : undated.length > 0
        ? {
            name: "remediation deadlines",
            result: "UNKNOWN",
            detail: `${undated.length} unresolved findings have no signed first detection (first: ${undated[0]?.f.id})`,
          }
        : {
            name: "remediation deadlines",
            result: "PASS",
            detail:
              dated.length === 0
                ? "no unresolved finding"
                : `${dated.length} unresolved, none past its deadline (next due ${next})`,
          },
  ];
}

/**
 * FedRAMP ready, SI-2 (flaw remediation) from the evidence: a verified scan on the database's
 * current snapshot, every package assessed, every finding with a VEX status, and no unresolved
 * finding past FedRAMP's deadline from first detection (critical and high 30 days, moderate 90,
 * low 180; unrated 30; a known exploited finding by CISA's KEV due date when sooner). FAIL when one fails, UNKNOWN when one cannot be shown, PASS only when each
 * is shown by verified evidence. The organizational parts of SI-2 are not automated: the detail
 * says so.
 */
export async function fedrampReadyCheck(
  s: StatusInputs,
  v: VulnerabilityEvidence,
): Promise<ComplianceCheck> {
  const conditions = [...scanConditions(s, v), ...(await findingConditions(s, v))];
  const result: CheckResult = conditions.some((c) => c.result === "FAIL")
    ? "FAIL"
    : conditions.some((c) => c.result === "UNKNOWN")
      ? "UNKNOWN"
      : "PASS";
  return {
    id: "fedramp-ready",
    title: "FedRAMP ready (SI-2 flaw remediation, from the evidence)",
    result,
    detail: `${conditions.map((c) => `${c.result} ${c.name}: ${c.detail}`).join("; ")}; SI-2's organizational parts (the flaw remediation process, testing updates before install) need organizational evidence`,
    evidence: ev(v.scan, v.vex),
  };
}
