import { ATTESTATION_KIND, BUNDLE_MEDIA_TYPE, indexedPrevious } from "../chain/index.js";
import { type Digest, sha256 } from "../core/digest.js";
import { ToolError } from "../core/errors.js";
import {
  type Descriptor,
  EMPTY_DESCRIPTOR,
  EMPTY_JSON,
  MediaType,
  parseImageLocation,
  RegistryClient,
  streamOf,
} from "../oci/index.js";
import type { EvidenceLink } from "../store/index.js";
import { STANDARD_ATTESTATION_KIND } from "./attestations.js";
import type { AppContext } from "./context.js";

/**
 * Evidence in OCI registries: every signed piece of an image's evidence pushed as an OCI 1.1
 * referrer of the image (artifactType = the Sigstore bundle media type, as cosign's new bundle
 * format does; the bundle and the document it signs as layers), through the referrers API or the
 * tag-schema fallback; and pulled back into any store, verified before it is kept and recorded
 * in the audit trail as imported.
 */

const SIGNED_KINDS = ["image-signature", "provenance", "base-image", "reproducibility"];
export function clientFor(ctx: AppContext, ref: string): RegistryClient {
  const loc = parseImageLocation(ref);
  if (loc.kind !== "registry" && !(loc.kind === "bare" && loc.ref.domain)) {
    throw new ToolError("OCI_INVALID_REFERENCE", `${ref} is not a registry reference`, {
      hint: "give docker://HOST/REPO:TAG or HOST/REPO@DIGEST",
    });
  }
  return new RegistryClient(loc.ref, {
    ...(ctx.insecure ? { insecure: true } : {}),
    ...(ctx.credentials ? { credentials: ctx.credentials } : {}),
  });
}

export async function subjectOf(client: RegistryClient): Promise<Descriptor> {
  const { descriptor } = await client.getManifest(client.ref.digest ?? client.ref.tag ?? "latest");
  return { mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size };
}

/** The image's current signed evidence: the newest link of each stage and of each signed kind. */
async function currentEvidence(ctx: AppContext, image: Digest): Promise<Map<string, EvidenceLink>> {
  const store = ctx.evidence();
  const latest = new Map<string, EvidenceLink>();
  const chain = await store.find({ subject: image, kind: ATTESTATION_KIND });
  for (const l of chain) {
    latest.set(`stage ${l.annotations["stage"]}`, l);
  }
  // and every older link a current one was made from (a decision made before a re-scan names the
  // scan it judged): without them the receiving store would see links that were never recorded
  const byEnvelope = new Map(chain.map((l) => [l.annotations["envelope"], l]));
  const pending = [...latest.values()];
  for (let l = pending.pop(); l; l = pending.pop()) {
    for (const p of indexedPrevious(l.annotations) ?? []) {
      const older = byEnvelope.get(p.envelope);
      const key = `stage ${p.stage}@${p.envelope}`;
      if (older && ![...latest.values()].includes(older) && !latest.has(key)) {
        latest.set(key, older);
        pending.push(older);
      }
    }
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
      "STORE_NOT_FOUND",
      `no signed evidence of ${subject.digest} in this store`,
      {
        hint: "build, sbom or scan the image first (the registry copy must have the same digest)",
      },
    );
  }
  if (!(await client.hasBlob(EMPTY_DESCRIPTOR))) {
    await client.putBlob(EMPTY_DESCRIPTOR, streamOf(EMPTY_JSON));
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
        await client.putBlob(desc, streamOf(b.bytes));
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
        config: EMPTY_DESCRIPTOR,
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
