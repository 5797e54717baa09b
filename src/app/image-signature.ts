import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { keyIdOf, loadPublicKey } from "../attest/index.js";
import { type EvidenceTrust, evidenceTrust, verifyEvidence } from "../chain/index.js";
import type { Digest } from "../core/digest.js";
import { IMAGE_SIGNATURE_KIND, IMAGE_SIGNATURE_PREDICATE } from "./build.js";
import type { AppContext } from "./context.js";
import type { ComplianceCheck } from "./status.js";

/**
 * The image signature, verified: the newest "image-signature" evidence of the image, its bundle
 * verified with what the store trusts (signature by a trusted key, transparency-log inclusion),
 * and its statement an image signature about this digest. PASS carries the signature's digest.
 */
export async function imageSignatureCheck(
  ctx: AppContext,
  image: Digest,
  /** What to verify with (default: what the store trusts). */
  trust?: EvidenceTrust,
): Promise<ComplianceCheck> {
  const title = "Image signature valid";
  const sigs = await ctx.evidence().find({ subject: image, kind: IMAGE_SIGNATURE_KIND });
  const last = sigs[sigs.length - 1];
  if (!last) {
    return {
      id: "image-signature",
      title,
      result: "UNKNOWN",
      detail: "no image signature is recorded (cleanimg build signs the images it builds)",
      evidence: [],
    };
  }
  try {
    const v = verifyEvidence(
      (await ctx.evidence().getBlob(last.evidence)).bytes,
      trust ?? (await evidenceTrust(ctx)),
    );
    if (
      v.statement.predicateType !== IMAGE_SIGNATURE_PREDICATE ||
      !v.statement.subject.some((s) => `sha256:${s.digest["sha256"]}` === image)
    ) {
      throw new Error("the signature is not an image signature for this digest");
    }
    return {
      id: "image-signature",
      title,
      result: "PASS",
      detail: `signed by ${v.keyids.join(", ")}, transparency log index ${v.logIndex}`,
      evidence: [last.evidence],
    };
  } catch (e) {
    return {
      id: "image-signature",
      title,
      result: "FAIL",
      detail: (e as Error).message,
      evidence: [last.evidence],
    };
  }
}

/** Where the published verification key is read: $CLEANIMG_PUBLISHED_KEY, else keys/signing.pub. */
export function publishedKeyPath(ctx: AppContext): string {
  return ctx.settings.publishedKey ?? join(ctx.home, "keys", "signing.pub");
}

/**
 * The published verification key verifies this image's signature: the key file users are given
 * to verify releases ($CLEANIMG_PUBLISHED_KEY, else the signing key's `keys/signing.pub`) is
 * loaded, and the image signature is verified with that key alone (and the store's trusted
 * logs), not with every key the store trusts. A keyless signature does not pass: no published
 * key verifies it.
 */
export async function publishedKeyCheck(
  ctx: AppContext,
  image: Digest,
): Promise<{ result: ComplianceCheck["result"]; detail: string; evidence: string[] }> {
  const path = publishedKeyPath(ctx);
  if (!existsSync(path)) {
    return {
      result: "UNKNOWN",
      detail: `no published verification key at ${path} (set CLEANIMG_PUBLISHED_KEY to the public key released with the image)`,
      evidence: [],
    };
  }
  let key: ReturnType<typeof loadPublicKey>;
  try {
    key = loadPublicKey(await readFile(path, "utf8"));
  } catch (e) {
    return {
      result: "FAIL",
      detail: `${path} is not a public key: ${(e as Error).message}`,
      evidence: [],
    };
  }
  const trust = await evidenceTrust(ctx);
  const sig = await imageSignatureCheck(ctx, image, { keys: [key], logs: trust.logs });
  const keyid = keyIdOf(key);
  return sig.result === "PASS"
    ? {
        result: "PASS",
        detail: `the published key ${path} (key id ${keyid}) verifies the image signature: ${sig.detail}`,
        evidence: sig.evidence.slice(),
      }
    : {
        result: sig.result,
        detail: `the published key ${path} (key id ${keyid}) does not verify the image signature: ${sig.detail}`,
        evidence: sig.evidence.slice(),
      };
}
