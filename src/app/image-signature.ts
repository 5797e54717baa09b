import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { keyIdOf, loadPublicKey } from "../attest/index.js";
import { type EvidenceTrust, evidenceTrust } from "../chain/index.js";
import {
  type ComplianceCheck,
  imageSignatureCheck as signatureCheck,
} from "../compliance/index.js";
import type { Digest } from "../core/digest.js";
import type { AppContext } from "./context.js";
import { verifiedImageSignature } from "./evidence-bundle.js";

/**
 * The image signature check (src/compliance) over the image's newest signature, verified with
 * what the store trusts, or with `trust`.
 */
export async function imageSignatureCheck(
  ctx: AppContext,
  image: Digest,
  trust?: EvidenceTrust,
): Promise<ComplianceCheck> {
  return signatureCheck(await verifiedImageSignature(ctx, image, trust));
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
