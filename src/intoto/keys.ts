import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { ToolError } from "../core/errors.js";
import { parseJson } from "../core/json.js";
import { canonicalJson } from "./canonical.js";

/**
 * Keys as in-toto and securesystemslib have them: the public key metadata
 * `{keytype, scheme, keyid_hash_algorithms, keyval: {public}}` whose canonical JSON's SHA-256 is
 * the key id; signatures hex-encoded (RSASSA-PSS with SHA-256, ECDSA DER, raw Ed25519).
 */

export interface InTotoKey {
  readonly keyid: string;
  readonly keytype: "rsa" | "ecdsa" | "ed25519" | string;
  readonly scheme: string;
  readonly keyid_hash_algorithms?: readonly string[];
  readonly keyval: { readonly public: string };
}

/** A key that can sign: its public metadata and the private key. */
export interface InTotoSigner {
  readonly key: InTotoKey;
  readonly privateKey: KeyObject;
}

const HASH_ALGORITHMS = ["sha256", "sha512"] as const;

/**
 * The key id securesystemslib computes for in-toto public key metadata (sha256 of its canonical
 * JSON). Not the key id of DSSE and Sigstore evidence (attest keyIdOf: sha256 of the SPKI DER).
 */
export function inTotoKeyId(k: Omit<InTotoKey, "keyid">): string {
  return createHash("sha256")
    .update(
      canonicalJson({
        keytype: k.keytype,
        scheme: k.scheme,
        keyid_hash_algorithms: k.keyid_hash_algorithms ?? HASH_ALGORITHMS,
        keyval: { public: k.keyval.public },
      }),
    )
    .digest("hex");
}

/** The PEM block securesystemslib keeps: BEGIN to END lines, no trailing newline. */
function pemBlock(pem: string): string {
  const m = /-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----/.exec(pem);
  if (!m) {
    throw new ToolError("ATTEST_KEY_INVALID", "not a PEM key", {
      hint: "give a PEM file (-----BEGIN PUBLIC KEY-----) or a securesystemslib JSON key file",
    });
  }
  return m[0];
}

function metadataOf(publicKey: KeyObject, pem?: string): Omit<InTotoKey, "keyid"> {
  const type = publicKey.asymmetricKeyType;
  if (type === "rsa" || type === "rsa-pss") {
    return {
      keytype: "rsa",
      scheme: "rsassa-pss-sha256",
      keyid_hash_algorithms: HASH_ALGORITHMS,
      keyval: {
        public: pem ?? (publicKey.export({ type: "spki", format: "pem" }) as string).trim(),
      },
    };
  }
  if (type === "ec") {
    const curve = publicKey.asymmetricKeyDetails?.namedCurve;
    const scheme =
      curve === "prime256v1"
        ? "ecdsa-sha2-nistp256"
        : curve === "secp384r1"
          ? "ecdsa-sha2-nistp384"
          : curve === "secp521r1"
            ? "ecdsa-sha2-nistp521"
            : undefined;
    if (!scheme) {
      throw new ToolError("ATTEST_KEY_INVALID", `ECDSA curve ${curve} is not supported by in-toto`);
    }
    return {
      keytype: "ecdsa",
      scheme,
      keyid_hash_algorithms: HASH_ALGORITHMS,
      keyval: {
        public: pem ?? (publicKey.export({ type: "spki", format: "pem" }) as string).trim(),
      },
    };
  }
  if (type === "ed25519") {
    const jwk = publicKey.export({ format: "jwk" }) as { x: string };
    return {
      keytype: "ed25519",
      scheme: "ed25519",
      keyid_hash_algorithms: HASH_ALGORITHMS,
      keyval: { public: Buffer.from(jwk.x, "base64url").toString("hex") },
    };
  }
  throw new ToolError("ATTEST_KEY_INVALID", `${type} keys are not supported by in-toto`);
}

const withId = (m: Omit<InTotoKey, "keyid">): InTotoKey => ({ keyid: inTotoKeyId(m), ...m });

/**
 * A public key from a file's text: PEM (RSA, ECDSA, Ed25519), or securesystemslib JSON key
 * metadata (public or private; its public part is used).
 * @throws ToolError ATTEST_KEY_INVALID
 */
export function loadInTotoPublicKey(text: string, name = "the key"): InTotoKey {
  const t = text.trim();
  if (t.startsWith("{")) {
    const k = parseJson(t, name) as InTotoKey & { keyval: { public: string; private?: string } };
    const meta = {
      keytype: k.keytype,
      scheme: k.scheme,
      keyid_hash_algorithms: k.keyid_hash_algorithms ?? HASH_ALGORITHMS,
      keyval: { public: k.keyval.public },
    };
    publicKeyObject({ keyid: "", ...meta }); // parses or throws
    return withId(meta);
  }
  const pem = pemBlock(t);
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    throw new ToolError(
      "ATTEST_KEY_INVALID",
      `cannot read the public key: ${(e as Error).message}`,
    );
  }
  const m = metadataOf(key, key.asymmetricKeyType === "ed25519" ? undefined : pem);
  return withId(m);
}

/**
 * A signing key from a file's text: PEM private key (optionally encrypted), or a
 * securesystemslib JSON Ed25519 key with its private part.
 * @throws ToolError ATTEST_KEY_INVALID
 */
export function loadInTotoSigner(
  text: string,
  passphrase?: string,
  name = "the key",
): InTotoSigner {
  const t = text.trim();
  if (t.startsWith("{")) {
    const k = parseJson(t, name) as Omit<InTotoKey, "keyid" | "keyval"> & {
      keyval: { public: string; private?: string };
    };
    if (!k.keyval?.private) {
      throw new ToolError("ATTEST_KEY_INVALID", "the JSON key has no private part", {
        hint: "give the private key file (in-toto-keygen writes NAME and NAME.pub)",
      });
    }
    const meta = {
      keytype: k.keytype,
      scheme: k.scheme,
      keyid_hash_algorithms: k.keyid_hash_algorithms ?? HASH_ALGORITHMS,
      keyval: { public: k.keyval.public },
    };
    let privateKey: KeyObject;
    try {
      privateKey =
        k.keytype === "ed25519"
          ? createPrivateKey({
              key: {
                kty: "OKP",
                crv: "Ed25519",
                d: Buffer.from(k.keyval.private.slice(0, 64), "hex").toString("base64url"),
                x: Buffer.from(k.keyval.public, "hex").toString("base64url"),
              },
              format: "jwk",
            })
          : createPrivateKey({
              key: pemBlock(k.keyval.private),
              ...(passphrase ? { passphrase } : {}),
            });
    } catch (e) {
      throw new ToolError(
        "ATTEST_KEY_INVALID",
        `cannot read the JSON private key: ${(e as Error).message}`,
      );
    }
    return { key: withId(meta), privateKey };
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pemBlock(t), ...(passphrase ? { passphrase } : {}) });
  } catch (e) {
    throw new ToolError(
      "ATTEST_KEY_INVALID",
      `cannot read the private key: ${(e as Error).message}`,
      {
        hint: "an encrypted key needs its password",
      },
    );
  }
  const pub = createPublicKey(privateKey);
  const pem =
    pub.asymmetricKeyType === "ed25519"
      ? undefined
      : (pub.export({ type: "spki", format: "pem" }) as string).trim();
  return { key: withId(metadataOf(pub, pem)), privateKey };
}

/** The Node key object of public key metadata. @throws ToolError ATTEST_KEY_INVALID */
export function publicKeyObject(k: InTotoKey): KeyObject {
  try {
    if (k.keytype === "ed25519") {
      return createPublicKey({
        key: {
          kty: "OKP",
          crv: "Ed25519",
          x: Buffer.from(k.keyval.public, "hex").toString("base64url"),
        },
        format: "jwk",
      });
    }
    return createPublicKey(k.keyval.public);
  } catch (e) {
    throw new ToolError("ATTEST_KEY_INVALID", `key ${k.keyid}: ${(e as Error).message}`);
  }
}

const hashOf = (scheme: string): string | null =>
  scheme === "ed25519"
    ? null
    : scheme.endsWith("nistp384") || scheme.endsWith("sha384")
      ? "sha384"
      : scheme.endsWith("nistp521") || scheme.endsWith("sha512")
        ? "sha512"
        : "sha256";

/** Verifies a hex signature over `data` by the key, by its scheme. */
export function verifyInTotoSignature(k: InTotoKey, data: Uint8Array, sigHex: string): boolean {
  const key = publicKeyObject(k);
  const sig = Buffer.from(sigHex, "hex");
  try {
    if (k.scheme.startsWith("rsassa-pss")) {
      return verify(hashOf(k.scheme), data, { key, padding: 6, saltLength: -2 }, sig);
    }
    if (k.scheme.startsWith("rsa-pkcs1v15")) {
      return verify(hashOf(k.scheme), data, key, sig);
    }
    return verify(hashOf(k.scheme), data, key, sig);
  } catch {
    return false;
  }
}

/** Signs `data` as securesystemslib does for the key's scheme; returns the hex signature. */
export function inTotoSign(s: InTotoSigner, data: Uint8Array): string {
  const scheme = s.key.scheme;
  const sig = scheme.startsWith("rsassa-pss")
    ? sign(hashOf(scheme), data, { key: s.privateKey, padding: 6, saltLength: 32 })
    : sign(hashOf(scheme), data, s.privateKey);
  return sig.toString("hex");
}
