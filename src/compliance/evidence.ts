import type { ChainReport, LinkReport } from "../chain/index.js";
import type { Digest } from "../core/digest.js";
import type { VexStatement } from "../vex/index.js";
import type { DataFreshness, DistroSupport, Finding } from "../vuln/index.js";

/**
 * What the compliance checks and the policy input read about one image: its verified chain and
 * the documents and records that verified evidence shows, gathered once by the application
 * (src/app/evidence-bundle.ts). Nothing here is read from an unverified record: a link that does
 * not verify leaves its document out, and the checks say UNKNOWN or FAIL for it.
 */
export interface EvidenceBundle {
  readonly image: {
    readonly reference: string;
    readonly digest: Digest;
    /** The manifest's annotations (unsigned: shown, never relied on). */
    readonly annotations?: Readonly<Record<string, string>>;
    /** Whether the image's manifest is available here (else only its digest is known). */
    readonly manifestKnown: boolean;
  };
  readonly chain: ChainReport;
  /** The time deadlines and data ages are measured at. */
  readonly now: Date;
  /** What the site's configuration requires. */
  readonly requirements: {
    readonly requiredSlsaBuildLevel?: number;
    readonly approvedBaseImages?: readonly string[];
    /** Where those are configured, for the messages that name it. */
    readonly configFile: string;
  };
  /** The verified scan link's document. */
  readonly scan?: ScanDocument;
  /** The verified VEX link's statements. */
  readonly vex?: { readonly statements: readonly VexStatement[] };
  /** The image's newest signature, verified. */
  readonly signature: SignatureEvidence;
  /** The base image, from signed records only. */
  readonly base: SignedBase;
  /** The build's properties, from the verified provenance only. */
  readonly build: BuildProperties;
  /** The key the store signs with. */
  readonly signingKey: string;
  /** What the flaw-remediation (SI-2) checks read, when gathered. */
  readonly remediation?: RemediationEvidence;
}

/** A scan document as the scan link records it. */
export interface ScanDocument {
  readonly findings: readonly Finding[];
  readonly unassessed?: readonly { readonly ecosystem: string; readonly packages: number }[];
  readonly dataFreshness?: DataFreshness;
  readonly distroSupport?: DistroSupport;
}

/** First detections and the vulnerability database here, for SI-2's deadlines and snapshot. */
export interface RemediationEvidence {
  /**
   * When each finding (by its VEX join key) was first detected: the signed creation time of the
   * earliest verified scan link of this image that lists it.
   */
  readonly firstDetected: ReadonlyMap<string, string>;
  /** The vulnerability database here, when there is one. */
  readonly database?: { readonly snapshot: string; readonly records: number };
}

/** The image's newest image signature, as verification found it. */
export type SignatureEvidence =
  | { readonly kind: "none" }
  | {
      readonly kind: "valid";
      readonly keyids: readonly string[];
      readonly logIndex?: number;
      readonly evidence: Digest;
    }
  | {
      readonly kind: "invalid";
      readonly reason: string;
      readonly evidence: Digest;
      /** The keys whose signature verified, when it verified but is not about this image. */
      readonly keyids?: readonly string[];
    };

/** The base image as the build's signed records name it. */
export type SignedBase =
  | { readonly kind: "scratch"; readonly evidence: readonly string[] }
  | {
      readonly kind: "image";
      readonly name: string;
      readonly digest: Digest;
      /** Which signed record names it. */
      readonly by: string;
      readonly evidence: readonly string[];
    }
  | { readonly kind: "invalid"; readonly reason: string; readonly evidence: readonly string[] }
  | { readonly kind: "none"; readonly reason: string };

export type BuildProperty = true | false | "unknown";

export interface BuildProperties {
  /** No network during assembly and every input pinned by digest, as the provenance records. */
  readonly hermetic: BuildProperty;
  /** The assembly ran isolated from the build host (a sandbox the provenance records). */
  readonly isolated: BuildProperty;
  /** Why each is what it is. */
  readonly detail: string;
  readonly evidence: readonly string[];
}

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

/** The image's link of a stage (every stage has a report, "not-recorded" when absent). */
export const linkOf = (b: EvidenceBundle, stage: LinkReport["stage"]): LinkReport =>
  b.chain.links.find((l) => l.stage === stage) as LinkReport;

/** A link whose evidence can be relied on. */
export const usable = (l: LinkReport): boolean => l.state === "valid";

/** The digests a check rests on: each link's attestation and the evidence document it signs. */
export const ev = (...ls: LinkReport[]): string[] =>
  ls.flatMap((l) => (l.attestation ? [l.attestation, ...(l.evidence ? [l.evidence] : [])] : []));

/** Why a scan or VEX link's document cannot be used. */
export function notUsable(l: LinkReport, what: string): string {
  return l.state === "not-recorded"
    ? `no ${what} recorded: run cleanimg-init scan`
    : `the ${what} link is ${l.state}: ${l.reason ?? ""}`;
}

/** The SBOM's format as users name it, from the SBOM link ("spdx-3" records SPDX 3.0.1). */
export function sbomFormat(sbom: LinkReport): string {
  const f = sbom.predicate?.inputs["format"];
  return f === "spdx-3" ? SPDX_3 : (f ?? "");
}

export const SPDX_3 = "spdx-3.0.1";
