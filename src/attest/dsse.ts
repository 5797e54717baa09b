import type { KeyObject } from "node:crypto";
import { AttestError } from "../core/errors.js";
import { keyIdOf, type Signer, type SignerKey, verifySignature } from "./keys.js";

/** A DSSE envelope (in-toto attestation framework, envelope spec v1). */
export interface DsseEnvelope {
  readonly payloadType: string;
  /** base64 of the payload */
  readonly payload: string;
  readonly signatures: readonly { readonly keyid: string; readonly sig: string }[];
}

/** Pre-authentication encoding: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body. */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `),
    type,
    Buffer.from(` ${payload.length} `),
    Buffer.from(payload),
  ]);
}

/** Signs a payload into an envelope with one or more signers. */
export async function signEnvelope(
  payloadType: string,
  payload: Uint8Array,
  signers: readonly Signer[],
): Promise<DsseEnvelope> {
  return (await signEnvelopeKeyed(payloadType, payload, signers)).envelope;
}

/**
 * Signs a payload into an envelope, and returns with it the key each signature was made with (in
 * the signers' order): for a keyless signer, the certificate it was issued.
 */
export async function signEnvelopeKeyed(
  payloadType: string,
  payload: Uint8Array,
  signers: readonly Signer[],
): Promise<{ envelope: DsseEnvelope; keys: readonly SignerKey[] }> {
  const data = pae(payloadType, payload);
  const signatures = [];
  const keys: SignerKey[] = [];
  for (const s of signers) {
    const { signature, key } = await s.sign(data);
    signatures.push({ keyid: s.keyid, sig: Buffer.from(signature).toString("base64") });
    keys.push(key);
  }
  const envelope = { payloadType, payload: Buffer.from(payload).toString("base64"), signatures };
  return { envelope, keys };
}

/** What envelope verification proved: the payload, and which keys signed it. */
export interface VerifiedEnvelope {
  readonly payloadType: string;
  readonly payload: Uint8Array;
  readonly keyids: readonly string[];
}

/**
 * Verifies an envelope against trusted public keys: at least `threshold` distinct trusted keys
 * must have produced a valid signature over the PAE. Key ids in the envelope are hints only;
 * every trusted key is tried.
 * @throws AttestError ATTEST_SIGNATURE_INVALID
 */
export function verifyEnvelope(
  env: DsseEnvelope,
  keys: readonly KeyObject[],
  threshold = 1,
): VerifiedEnvelope {
  if (
    typeof env.payloadType !== "string" ||
    typeof env.payload !== "string" ||
    !Array.isArray(env.signatures)
  ) {
    throw new AttestError(
      "ATTEST_SIGNATURE_INVALID",
      "not a DSSE envelope (payloadType, payload and signatures needed)",
    );
  }
  const payload = new Uint8Array(Buffer.from(env.payload, "base64"));
  const data = pae(env.payloadType, payload);
  const valid = new Set<string>();
  for (const key of keys) {
    const id = keyIdOf(key);
    for (const s of env.signatures) {
      if (verifySignature(key, data, new Uint8Array(Buffer.from(s.sig, "base64")))) {
        valid.add(id);
        break;
      }
    }
  }
  if (valid.size < threshold) {
    throw new AttestError(
      "ATTEST_SIGNATURE_INVALID",
      `${valid.size} valid signature${valid.size === 1 ? "" : "s"} from trusted keys, ${threshold} required`,
    );
  }
  return { payloadType: env.payloadType, payload, keyids: [...valid].sort() };
}
