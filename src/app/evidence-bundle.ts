import { existsSync } from "node:fs";
import { join } from "node:path";
import { isAbout } from "../attest/index.js";
import {
  type ChainReport,
  type EvidenceTrust,
  evidenceTrust,
  identities,
  type LinkReport,
  verifiedStageLinks,
  verifyChain,
  verifyEvidence,
} from "../chain/index.js";
import type {
  EvidenceBundle,
  RemediationEvidence,
  ScanDocument,
  SignatureEvidence,
} from "../compliance/index.js";
import { type Digest, isDigest } from "../core/digest.js";
import type { VexStatement } from "../vex/index.js";
import { keyOfFinding } from "../vex/index.js";
import type { Finding } from "../vuln/index.js";
import { signedBaseImage } from "./base-image.js";
import { IMAGE_SIGNATURE_KIND, IMAGE_SIGNATURE_PREDICATE } from "./build.js";
import { loadConfig } from "./config.js";
import type { AppContext } from "./context.js";
import { discoverEvidence } from "./evidence-import.js";
import { type ImageSubject, resolveSubject } from "./images.js";
import { buildProperties } from "./provenance.js";
import { vulnDbStatus } from "./vulndb.js";

/**
 * Gathers an image's evidence bundle (src/compliance): its chain verified (or the one the caller
 * has just verified), and the documents and records that verified evidence shows. The compliance
 * checks and the policy input are pure functions of it.
 */
export async function gatherEvidence(
  ctx: AppContext,
  ref: string,
  opts: {
    /** The image's chain, when the caller has just verified it. */
    readonly chain?: ChainReport;
    /** Read what SI-2's checks need: first detections and the vulnerability database here. */
    readonly remediation?: boolean;
    /** An image in a registry: discover its evidence there first. */
    readonly discover?: boolean;
    readonly now?: Date;
  } = {},
): Promise<EvidenceBundle> {
  const img = await resolveSubject(ctx, ref);
  const digest = img.digest;
  if (opts.discover && !isDigest(ref)) {
    await discoverEvidence(ctx, ref, digest);
  }
  const chain = opts.chain?.image === digest ? opts.chain : await verifyChain(ctx, digest);
  const link = (s: LinkReport["stage"]): LinkReport =>
    chain.links.find((l) => l.stage === s) as LinkReport;
  const config = await loadConfig(ctx);
  const prov = link("provenance");
  const scan = await verifiedDocument<ScanDocument>(ctx, link("scan"));
  const vex = await verifiedDocument<{ statements: VexStatement[] }>(ctx, link("vex"));
  return {
    image: subjectOf(img),
    chain,
    now: opts.now ?? new Date(),
    requirements: {
      ...(config.requiredSlsaBuildLevel !== undefined
        ? { requiredSlsaBuildLevel: config.requiredSlsaBuildLevel }
        : {}),
      ...(config.approvedBaseImages ? { approvedBaseImages: config.approvedBaseImages } : {}),
      configFile: join(ctx.home, "config.json"),
    },
    ...(scan ? { scan } : {}),
    ...(vex ? { vex } : {}),
    signature: await verifiedImageSignature(ctx, digest),
    base: await signedBaseImage(ctx, digest, prov),
    build: await buildProperties(ctx, digest, prov),
    signingKey: (await identities(ctx)).signing.keyid,
    ...(opts.remediation ? { remediation: await remediationEvidence(ctx, digest) } : {}),
  };
}

function subjectOf(img: ImageSubject): EvidenceBundle["image"] {
  return {
    reference: img.reference,
    digest: img.digest,
    ...(img.annotations ? { annotations: img.annotations } : {}),
    manifestKnown: img.manifestKnown,
  };
}

/** A verified link's evidence document; undefined when the link does not verify. */
async function verifiedDocument<T>(ctx: AppContext, l: LinkReport): Promise<T | undefined> {
  return l.state === "valid" && l.evidence
    ? (JSON.parse(new TextDecoder().decode((await ctx.evidence().getBlob(l.evidence)).bytes)) as T)
    : undefined;
}

/**
 * The image's newest "image-signature" evidence, its bundle verified with what the store trusts
 * (or `trust`): signature by a trusted key, transparency-log inclusion, and its statement an
 * image signature about this digest.
 */
export async function verifiedImageSignature(
  ctx: AppContext,
  image: Digest,
  trust?: EvidenceTrust,
): Promise<SignatureEvidence> {
  const sigs = await ctx.evidence().find({ subject: image, kind: IMAGE_SIGNATURE_KIND });
  const last = sigs[sigs.length - 1];
  if (!last) {
    return { kind: "none" };
  }
  let v: ReturnType<typeof verifyEvidence>;
  try {
    v = verifyEvidence(
      (await ctx.evidence().getBlob(last.evidence)).bytes,
      trust ?? (await evidenceTrust(ctx)),
    );
  } catch (e) {
    return { kind: "invalid", reason: (e as Error).message, evidence: last.evidence };
  }
  if (v.statement.predicateType !== IMAGE_SIGNATURE_PREDICATE || !isAbout(v.statement, image)) {
    return {
      kind: "invalid",
      reason: "the signature is not an image signature for this digest",
      evidence: last.evidence,
      keyids: v.keyids,
    };
  }
  return {
    kind: "valid",
    keyids: v.keyids,
    ...(v.logIndex !== undefined ? { logIndex: v.logIndex } : {}),
    evidence: last.evidence,
  };
}

/** First detections from the signed scan links, and the vulnerability database here. */
async function remediationEvidence(ctx: AppContext, image: Digest): Promise<RemediationEvidence> {
  const db = existsSync(join(ctx.home, "vulndb", "vuln.db")) ? vulnDbStatus(ctx) : undefined;
  return {
    firstDetected: await firstDetections(ctx, image),
    ...(db ? { database: { snapshot: db.snapshot, records: db.records } } : {}),
  };
}

/**
 * When each finding was first detected: the signed creation time of the earliest scan link of
 * this image whose document lists it, among the links that verify as the chain's do and that
 * the audit log recorded (the store's own timestamps are not signed, and a signed link the audit
 * log never recorded dates nothing).
 */
async function firstDetections(ctx: AppContext, image: Digest): Promise<Map<string, string>> {
  const store = ctx.evidence();
  const first = new Map<string, string>();
  for (const { predicate: p } of await verifiedStageLinks(ctx, image, "scan")) {
    let doc: { findings?: Finding[] };
    try {
      doc = JSON.parse(new TextDecoder().decode((await store.getBlob(p.evidence.digest)).bytes));
    } catch {
      continue; // a scan link whose document is gone or altered dates nothing
    }
    for (const f of Array.isArray(doc.findings) ? doc.findings : []) {
      const k = keyOfFinding(f);
      const at = first.get(k);
      if (!at || p.created < at) {
        first.set(k, p.created);
      }
    }
  }
  return first;
}
