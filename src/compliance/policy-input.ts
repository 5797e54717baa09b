import { keyOfFinding, keyOfStatement } from "../vex/index.js";
import { type EvidenceBundle, linkOf, sbomFormat, usable } from "./evidence.js";
import { vulnerabilityView } from "./vulnerabilities.js";

/** The vulnerabilities and VEX view of the input, from the verified scan and VEX links only. */
function vulnerabilityInput(b: EvidenceBundle) {
  const v = vulnerabilityView(b);
  const ok = usable;
  const statements = v.statements ?? [];
  const statusOf = new Map(statements.map((s) => [keyOfStatement(s), s]));
  const vulnerabilities = (v.findings ?? []).map((f) => {
    const s = statusOf.get(keyOfFinding(f));
    return {
      id: f.id,
      package: f.package.name,
      version: f.package.version,
      purl: f.package.purl,
      severity: f.rating?.severity ?? "UNKNOWN",
      status: s?.status ?? "unassessed",
      ...(s?.justification ? { justification: s.justification } : {}),
    };
  });
  const count = (st: string): number => vulnerabilities.filter((x) => x.status === st).length;
  const { scan, vex } = v;
  return {
    vulnerabilities,
    vex: {
      present: vex.state !== "not-recorded",
      verified: ok(vex) && ok(scan),
      complete:
        ok(vex) &&
        ok(scan) &&
        vulnerabilities.every((x) => x.status !== "unassessed") &&
        v.notAssessed === 0,
      unassessedPackages: v.notAssessed,
      statements: statements.length,
      affected: count("affected"),
      not_affected: count("not_affected"),
      fixed: count("fixed"),
      under_investigation: count("under_investigation"),
      ...(vex.evidence ? { digest: vex.evidence } : {}),
    },
  };
}

/** The image's newest signature, verified: present, valid (about this image), its signer. */
function signatureInput(b: EvidenceBundle): Record<string, unknown> {
  const sig = b.signature;
  if (sig.kind === "none") {
    return { present: false, valid: false, signer: "" };
  }
  if (sig.kind === "valid") {
    return { present: true, valid: true, signer: sig.keyids[0] ?? "", digest: sig.evidence };
  }
  // a signature that verified but is not an image signature of this digest names its signer
  return sig.keyids
    ? { present: true, valid: false, signer: sig.keyids[0] ?? "", digest: sig.evidence }
    : { present: true, valid: false, signer: "", error: sig.reason, digest: sig.evidence };
}

/** Provenance, SBOM and build facts, from the verified provenance and SBOM links only. */
function buildInput(b: EvidenceBundle, builderId: string) {
  const prov = linkOf(b, "provenance");
  const sbom = linkOf(b, "sbom");
  const pin = prov.predicate?.inputs ?? {};
  return {
    provenance: {
      present: prov.state !== "not-recorded",
      verified: usable(prov),
      level: usable(prov) ? Number(pin["slsaBuildLevel"] ?? 0) : 0,
      slsaVersion: "v1.0",
      builder: pin["builder"] ?? "",
      ...(prov.evidence ? { digest: prov.evidence } : {}),
    },
    sbom: {
      present: sbom.state !== "not-recorded",
      verified: usable(sbom),
      format: sbomFormat(sbom),
      packages: Number(sbom.predicate?.inputs["packages"] ?? 0),
      ...(sbom.evidence ? { digest: sbom.evidence } : {}),
    },
    build: {
      present: usable(prov),
      tool: usable(prov) && pin["builder"] === builderId ? "cleanimg" : "",
      reproducible: usable(prov) && Boolean(pin["reproducible"]),
      // hermetic and isolated: from the verified provenance only
      hermetic: b.build.hermetic,
      isolated: b.build.isolated,
      detail: b.build.detail,
    },
  };
}

/** The base image from signed records, and whether the configuration approves it. */
function baseInput(b: EvidenceBundle) {
  const base = b.base;
  const approved = b.requirements.approvedBaseImages;
  return {
    name: base.kind === "scratch" ? "scratch" : base.kind === "image" ? base.name : "",
    digest: base.kind === "image" ? base.digest : "",
    signed: base.kind === "scratch" || base.kind === "image",
    approved:
      base.kind === "scratch"
        ? true
        : base.kind === "image" && approved
          ? approved.includes(base.digest)
          : null,
  };
}

/**
 * The policy input document of an image (documented in docs/policy.md), from its evidence
 * bundle: what a rule can rely on is only what verified evidence shows.
 */
export function policyInputOf(
  b: EvidenceBundle,
  /** The name to give the image, e.g. a pod's image when the reference is a digest. */
  name: string,
  /** The builder id that marks cleanimg's own builds. */
  builderId: string,
): Record<string, unknown> {
  const vulns = vulnerabilityInput(b);
  const facts = buildInput(b, builderId);
  return {
    image: {
      name,
      digest: b.image.digest,
      provenance: facts.provenance,
      sbom: facts.sbom,
      vulnerabilities: vulns.vulnerabilities,
      vex: vulns.vex,
      signature: signatureInput(b),
      build: facts.build,
      base: baseInput(b),
      chain: {
        intact: b.chain.intact,
        ...(b.chain.firstBroken ? { firstBroken: b.chain.firstBroken } : {}),
      },
    },
    trust: { signingKey: b.signingKey },
  };
}
