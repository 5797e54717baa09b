import { BUNDLE_MEDIA_TYPE, CHAIN_LINK_PREDICATE, statement } from "../attest/index.js";
import { type Digest, sha256 } from "../core/digest.js";
import type { EvidenceLink } from "../store/index.js";
import { recordAuditEvent } from "./audit.js";
import type { ChainContext } from "./context.js";
import { signStatement } from "./sign.js";

/**
 * The evidence chain: source -> provenance -> SBOM -> scan -> VEX -> policy -> deployment. Each
 * link is a signed, logged in-toto statement about the image (predicate CHAIN_LINK_PREDICATE)
 * that names the evidence document by digest and the envelope of the link(s) it was made from.
 * Recording a link also records an audit event; the audit trail is what tells a deleted or
 * replaced link from one that was never made.
 */

export const ATTESTATION_KIND = "attestation";
export const STAGES = ["provenance", "sbom", "scan", "vex", "policy", "deployment"] as const;
export type Stage = (typeof STAGES)[number];

export interface ChainLinkPredicate {
  readonly stage: Stage;
  /** When the link was made (ISO 8601): signed, unlike the store's own timestamps. */
  readonly created: string;
  readonly tool: string;
  /** The evidence document, stored content-addressed. */
  readonly evidence: {
    readonly digest: Digest;
    readonly mediaType: string;
    /** The standard predicate type of the document (SPDX, CycloneDX, OpenVEX, …). */
    readonly predicateType?: string;
  };
  /** The links this one was made from: their stage and DSSE envelope digest. */
  readonly previous: readonly { readonly stage: Stage; readonly envelope: Digest }[];
  /** Other inputs by digest (the vulnerability database snapshot, a source commit, …). */
  readonly inputs: Readonly<Record<string, string>>;
}

/** A link as recorded in the store. */
export interface RecordedLink {
  readonly stage: Stage;
  /** Digest of the Sigstore bundle (the attestation blob). */
  readonly attestation: Digest;
  /** Digest of the DSSE envelope (what later links refer to, what the log records). */
  readonly envelope: Digest;
  readonly evidence: Digest;
  readonly created: string;
}

export const toRecorded = (l: EvidenceLink): RecordedLink | undefined => {
  const a = l.annotations;
  return a["stage"] && a["envelope"] && a["evidence"] && a["created"]
    ? {
        stage: a["stage"] as Stage,
        attestation: l.evidence,
        envelope: a["envelope"] as Digest,
        evidence: a["evidence"] as Digest,
        created: a["created"],
      }
    : undefined;
};

/** The store's index entry of a chain link (what `find` filters and `toRecorded` reads). */
export function linkAnnotations(a: {
  stage: Stage;
  envelope: Digest;
  evidence: Digest;
  created: string;
  image: string;
  inputs: Readonly<Record<string, string>>;
  previous: ChainLinkPredicate["previous"];
}): Record<string, string> {
  return {
    stage: a.stage,
    envelope: a.envelope,
    evidence: a.evidence,
    created: a.created,
    image: a.image,
    previous: a.previous.map((p) => `${p.stage}@${p.envelope}`).join(","),
    ...(a.inputs["slsaBuildLevel"] ? { slsaBuildLevel: a.inputs["slsaBuildLevel"] } : {}),
    ...(a.inputs["unassessed"] ? { unassessed: a.inputs["unassessed"] } : {}),
  };
}

/**
 * The links an index entry says its link was made from (`previous`, as linkAnnotations writes
 * it); undefined for an entry recorded before the index held them.
 */
export function indexedPrevious(
  annotations: Readonly<Record<string, string>>,
): ChainLinkPredicate["previous"] | undefined {
  const v = annotations["previous"];
  if (v === undefined) {
    return undefined;
  }
  return v
    .split(",")
    .filter((p) => p.includes("@"))
    .map((p) => {
      const at = p.indexOf("@");
      return { stage: p.slice(0, at) as Stage, envelope: p.slice(at + 1) as Digest };
    });
}

/**
 * The stages whose link in effect is stale by the store's index alone (nothing verified): a link
 * made from another link than its predecessor in effect, or from a stale one. This is the rule
 * verifyChain applies to the verified links' own references; an entry without references in the
 * index (recorded before it held them) falls back to signed times, made before its predecessor.
 * `inEffect`: each stage's link in effect, by its index entry.
 */
export function staleInIndex(inEffect: ReadonlyMap<string, EvidenceLink>): Set<Stage> {
  const stale = new Set<Stage>();
  for (const [i, stage] of STAGES.entries()) {
    const l = inEffect.get(stage);
    if (!l) {
      continue;
    }
    const refs = indexedPrevious(l.annotations);
    const made = (s: Stage): boolean => {
      const ref = inEffect.get(s);
      return ref === undefined || refs === undefined
        ? (ref?.annotations["created"] ?? "") <= (l.annotations["created"] ?? "")
        : refs.some((p) => p.stage === s && p.envelope === ref.annotations["envelope"]);
    };
    const upstream = refs ? refs.map((p) => p.stage) : STAGES.slice(Math.max(0, i - 1), i);
    if (upstream.some((s) => inEffect.has(s) && (stale.has(s) || !made(s)))) {
      stale.add(stage);
    }
  }
  return stale;
}

/**
 * The link of a stage in effect: the one made last by its own signed time (`created`), not the
 * one the store received last (evidence made elsewhere can be imported after links made here
 * from newer ones); on equal times, the later arrival. `links` in the store's (arrival) order.
 */
export function linkInEffect(links: readonly RecordedLink[]): RecordedLink | undefined {
  let best: RecordedLink | undefined;
  for (const l of links) {
    if (!best || l.created >= best.created) {
      best = l;
    }
  }
  return best;
}

/** The link in effect of a stage for an image, as the store indexes it (not verified). */
export async function latestLink(
  ctx: ChainContext,
  image: Digest,
  stage: Stage,
): Promise<RecordedLink | undefined> {
  const rows = await ctx.evidence().find({ subject: image, kind: ATTESTATION_KIND });
  return linkInEffect(rows.map(toRecorded).filter((r): r is RecordedLink => r?.stage === stage));
}

/**
 * Records a link: signs the statement, logs it, stores the bundle linked to the image, and
 * appends the audit event. The evidence document must already be stored.
 */
export async function recordChainLink(
  ctx: ChainContext,
  l: {
    readonly image: { readonly name: string; readonly digest: Digest };
    readonly stage: Stage;
    readonly evidence: ChainLinkPredicate["evidence"];
    readonly previous: readonly RecordedLink[];
    readonly inputs?: Readonly<Record<string, string>>;
    readonly tool: string;
    readonly created?: string;
    /** Extra details for the audit event (a policy decision's outcome, …). */
    readonly details?: Readonly<Record<string, string>>;
    /** Who acted, for the audit event (default: this process's user). */
    readonly actor?: string;
  },
): Promise<RecordedLink> {
  const created = l.created ?? new Date().toISOString();
  const predicate: ChainLinkPredicate = {
    stage: l.stage,
    created,
    tool: l.tool,
    evidence: l.evidence,
    previous: l.previous.map((p) => ({ stage: p.stage, envelope: p.envelope })),
    inputs: l.inputs ?? {},
  };
  const signed = await signStatement(
    ctx,
    statement([{ name: l.image.name, digest: l.image.digest }], CHAIN_LINK_PREDICATE, predicate),
  );
  const envelope = sha256(new TextEncoder().encode(JSON.stringify(signed.bundle.dsseEnvelope)));
  const store = ctx.evidence();
  const attestation = await store.putBlob(signed.bytes, BUNDLE_MEDIA_TYPE);
  // the link and the audit event that records it are made together or not at all
  await recordAuditEvent(
    ctx,
    {
      action: l.stage === "provenance" ? "build" : l.stage,
      subject: l.image.digest,
      subjectName: l.image.name,
      evidence: { attestation, envelope, document: l.evidence.digest },
      details: { ...l.details, stage: l.stage },
      time: created,
      ...(l.actor ? { actor: l.actor } : {}),
    },
    [
      {
        subject: l.image.digest,
        evidence: attestation,
        kind: ATTESTATION_KIND,
        annotations: linkAnnotations({
          stage: l.stage,
          envelope,
          evidence: l.evidence.digest,
          created,
          image: l.image.name,
          inputs: l.inputs ?? {},
          previous: predicate.previous,
        }),
      },
    ],
  );
  return { stage: l.stage, attestation, envelope, evidence: l.evidence.digest, created };
}
