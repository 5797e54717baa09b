import { CHAIN_LINK_PREDICATE, isAbout } from "../attest/index.js";
import {
  ATTESTATION_KIND,
  BUNDLE_MEDIA_TYPE,
  type ChainLinkPredicate,
  evidenceTrust,
  linkAnnotations,
  recordAuditEvent,
  verifyEvidence,
} from "../chain/index.js";
import { type Digest, sha256 } from "../core/digest.js";
import { type Descriptor, parseImageLocation } from "../oci/index.js";
import { STANDARD_ATTESTATION_KIND, standardStageOf } from "./attestations.js";
import {
  BASE_IMAGE_PREDICATE,
  IMAGE_SIGNATURE_PREDICATE,
  REPRODUCIBLE_PREDICATE,
  SLSA_PROVENANCE_V1,
} from "./build.js";
import type { AppContext } from "./context.js";
import { clientFor, type EvidenceItem, subjectOf } from "./distribute.js";

/** Evidence from elsewhere (a file, a registry), verified before it is kept. */

export interface ImportResult {
  readonly image: Digest;
  readonly imported: number;
  readonly rejected: readonly { readonly digest: string; readonly reason: string }[];
}

/** The store kind of a statement that is not a chain link. */
const KIND_OF_PREDICATE: Readonly<Record<string, string>> = {
  [IMAGE_SIGNATURE_PREDICATE]: "image-signature",
  [SLSA_PROVENANCE_V1]: "provenance",
  [BASE_IMAGE_PREDICATE]: "base-image",
  [REPRODUCIBLE_PREDICATE]: "reproducibility",
};

/**
 * Imports signed evidence about an image into this store. Each bundle is verified (trusted key,
 * trusted log, about this image; a chain link's document present and the one it signs) before
 * anything of it is kept; what fails is rejected with its reason and the rest still imported.
 * Chain links are imported in the order they were made, each with its audit event in one
 * transaction; re-importing what is already here changes nothing.
 */
export async function importEvidence(
  ctx: AppContext,
  image: { readonly digest: Digest; readonly name: string },
  items: readonly EvidenceItem[],
  source: { readonly source: string; readonly actor?: string },
): Promise<ImportResult> {
  const trust = await evidenceTrust(ctx);
  const store = ctx.evidence();
  const rejected: { digest: string; reason: string }[] = [];
  const accepted: (EvidenceItem & { kind: string; predicate: unknown; predicateType: string })[] =
    [];
  for (const item of items) {
    try {
      const v = verifyEvidence(item.bundle, trust);
      if (!isAbout(v.statement, image.digest)) {
        throw new Error("the bundle is about another image");
      }
      const chain = v.statement.predicateType === CHAIN_LINK_PREDICATE;
      const kind = chain
        ? ATTESTATION_KIND
        : (KIND_OF_PREDICATE[v.statement.predicateType] ?? item.kind ?? "attestation-other");
      if (kind === ATTESTATION_KIND && !chain) {
        throw new Error(`a ${v.statement.predicateType} statement is not a chain link`);
      }
      accepted.push({
        ...item,
        kind,
        predicate: v.statement.predicate,
        predicateType: v.statement.predicateType,
      });
    } catch (e) {
      rejected.push({ digest: sha256(item.bundle), reason: (e as Error).message });
    }
  }
  // chain links in the order they were made, so that the newest stays the current one
  const created = (a: (typeof accepted)[number]): string =>
    a.predicateType === CHAIN_LINK_PREDICATE
      ? ((a.predicate as ChainLinkPredicate).created ?? "")
      : "";
  accepted.sort((a, b) => (created(a) < created(b) ? -1 : created(a) > created(b) ? 1 : 0));
  const known = new Set(
    (await store.find({ subject: image.digest })).map((l) => `${l.kind} ${l.evidence}`),
  );
  let imported = 0;
  for (const a of accepted) {
    const bundleDigest = sha256(a.bundle);
    if (known.has(`${a.kind} ${bundleDigest}`)) {
      continue;
    }
    const standardStage =
      a.kind === STANDARD_ATTESTATION_KIND ? standardStageOf(a.predicateType) : undefined;
    let annotations: Record<string, string> = {
      predicateType: a.predicateType,
      ...(standardStage ? { stage: standardStage } : {}),
    };
    let evidence: Record<string, string> = { attestation: bundleDigest };
    let details: Record<string, string> = { kind: a.kind, source: source.source };
    if (a.predicateType === CHAIN_LINK_PREDICATE) {
      const p = a.predicate as ChainLinkPredicate;
      if (!a.document || sha256(a.document.bytes) !== p.evidence.digest) {
        rejected.push({
          digest: bundleDigest,
          reason: "the evidence document is missing or is not the one the link signs",
        });
        continue;
      }
      const env = JSON.parse(new TextDecoder().decode(a.bundle)).dsseEnvelope;
      const envelope = sha256(new TextEncoder().encode(JSON.stringify(env)));
      annotations = linkAnnotations({
        stage: p.stage,
        envelope,
        evidence: p.evidence.digest,
        created: p.created,
        image: image.name,
        inputs: p.inputs,
        previous: Array.isArray(p.previous) ? p.previous : [],
      });
      evidence = { attestation: bundleDigest, envelope, document: p.evidence.digest };
      details = { stage: p.stage, source: source.source };
    }
    // blobs first (content-addressed, harmless alone), then the link with its audit event
    await store.putBlob(a.bundle, BUNDLE_MEDIA_TYPE);
    if (a.document) {
      await store.putBlob(a.document.bytes, a.document.mediaType);
    }
    await recordAuditEvent(
      ctx,
      {
        action: "evidence-import",
        subject: image.digest,
        subjectName: image.name,
        evidence,
        details,
        ...(source.actor ? { actor: source.actor } : {}),
      },
      [{ subject: image.digest, evidence: bundleDigest, kind: a.kind, annotations }],
    );
    known.add(`${a.kind} ${bundleDigest}`);
    imported++;
  }
  return { image: image.digest, imported, rejected };
}

/**
 * Pulls an image's evidence from its registry into this store, verified and audited as
 * `importEvidence` does.
 */
export async function pullEvidence(ctx: AppContext, ref: string): Promise<ImportResult> {
  const client = clientFor(ctx, ref);
  const subject = await subjectOf(client);
  const { index } = await client.referrers(subject.digest, BUNDLE_MEDIA_TYPE);
  const rejected: { digest: string; reason: string }[] = [];
  const items: EvidenceItem[] = [];
  const read = async (d: Descriptor): Promise<Uint8Array> => {
    const parts: Uint8Array[] = [];
    for await (const c of client.blob(d)) {
      parts.push(c);
    }
    return Buffer.concat(parts);
  };
  for (const m of index.manifests) {
    try {
      const { bytes } = await client.getManifest(m.digest);
      const man = JSON.parse(new TextDecoder().decode(bytes)) as {
        layers: Descriptor[];
        annotations?: Record<string, string>;
      };
      // layer 0 is the bundle, layer 1 (when present) the document it signs
      const [bundleDesc, docDesc] = man.layers;
      if (bundleDesc?.mediaType !== BUNDLE_MEDIA_TYPE) {
        throw new Error("the first layer is not a Sigstore bundle");
      }
      const kind = man.annotations?.["dev.cleanimg.kind"];
      items.push({
        bundle: await read(bundleDesc),
        ...(docDesc
          ? { document: { bytes: await read(docDesc), mediaType: docDesc.mediaType } }
          : {}),
        ...(kind ? { kind } : {}),
      });
    } catch (e) {
      rejected.push({ digest: m.digest, reason: (e as Error).message });
    }
  }
  const r = await importEvidence(ctx, { digest: subject.digest, name: ref }, items, {
    source: ref,
  });
  return { ...r, rejected: [...rejected, ...r.rejected] };
}

/**
 * When this store holds no evidence of an image that lives in a registry, pulls it from there
 * (verified as `pullEvidence` does). Returns what was imported, or undefined when nothing was
 * needed or the image is not in a registry.
 */
export async function discoverEvidence(
  ctx: AppContext,
  ref: string,
  digest: Digest,
): Promise<{ imported: number; rejected: number } | undefined> {
  const loc = parseImageLocation(ref);
  const remote = loc.kind === "registry" || (loc.kind === "bare" && loc.explicitRegistry);
  if (
    !remote ||
    (await ctx.evidence().find({ subject: digest, kind: ATTESTATION_KIND, limit: 1 })).length > 0
  ) {
    return undefined;
  }
  if (loc.kind === "bare" && (await ctx.local.find(loc.ref))) {
    return undefined; // the local image store has it: its evidence is local too
  }
  const r = await pullEvidence(ctx, ref);
  return { imported: r.imported, rejected: r.rejected.length };
}
