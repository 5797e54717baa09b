import { isAbout } from "../attest/index.js";
import type { LinkReport } from "../chain/index.js";
import { evidenceTrust, verifyEvidence } from "../chain/index.js";
import type { SignedBase } from "../compliance/index.js";
import { type Digest, isDigest } from "../core/digest.js";
import { BASE_IMAGE_PREDICATE } from "./build.js";
import type { AppContext } from "./context.js";
import { HEX, verifiedBuildProvenance } from "./provenance.js";

export type { SignedBase } from "../compliance/index.js";

/** The newest base-image attestation about the image, verified. */
async function baseAttestation(
  ctx: AppContext,
  image: Digest,
): Promise<
  | { readonly name: string; readonly digest: Digest; readonly evidence: string }
  | { readonly error: string; readonly evidence: string }
  | undefined
> {
  const links = await ctx.evidence().find({ subject: image, kind: "base-image" });
  const last = links[links.length - 1];
  if (!last) {
    return undefined;
  }
  try {
    const v = verifyEvidence(
      (await ctx.evidence().getBlob(last.evidence)).bytes,
      await evidenceTrust(ctx),
    );
    const base = (v.statement.predicate as { base?: { name?: string; digest?: string } }).base;
    if (v.statement.predicateType !== BASE_IMAGE_PREDICATE) {
      throw new Error(`it is a ${v.statement.predicateType} statement`);
    }
    if (!isAbout(v.statement, image)) {
      throw new Error("it is not about this image");
    }
    if (!base?.name || !isDigest(base.digest ?? "")) {
      throw new Error("it names no base image digest");
    }
    return { name: base.name, digest: base.digest as Digest, evidence: last.evidence };
  } catch (e) {
    return {
      error: `the base-image attestation does not verify: ${(e as Error).message}`,
      evidence: last.evidence,
    };
  }
}

/**
 * The base image from signed records only: the verified base-image attestation the build made,
 * else the base the verified provenance lists (`oci://` among its resolved dependencies, or the
 * chain link's pinned `base`); "scratch" when the verified provenance says so. An annotation of
 * the manifest is not a signed record and never counts here.
 */
export async function signedBaseImage(
  ctx: AppContext,
  image: Digest,
  prov: LinkReport,
): Promise<SignedBase> {
  // a stale provenance link verified (a newer upstream link exists, which is not tampering): what
  // it signs about this image's build still holds; a broken or invalid one is neither read nor cited
  const readable = prov.state === "valid" || prov.state === "stale";
  const pinned = readable ? prov.predicate?.inputs["base"] : undefined;
  const provEvidence = readable && prov.attestation ? [prov.attestation] : [];
  if (pinned === "scratch") {
    return { kind: "scratch", evidence: provEvidence };
  }
  const att = await baseAttestation(ctx, image);
  if (att && "error" in att) {
    return { kind: "invalid", reason: att.error, evidence: [att.evidence] };
  }
  if (att) {
    if (pinned && pinned !== att.name) {
      return {
        kind: "invalid",
        reason: `the base-image attestation names ${att.name}, the signed provenance ${pinned}`,
        evidence: [att.evidence, ...provEvidence],
      };
    }
    return {
      kind: "image",
      name: att.name,
      digest: att.digest,
      by: "the signed base-image attestation",
      evidence: [att.evidence, ...provEvidence],
    };
  }
  const v = await verifiedBuildProvenance(ctx, image, prov);
  const dep =
    "predicate" in v
      ? v.predicate.buildDefinition?.resolvedDependencies?.find(
          (d) => d.uri?.startsWith("oci://") && HEX.test(d.digest?.["sha256"] ?? ""),
        )
      : undefined;
  if (dep?.uri) {
    return {
      kind: "image",
      name: dep.uri.slice("oci://".length),
      digest: `sha256:${dep.digest?.["sha256"]}` as Digest,
      by: "the signed provenance's resolved dependencies",
      evidence: v.evidence,
    };
  }
  const at = pinned?.lastIndexOf("@") ?? -1;
  if (pinned && at > 0 && isDigest(pinned.slice(at + 1))) {
    return {
      kind: "image",
      name: pinned,
      digest: pinned.slice(at + 1) as Digest,
      by: "the signed provenance link",
      evidence: provEvidence,
    };
  }
  return {
    kind: "none",
    reason: readable
      ? "the signed provenance records no base image and no base-image attestation is recorded"
      : "no signed record of the base image: no verified provenance and no base-image attestation",
  };
}
