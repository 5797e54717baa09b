import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { AttestError } from "../core/errors.js";

export type KeyType = "ecdsa-p256" | "ed25519";

/** A signer as a small role: an id for the key and a sign function (sigstore-js style). */
export interface Signer {
  readonly keyid: string;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** The key id this tool uses: sha256 of the DER SubjectPublicKeyInfo, hex. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash("sha256")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest("hex");
}

/**
 * Generates a key pair; the private key is PKCS#8 PEM, encrypted with AES-256-CBC under the
 * passphrase when one is given (scrypt-free, readable by openssl and node).
 */
export function generateKeyPair(
  type: KeyType,
  passphrase?: string,
): { privatePem: string; publicPem: string; keyid: string } {
  const enc = passphrase ? { cipher: "aes-256-cbc", passphrase } : {};
  const pair =
    type === "ed25519"
      ? generateKeyPairSync("ed25519", {
          publicKeyEncoding: { type: "spki", format: "pem" },
          privateKeyEncoding: { type: "pkcs8", format: "pem", ...enc },
        })
      : generateKeyPairSync("ec", {
          namedCurve: "P-256",
          publicKeyEncoding: { type: "spki", format: "pem" },
          privateKeyEncoding: { type: "pkcs8", format: "pem", ...enc },
        });
  return {
    privatePem: pair.privateKey,
    publicPem: pair.publicKey,
    keyid: keyIdOf(createPublicKey(pair.publicKey)),
  };
}

/**
 * Loads a private key (PEM, encrypted or not, or a JWK object).
 * @throws AttestError ATTEST_KEY_INVALID
 */
export function loadPrivateKey(key: string | object, passphrase?: string): KeyObject {
  try {
    return typeof key === "string"
      ? createPrivateKey({ key, format: "pem", ...(passphrase ? { passphrase } : {}) })
      : createPrivateKey({ key: key as never, format: "jwk" });
  } catch (e) {
    throw new AttestError(
      "ATTEST_KEY_INVALID",
      `cannot read the private key: ${(e as Error).message}`,
      {
        cause: e,
        hint: passphrase ? "check the passphrase" : "an encrypted key needs its passphrase",
      },
    );
  }
}

/**
 * Loads a public key (PEM SubjectPublicKeyInfo, a certificate, or a JWK object).
 * @throws AttestError ATTEST_KEY_INVALID
 */
export function loadPublicKey(key: string | object): KeyObject {
  try {
    return typeof key === "string"
      ? createPublicKey(key)
      : createPublicKey({ key: key as never, format: "jwk" });
  } catch (e) {
    throw new AttestError(
      "ATTEST_KEY_INVALID",
      `cannot read the public key: ${(e as Error).message}`,
      { cause: e },
    );
  }
}

/** A signer over a private key: ECDSA P-256 with SHA-256 (DER signatures), or Ed25519. */
export function keySigner(privateKey: KeyObject): Signer {
  const publicKey = createPublicKey(privateKey);
  const keyid = keyIdOf(publicKey);
  const type = privateKey.asymmetricKeyType;
  if (type !== "ec" && type !== "ed25519") {
    throw new AttestError(
      "ATTEST_KEY_INVALID",
      `signing with ${type} keys is not supported (ECDSA P-256 and Ed25519 are)`,
    );
  }
  return {
    keyid,
    async sign(data) {
      return new Uint8Array(sign(type === "ed25519" ? null : "sha256", data, privateKey));
    },
  };
}

/**
 * Verifies a signature with a public key of any supported type: ECDSA (SHA-256), Ed25519, or
 * RSA (PSS with SHA-256 as in-toto uses, else PKCS#1 v1.5).
 */
export function verifySignature(
  publicKey: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    switch (publicKey.asymmetricKeyType) {
      case "ed25519":
        return verify(null, data, publicKey, signature);
      case "ec":
        return verify("sha256", data, publicKey, signature);
      case "rsa":
      case "rsa-pss":
        return (
          verify(
            "sha256",
            data,
            { key: publicKey, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: -2 /* auto */ },
            signature,
          ) || verify("sha256", data, publicKey, signature)
        );
      default:
        return false;
    }
  } catch {
    return false;
  }
}
