import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  scryptSync,
  sign,
  verify,
} from "node:crypto";
import nacl from "tweetnacl";
import { AttestError } from "../core/errors.js";

export type KeyType = "ecdsa-p256" | "ed25519";

/**
 * The key a signature was made with, in sigstore-js's `KeyMaterial` shape: a public key (PEM, with
 * a hint naming it) or, for a keyless signer, the certificate of the key it used.
 */
export type SignerKey =
  | { readonly $case: "publicKey"; readonly publicKey: string; readonly hint?: string }
  | { readonly $case: "x509Certificate"; readonly certificate: string };

/** A signature and the key that made it (sigstore-js's `Signature`). */
export interface Signature {
  readonly signature: Buffer;
  readonly key: SignerKey;
}

/**
 * A signer as a small role (sigstore-js's `Signer`, which it satisfies, so sigstore-js's builders
 * take it as it is): `sign` returns the signature with the key that made it. `keyid` is this
 * tool's id of the key (hex sha256 of its SPKI) when it is known before signing, "" for a
 * keyless signer, whose key is named by the certificate each signature returns.
 */
export interface Signer {
  readonly keyid: string;
  sign(data: Uint8Array): Promise<Signature>;
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
  if (typeof key === "string" && COSIGN_PEM.test(key)) {
    return loadCosignPrivateKey(key, passphrase ?? "");
  }
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

const COSIGN_PEM = /-----BEGIN ENCRYPTED (SIGSTORE|COSIGN) PRIVATE KEY-----/;

/**
 * Reads a private key as cosign writes it (`cosign generate-key-pair`): PEM "ENCRYPTED SIGSTORE
 * PRIVATE KEY" (or the older "COSIGN") around JSON naming an scrypt key derivation and a
 * NaCl secretbox (XSalsa20-Poly1305) holding the PKCS#8 key. cosign's empty password is allowed.
 * @throws AttestError ATTEST_KEY_INVALID for a wrong password or an altered key
 */
export function loadCosignPrivateKey(pem: string, password: string): KeyObject {
  const body = pem
    .replace(/-----(BEGIN|END) ENCRYPTED (SIGSTORE|COSIGN) PRIVATE KEY-----/g, "")
    .replace(/\s+/g, "");
  let doc: {
    kdf?: { name?: string; params?: { N?: number; r?: number; p?: number }; salt?: string };
    cipher?: { name?: string; nonce?: string };
    ciphertext?: string;
  };
  try {
    doc = JSON.parse(Buffer.from(body, "base64").toString("utf8"));
  } catch {
    throw new AttestError("ATTEST_KEY_INVALID", "the cosign key is not base64 JSON: it is damaged");
  }
  const { kdf, cipher } = doc;
  const N = kdf?.params?.N ?? 0;
  const r = kdf?.params?.r ?? 0;
  const p = kdf?.params?.p ?? 0;
  if (
    kdf?.name !== "scrypt" ||
    cipher?.name !== "nacl/secretbox" ||
    !kdf.salt ||
    !cipher.nonce ||
    !doc.ciphertext ||
    !Number.isInteger(Math.log2(N)) ||
    N > 2 ** 20 ||
    r < 1 ||
    r > 32 ||
    p < 1 ||
    p > 16
  ) {
    throw new AttestError(
      "ATTEST_KEY_INVALID",
      `unsupported cosign key: kdf ${kdf?.name} (N=${N}, r=${r}, p=${p}), cipher ${cipher?.name}`,
      { hint: "cosign keys use scrypt and nacl/secretbox" },
    );
  }
  const secret = scryptSync(password, Buffer.from(kdf.salt, "base64"), 32, {
    N,
    r,
    p,
    maxmem: 256 * N * r + 1024 * 1024,
  });
  const opened = nacl.secretbox.open(
    new Uint8Array(Buffer.from(doc.ciphertext, "base64")),
    new Uint8Array(Buffer.from(cipher.nonce, "base64")),
    new Uint8Array(secret),
  );
  if (!opened) {
    throw new AttestError(
      "ATTEST_KEY_INVALID",
      "cannot open the cosign key: wrong password, or the key was altered",
      {
        hint: "give its password in CLEANIMG_SIGNING_KEY_PASSWORD (or COSIGN_PASSWORD)",
      },
    );
  }
  try {
    return createPrivateKey({ key: Buffer.from(opened), format: "der", type: "pkcs8" });
  } catch (e) {
    throw new AttestError(
      "ATTEST_KEY_INVALID",
      `the cosign key holds no PKCS#8 key: ${(e as Error).message}`,
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

/**
 * A signer over a private key: ECDSA P-256 with SHA-256 (DER signatures), or Ed25519. Its
 * signatures name the public key, with `hint` (default: the key id) as the key's hint.
 */
export function keySigner(privateKey: KeyObject, hint?: string): Signer {
  const publicKey = createPublicKey(privateKey);
  const keyid = keyIdOf(publicKey);
  const key: SignerKey = {
    $case: "publicKey",
    publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
    hint: hint ?? keyid,
  };
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
      return { signature: sign(type === "ed25519" ? null : "sha256", data, privateKey), key };
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
