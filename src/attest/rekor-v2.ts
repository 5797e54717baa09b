import { createHash, timingSafeEqual } from "node:crypto";
import type { Bundle } from "@sigstore/bundle";
import type { SignedEntity } from "@sigstore/verify";
import { AttestError } from "../core/errors.js";
import { pae } from "./dsse.js";

/**
 * Rekor v2 (rekor-v2-spec §6.1.4) logs a DSSE envelope either as `dsse` 0.0.2 (the payload's
 * hash and the signatures) or as `hashedrekord` 0.0.2 over the hash of the envelope's
 * pre-authentication encoding, PAE(payloadType, payload): the bytes the signature is over.
 * @sigstore/verify 3.x knows `dsse` 0.0.2, `hashedrekord` 0.0.2 over a message, checkpoints
 * and RFC 3161 timestamps, but for a DSSE bundle it compares every entry's digest with the
 * payload's hash, so a `hashedrekord` entry over the PAE never matches. This module supplies
 * only that comparison; everything else stays with sigstore-js.
 */

type Content = SignedEntity["signature"];

const BY_LENGTH: Record<number, string> = { 32: "sha256", 48: "sha384", 64: "sha512" };

/** A DSSE envelope's signature content whose logged digest is the hash of its PAE. */
class PaeDigestContent implements Content {
  readonly #inner: Content;
  readonly #pae: Buffer;
  constructor(inner: Content, payloadType: string, payload: Buffer) {
    this.#inner = inner;
    this.#pae = Buffer.from(pae(payloadType, payload));
  }
  get signature(): Buffer {
    return this.#inner.signature;
  }
  compareSignature(signature: Buffer): boolean {
    return this.#inner.compareSignature(signature);
  }
  verifySignature(key: Parameters<Content["verifySignature"]>[0]): boolean {
    return this.#inner.verifySignature(key);
  }
  /** The digest's length names the hash (SHA2_256, SHA2_384, SHA2_512), as the log's does. */
  compareDigest(digest: Buffer): boolean {
    const alg = BY_LENGTH[digest.length];
    if (!alg) {
      return false;
    }
    return timingSafeEqual(digest, createHash(alg).update(this.#pae).digest());
  }
}

type Entry = Bundle["verificationMaterial"]["tlogEntries"][number];

/** A `hashedrekord` 0.0.2 entry for a DSSE bundle: it logs the hash of the PAE. */
export function isHashedRekordOverDsse(bundle: Bundle, entry: Entry): boolean {
  return (
    bundle.content.$case === "dsseEnvelope" &&
    entry.kindVersion.kind === "hashedrekord" &&
    entry.kindVersion.version === "0.0.2"
  );
}

/**
 * Splits a signed entity into the entities sigstore-js verifies: one per way the log entries
 * commit to the content. A DSSE bundle's `hashedrekord` 0.0.2 entries are checked against the
 * PAE's hash, every other entry as sigstore-js does; each part keeps all timestamps and the key,
 * so each is verified in full (signature, certificate, inclusion, checkpoint, timestamps).
 * A bundle without such entries is one entity, unchanged. A `hashedrekord` 0.0.2 entry logs a
 * single signature, so an envelope logged that way must carry exactly one.
 */
export function entitiesToVerify(bundle: Bundle, entity: SignedEntity): SignedEntity[] {
  const overPae = entity.tlogEntries.filter((e) => isHashedRekordOverDsse(bundle, e));
  if (overPae.length === 0 || bundle.content.$case !== "dsseEnvelope") {
    return [entity];
  }
  const env = bundle.content.dsseEnvelope;
  if (env.signatures.length !== 1) {
    throw new AttestError(
      "ATTEST_VERIFY_FAILED",
      `a DSSE envelope logged as hashedrekord must carry exactly one signature, it has ${env.signatures.length}`,
    );
  }
  const parts: SignedEntity[] = [
    {
      ...entity,
      signature: new PaeDigestContent(entity.signature, env.payloadType, env.payload),
      tlogEntries: overPae,
    },
  ];
  const rest = entity.tlogEntries.filter((e) => !isHashedRekordOverDsse(bundle, e));
  if (rest.length > 0) {
    parts.push({ ...entity, tlogEntries: rest });
  }
  return parts;
}
