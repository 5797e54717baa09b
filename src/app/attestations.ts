import { statement } from "../attest/index.js";
import { actor, recordAuditEvent, signStatement, verifyChain } from "../chain/index.js";
import type { Digest } from "../core/digest.js";
import { ToolError } from "../core/errors.js";
import { renderOpenVex, type VexStatement } from "../vex/index.js";
import type { Finding } from "../vuln/index.js";
import type { AppContext } from "./context.js";
import { resolveSubject } from "./images.js";
import { TOOL } from "./sbom.js";

export const OPENVEX_PREDICATE = "https://openvex.dev/ns/v0.2.0";
export const VULNS_PREDICATE = "https://in-toto.io/attestation/vulns/v0.2";
export const STANDARD_ATTESTATION_KIND = "standard-attestation";

import { STANDARD_STAGES, type StandardStage } from "./names.js";

export { STANDARD_STAGES, type StandardStage };

/** The stage a standard attestation's predicate type belongs to (for imported ones). */
export function standardStageOf(predicateType: string): StandardStage | undefined {
  if (predicateType === VULNS_PREDICATE) {
    return "scan";
  }
  if (predicateType === OPENVEX_PREDICATE) {
    return "vex";
  }
  if (
    predicateType.startsWith("https://spdx.dev/Document") ||
    predicateType === "https://cyclonedx.org/bom"
  ) {
    return "sbom";
  }
  return undefined;
}

export interface StandardAttestation {
  readonly stage: StandardStage;
  readonly predicateType: string;
  /** The Sigstore bundle (v0.3, DSSE over the in-toto statement) as stored. */
  readonly bytes: Uint8Array;
  readonly digest: Digest;
  /** The chain link (DSSE envelope digest) whose evidence document it carries. */
  readonly derivedFrom: Digest;
}

interface ScanDocument {
  readonly dbSnapshot: string;
  readonly scanned: string;
  readonly findings: readonly Finding[];
}

function cvssMethod(from: string): string | undefined {
  return from.startsWith("CVSS:4.0")
    ? "CVSSv4"
    : from.startsWith("CVSS:3.1")
      ? "CVSSv31"
      : from.startsWith("CVSS:3.0")
        ? "CVSSv3"
        : undefined;
}

/**
 * A scan as the in-toto vulnerability predicate (v0.2): the scanner and the database snapshot it
 * used, one result per finding with its computed CVSS score and the package it was found in.
 */
export function vulnsPredicate(scan: ScanDocument): Record<string, unknown> {
  return {
    scanner: {
      uri: "https://cleanimg.dev",
      version: TOOL.version,
      db: { uri: "cleanimg:vulndb", version: scan.dbSnapshot },
      result: scan.findings.map((f) => {
        const method = f.rating?.score !== undefined ? cvssMethod(f.rating.from) : undefined;
        return {
          id: f.id,
          severity:
            method && f.rating?.score !== undefined
              ? [{ method, score: String(f.rating.score) }]
              : f.rating
                ? [{ method: f.rating.from, score: f.rating.severity }]
                : [],
          annotations: [
            {
              purl: f.package.purl,
              installed: f.package.version,
              status: f.status,
              source: f.source,
              ...(f.fixedIn ? { fixedIn: f.fixedIn } : {}),
              ...(f.aliases.length ? { aliases: f.aliases.join(",") } : {}),
            },
          ],
        };
      }),
    },
    metadata: { scanStartedOn: scan.scanned, scanFinishedOn: scan.scanned },
  };
}

/**
 * The standard attestation of one chain link's evidence, in the shape cosign's `attest --type`
 * and in-toto consumers expect: an in-toto Statement about the image whose predicate is the whole
 * document (SPDX / CycloneDX SBOM, OpenVEX, the in-toto vulnerability predicate; SLSA provenance
 * is one already). Made only from a link that verifies; signed with the same key and logged in
 * the embedded log like every signature; recorded in the audit trail with the link it came from.
 * @throws ToolError CHAIN_LINK_UNUSABLE when the link is missing or does not verify
 */
export async function deriveStandardAttestation(
  ctx: AppContext,
  ref: string,
  stage: StandardStage,
): Promise<StandardAttestation> {
  const subject = await resolveSubject(ctx, ref);
  const chain = await verifyChain(ctx, subject.digest);
  const link = chain.links.find((l) => l.stage === stage);
  if (link?.state !== "valid" || !link.predicate || !link.envelope) {
    throw new ToolError(
      "CHAIN_LINK_UNUSABLE",
      `the ${stage} link of ${subject.digest} is ${link?.state ?? "not-recorded"}${link?.reason ? `: ${link.reason}` : ""}`,
      {
        hint: "a standard attestation is made only from a link that verifies (cleanimg-init verify)",
      },
    );
  }
  const store = ctx.evidence();
  const doc = (await store.getBlob(link.predicate.evidence.digest)).bytes;
  if (stage === "provenance") {
    // the provenance link's evidence is itself a signed SLSA provenance statement
    return {
      stage,
      predicateType: link.predicate.evidence.predicateType ?? "",
      bytes: doc,
      digest: link.predicate.evidence.digest,
      derivedFrom: link.envelope,
    };
  }
  const parsed = JSON.parse(new TextDecoder().decode(doc)) as Record<string, unknown>;
  let predicateType: string;
  let predicate: unknown;
  if (stage === "sbom") {
    const t = link.predicate.evidence.predicateType;
    if (!t) {
      throw new ToolError("CHAIN_LINK_UNUSABLE", "the SBOM link names no predicate type");
    }
    predicateType = t;
    predicate = parsed;
  } else if (stage === "scan") {
    predicateType = VULNS_PREDICATE;
    predicate = vulnsPredicate(parsed as unknown as ScanDocument);
  } else {
    const statements = (parsed["statements"] ?? []) as VexStatement[];
    if (statements.length === 0) {
      throw new ToolError(
        "CHAIN_LINK_UNUSABLE",
        "the VEX link holds no statements: OpenVEX needs at least one",
      );
    }
    predicateType = OPENVEX_PREDICATE;
    predicate = JSON.parse(
      renderOpenVex(statements, {
        author: actor(ctx.settings.author),
        timestamp: link.predicate.created,
        tool: TOOL,
      }),
    );
  }
  const name = subject.reference.startsWith("sha256:") ? subject.digest : subject.reference;
  const signed = await signStatement(
    ctx,
    statement([{ name, digest: subject.digest }], predicateType, predicate),
  );
  const digest = await store.putBlob(signed.bytes, "application/vnd.dev.sigstore.bundle.v0.3+json");
  await recordAuditEvent(
    ctx,
    {
      action: "attest",
      subject: subject.digest,
      subjectName: name,
      evidence: { attestation: digest, derivedFrom: link.envelope },
      details: { derivedStage: stage, predicateType },
    },
    [
      {
        subject: subject.digest,
        evidence: digest,
        kind: STANDARD_ATTESTATION_KIND,
        annotations: { stage, predicateType, derivedFrom: link.envelope },
      },
    ],
  );
  return { stage, predicateType, bytes: signed.bytes, digest, derivedFrom: link.envelope };
}
