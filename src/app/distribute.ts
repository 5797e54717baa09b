import { CHAIN_LINK_PREDICATE } from "../attest/index.js";
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
import { ToolError } from "../core/errors.js";
import { type Descriptor, MediaType, parseImageLocation, RegistryClient } from "../oci/index.js";
import type { EvidenceLink } from "../store/index.js";
import { STANDARD_ATTESTATION_KIND, standardStageOf } from "./attestations.js";
import {
  BASE_IMAGE_PREDICATE,
  IMAGE_SIGNATURE_PREDICATE,
  REPRODUCIBLE_PREDICATE,
  SLSA_PROVENANCE_V1,
} from "./build.js";
import type { AppContext } from "./context.js";

/**
 * Evidence in OCI registries: every signed piece of an image's evidence pushed as an OCI 1.1
 * referrer of the image (artifactType = the Sigstore bundle media type, as cosign's new bundle
 * format does; the bundle and the document it signs as layers), through the referrers API or the
 * tag-schema fallback; and pulled back into any store, verified before it is kept and recorded
 * in the audit trail as imported.
 */

const SIGNED_KINDS = ["image-signature", "provenance", "base-image", "reproducibility"];
const EMPTY = new TextEncoder().encode("{}");
const EMPTY_DESC: Descriptor = {
  mediaType: MediaType.OciEmpty,
  digest: sha256(EMPTY),
  size: EMPTY.length,
};

async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}

function clientFor(ctx: AppContext, ref: string): RegistryClient {
  const loc = parseImageLocation(ref);
  if (loc.kind !== "registry" && !(loc.kind === "bare" && loc.ref.domain)) {
    throw new ToolError("CORE_INVALID_ARGUMENT", `${ref} is not a registry reference`, {
      hint: "give docker://HOST/REPO:TAG or HOST/REPO@DIGEST",
    });
  }
  return new RegistryClient(loc.ref, {
    ...(ctx.insecure ? { insecure: true } : {}),
    ...(ctx.credentials ? { credentials: ctx.credentials } : {}),
  });
}

async function subjectOf(client: RegistryClient): Promise<Descriptor> {
  const { descriptor } = await client.getManifest(client.ref.digest ?? client.ref.tag ?? "latest");
  return { mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size };
}

/** The image's current signed evidence: the newest link of each stage and of each signed kind. */
async function currentEvidence(ctx: AppContext, image: Digest): Promise<Map<string, EvidenceLink>> {
  const store = ctx.evidence();
  const latest = new Map<string, EvidenceLink>();
  for (const l of await store.find({ subject: image, kind: ATTESTATION_KIND })) {
    latest.set(`stage ${l.annotations["stage"]}`, l);
  }
  // the newest standard attestation of each stage (attestation export), for cosign and in-toto
  for (const l of await store.find({ subject: image, kind: STANDARD_ATTESTATION_KIND })) {
    latest.set(`standard ${l.annotations["stage"]}`, l);
  }
  for (const kind of SIGNED_KINDS) {
    const ls = await store.find({ subject: image, kind });
    const last = ls[ls.length - 1];
    if (last) {
      latest.set(kind, last);
    }
  }
  return latest;
}

/** The portable form of an image's evidence: what `evidence export` writes and the server takes. */
export interface EvidenceExport {
  readonly image: { readonly name: string; readonly digest: Digest };
  readonly items: readonly {
    /** The Sigstore bundle (JSON). */
    readonly bundle: unknown;
    /** The document a chain link signs, base64. */
    readonly document?: { readonly mediaType: string; readonly content: string };
    readonly kind: string;
  }[];
}

/** The image's current signed evidence, portable (see EvidenceExport). */
export async function exportEvidence(
  ctx: AppContext,
  image: { readonly name: string; readonly digest: Digest },
): Promise<EvidenceExport> {
  const store = ctx.evidence();
  const items: EvidenceExport["items"][number][] = [];
  for (const l of (await currentEvidence(ctx, image.digest)).values()) {
    const bundle = await store.getBlob(l.evidence);
    const doc = l.kind === ATTESTATION_KIND ? l.annotations["evidence"] : undefined;
    const d = doc ? await store.getBlob(doc as Digest) : undefined;
    items.push({
      bundle: JSON.parse(new TextDecoder().decode(bundle.bytes)),
      ...(d
        ? { document: { mediaType: d.mediaType, content: Buffer.from(d.bytes).toString("base64") } }
        : {}),
      kind: l.kind,
    });
  }
  return { image, items };
}

/** The items of a portable export, as `importEvidence` takes them. */
export function itemsOf(e: Pick<EvidenceExport, "items">): EvidenceItem[] {
  return e.items.map((i) => ({
    bundle: new TextEncoder().encode(JSON.stringify(i.bundle)),
    ...(i.document
      ? {
          document: {
            bytes: new Uint8Array(Buffer.from(i.document.content, "base64")),
            mediaType: i.document.mediaType,
          },
        }
      : {}),
    ...(i.kind ? { kind: i.kind } : {}),
  }));
}

/** Pushes the image's current signed evidence to the registry the image is in. */
export async function pushEvidence(
  ctx: AppContext,
  ref: string,
): Promise<{ image: Digest; pushed: number; via: readonly string[] }> {
  const client = clientFor(ctx, ref);
  const subject = await subjectOf(client);
  const store = ctx.evidence();
  const latest = await currentEvidence(ctx, subject.digest);
  if (latest.size === 0) {
    throw new ToolError(
      "CORE_INVALID_ARGUMENT",
      `no signed evidence of ${subject.digest} in this store`,
      {
        hint: "build, sbom or scan the image first (the registry copy must have the same digest)",
      },
    );
  }
  if (!(await client.hasBlob(EMPTY_DESC))) {
    await client.putBlob(EMPTY_DESC, once(EMPTY));
  }
  const via: string[] = [];
  for (const [key, l] of latest) {
    const bundle = await store.getBlob(l.evidence);
    const layers: Descriptor[] = [
      { mediaType: BUNDLE_MEDIA_TYPE, digest: bundle.digest, size: bundle.bytes.length },
    ];
    const blobs = [bundle];
    const doc = l.annotations["evidence"];
    if (l.kind === ATTESTATION_KIND && doc) {
      const d = await store.getBlob(doc as Digest);
      layers.push({ mediaType: d.mediaType, digest: d.digest, size: d.bytes.length });
      blobs.push(d);
    }
    for (const b of blobs) {
      const desc = { mediaType: b.mediaType, digest: b.digest, size: b.bytes.length };
      if (!(await client.hasBlob(desc))) {
        await client.putBlob(desc, once(b.bytes));
      }
    }
    const env = JSON.parse(new TextDecoder().decode(bundle.bytes)).dsseEnvelope as {
      payload: string;
    };
    const predicateType = (
      JSON.parse(Buffer.from(env.payload, "base64").toString("utf8")) as { predicateType: string }
    ).predicateType;
    const manifest = new TextEncoder().encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        artifactType: BUNDLE_MEDIA_TYPE,
        config: EMPTY_DESC,
        layers,
        subject,
        annotations: {
          "dev.sigstore.bundle.content": "dsse-envelope",
          "dev.sigstore.bundle.predicateType": predicateType,
          "dev.cleanimg.kind": key.startsWith("stage ") ? ATTESTATION_KIND : key,
          "org.opencontainers.image.created": l.createdAt,
        },
      }),
    );
    const r = await client.putReferrer(
      { mediaType: MediaType.OciManifest, digest: sha256(manifest), size: manifest.length },
      manifest,
    );
    via.push(r.via);
  }
  return { image: subject.digest, pushed: latest.size, via };
}

/** A signed piece of evidence to import: a Sigstore bundle and, for a chain link, its document. */
export interface EvidenceItem {
  readonly bundle: Uint8Array;
  readonly document?: { readonly bytes: Uint8Array; readonly mediaType: string };
  /** The store kind the sender gave it (the registry annotation); derived when absent. */
  readonly kind?: string;
}

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
      if (!v.statement.subject.some((s) => `sha256:${s.digest["sha256"]}` === image.digest)) {
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
