import type { LinkReport } from "../chain/index.js";
import { keyOfFinding, keyOfStatement } from "../vex/index.js";
import {
  type CheckResult,
  type ComplianceCheck,
  type EvidenceBundle,
  ev,
  linkOf,
  notUsable,
  type SignatureEvidence,
  SPDX_3,
  sbomFormat,
  usable,
} from "./evidence.js";
import { fedrampReadyCheck } from "./fedramp.js";
import { findingsAtOrAbove } from "./severity.js";
import { vulnerabilityView } from "./vulnerabilities.js";

/**
 * The compliance checks, one function each over an image's evidence bundle: the one set that
 * status, reports and the policy input share. PASS always carries the digests of the verified
 * evidence it rests on; what cannot be shown is UNKNOWN.
 */
export function complianceChecks(b: EvidenceBundle): ComplianceCheck[] {
  return [
    slsaBuildLevelCheck(b),
    sbomCheck(b),
    ...vulnerabilityChecks(b),
    baseImageCheck(b),
    imageSignatureCheck(b.signature),
    evidenceSignaturesCheck(b),
    chainCheck(b),
    fedrampReadyCheck(b),
  ];
}

export const BASE_DIGEST = "org.opencontainers.image.base.digest";

/** SLSA Build level, SLSA v1.0 Build track. */
export function slsaBuildLevelCheck(b: EvidenceBundle): ComplianceCheck {
  const prov = linkOf(b, "provenance");
  const level = Number(prov.predicate?.inputs["slsaBuildLevel"] ?? Number.NaN);
  const required = b.requirements.requiredSlsaBuildLevel ?? 1;
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
export function sbomCheck(b: EvidenceBundle): ComplianceCheck {
  const sbom = linkOf(b, "sbom");
  const format = sbomFormat(sbom);
  const base = {
    id: "sbom" as const,
    title: "SBOM present and signed (SPDX 3.0.1)",
    evidence: ev(sbom),
  };
  if (usable(sbom) && format === SPDX_3) {
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
      ? `the SBOM is ${sbom.predicate?.inputs["format"]}, not SPDX 3.0.1`
      : sbom.state === "not-recorded"
        ? "no SBOM recorded: run cleanimg-init sbom or scan"
        : `the SBOM link is ${sbom.state}: ${sbom.reason ?? ""}`,
  };
}

/** Every vulnerability has a VEX status; no unresolved critical vulnerability. */
export function vulnerabilityChecks(b: EvidenceBundle): ComplianceCheck[] {
  const v = vulnerabilityView(b);
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

/**
 * Base image approved: only from signed records (the verified base-image attestation, else the
 * base the verified provenance lists), against `approvedBaseImages`. The manifest's base
 * annotation is unsigned: alone it gives UNKNOWN.
 */
export function baseImageCheck(b: EvidenceBundle): ComplianceCheck {
  const title = "Base image approved";
  const base = b.base;
  const annotated = b.image.annotations?.[BASE_DIGEST];
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
        : b.image.manifestKnown
          ? `the image does not name its base image (${BASE_DIGEST}) and ${base.reason}`
          : `the image's manifest is not available here (only its digest), and ${base.reason}`,
    );
  }
  const named = `base ${base.name} (${base.digest}), named by ${base.by}`;
  const approved = b.requirements.approvedBaseImages;
  if (!approved?.length) {
    return check(
      "UNKNOWN",
      `${named}; no approved base images are configured (approvedBaseImages in ${b.requirements.configFile})`,
      base.evidence,
    );
  }
  return approved.includes(base.digest)
    ? check("PASS", `${named}, is on the approved list`, base.evidence)
    : check("FAIL", `${named}, is not on the approved list`, base.evidence);
}

/**
 * The image signature, verified: the newest "image-signature" evidence of the image, its bundle
 * verified with what the store trusts (signature by a trusted key, transparency-log inclusion),
 * and its statement an image signature about this digest. PASS carries the signature's digest.
 */
export function imageSignatureCheck(sig: SignatureEvidence): ComplianceCheck {
  const title = "Image signature valid";
  if (sig.kind === "none") {
    return {
      id: "image-signature",
      title,
      result: "UNKNOWN",
      detail: "no image signature is recorded (cleanimg build signs the images it builds)",
      evidence: [],
    };
  }
  return sig.kind === "valid"
    ? {
        id: "image-signature",
        title,
        result: "PASS",
        detail: `signed by ${sig.keyids.join(", ")}, transparency log index ${sig.logIndex}`,
        evidence: [sig.evidence],
      }
    : {
        id: "image-signature",
        title,
        result: "FAIL",
        detail: sig.reason,
        evidence: [sig.evidence],
      };
}

/** Evidence signed and logged: every recorded link's signature and log inclusion verified. */
export function evidenceSignaturesCheck(b: EvidenceBundle): ComplianceCheck {
  const recorded = b.chain.links.filter((l) => l.state !== "not-recorded");
  // a stale link's signature and log inclusion verified (stale is not tampering): it passes
  // here, named, and the chain check fails on it
  const stale = recorded.filter((l) => l.state === "stale");
  const badSig = recorded.filter(
    (l) =>
      l.state === "broken" &&
      /signature|transparency log|checkpoint|inclusion/.test(l.reason ?? ""),
  );
  return {
    id: "evidence-signatures",
    title: "Evidence signed and logged",
    result:
      recorded.length === 0 ? "UNKNOWN" : badSig.length > 0 || !b.chain.intact ? "FAIL" : "PASS",
    detail:
      recorded.length === 0
        ? "no evidence recorded for this image"
        : badSig.length > 0
          ? `${badSig.map((l) => `${l.stage}: ${l.reason}`).join("; ")}`
          : !b.chain.intact
            ? `not every link verifies (first broken: ${b.chain.firstBroken})`
            : `${recorded.length} links, each signature verified and included in the transparency log${stale.length ? ` (stale: ${stale.map((l) => `${l.stage} (${l.reason})`).join("; ")}; the chain check fails on it)` : ""}`,
    evidence: ev(...recorded),
  };
}

/** Evidence chain intact. */
export function chainCheck(b: EvidenceBundle): ComplianceCheck {
  const recorded = b.chain.links.filter((l) => l.state !== "not-recorded");
  const stale = b.chain.links.filter((l) => l.state === "stale");
  return {
    id: "chain",
    title: "Evidence chain intact",
    result:
      recorded.length === 0 ? "UNKNOWN" : b.chain.intact && stale.length === 0 ? "PASS" : "FAIL",
    detail:
      recorded.length === 0
        ? "no evidence recorded for this image"
        : !b.chain.intact
          ? `broken at ${b.chain.firstBroken}: ${linkOf(b, b.chain.firstBroken as LinkReport["stage"]).reason}`
          : stale.length > 0
            ? `stale: ${stale.map((l) => `${l.stage} (${l.reason})`).join("; ")}`
            : `${recorded.map((l) => l.stage).join(" -> ")} verified`,
    evidence: ev(...recorded),
  };
}
