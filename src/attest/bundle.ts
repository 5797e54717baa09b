import { createHash, type KeyObject } from "node:crypto";
import { AttestError, TrustPolicyError } from "../core/errors.js";
import { assertJsonDepth } from "../core/json.js";
import { type DsseEnvelope, verifyEnvelope } from "./dsse.js";
import { acceptIdentity, type VerifiedBundle, verifySigstoreBundle } from "./sigstore.js";
import { IN_TOTO_PAYLOAD_TYPE, type Statement } from "./statement.js";
import { type InclusionProof, verifyLoggedEntry } from "./tlog.js";

/**
 * The bundles cleanimg signs its evidence into: Sigstore bundle v0.3 (key-based), a DSSE
 * envelope over an in-toto Statement, and one entry of the embedded transparency log with its
 * inclusion proof and signed checkpoint, so that verification needs no network.
 */
export const BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
/** The entry of the embedded log in a bundle. */
export interface OwnLogEntry {
  readonly logIndex: string;
  readonly logId: { readonly keyId: string };
  readonly kindVersion: { readonly kind: "dsse"; readonly version: "0.0.1" };
  readonly integratedTime: string;
  readonly inclusionProof: InclusionProof;
  readonly canonicalizedBody: string;
}

/** A Sigstore bundle (v0.3) over a DSSE envelope, with our log's entry. */
export interface EvidenceBundle {
  readonly mediaType: typeof BUNDLE_MEDIA_TYPE;
  readonly verificationMaterial: {
    /** A managed key (its key id)… */
    readonly publicKey?: { readonly hint: string };
    /** …or keyless: the Fulcio certificate (DER, base64) of the ephemeral key. */
    readonly certificate?: { readonly rawBytes: string };
    /** Our own log's entry first; then, when Rekor is configured, Rekor's (bundle JSON). */
    readonly tlogEntries: readonly [OwnLogEntry, ...Readonly<Record<string, unknown>>[]];
  };
  readonly dsseEnvelope: DsseEnvelope;
}

/**
 * A keyless signature: sigstore-js verifies the certificate chain to the trusted root, its SCT,
 * the signature, and Rekor's entry (whose integrated time must fall in the certificate's short
 * validity); the certificate's identity must be one of the trusted ones. The signer is named by
 * that identity.
 */
function verifyKeyless(
  bundle: EvidenceBundle,
  keyless: KeylessTrust | undefined,
): { payloadType: string; payload: Uint8Array; keyids: readonly string[] } {
  if (!keyless || keyless.identities.length === 0) {
    throw new AttestError(
      "ATTEST_VERIFY_FAILED",
      "signed keyless (a Fulcio certificate), and no trusted root and identities are configured",
      {
        hint: "set CLEANIMG_SIGSTORE_TRUSTED_ROOT and CLEANIMG_TRUSTED_IDENTITIES (SAN|ISSUER;…)",
      },
    );
  }
  const rekor = bundle.verificationMaterial.tlogEntries[1];
  if (!rekor) {
    throw new AttestError(
      "ATTEST_VERIFY_FAILED",
      "signed keyless without a Rekor entry: nothing proves the certificate was valid when it signed",
    );
  }
  let v: VerifiedBundle;
  try {
    // verification proves who signed; the trust policy then accepts them, or not
    v = verifySigstoreBundle(
      {
        mediaType: BUNDLE_MEDIA_TYPE,
        verificationMaterial: {
          certificate: bundle.verificationMaterial.certificate,
          tlogEntries: [rekor],
        },
        dsseEnvelope: bundle.dsseEnvelope,
      },
      { trustedRoot: keyless.trustedRoot },
    );
    acceptIdentity(v, keyless.identities);
  } catch (e) {
    const E = e instanceof TrustPolicyError ? TrustPolicyError : AttestError;
    throw new E("ATTEST_VERIFY_FAILED", `keyless signature not accepted: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const san = v.identity?.subjectAlternativeName ?? "";
  return {
    payloadType: v.dsse?.payloadType ?? "",
    payload: v.dsse?.payload ?? new Uint8Array(),
    keyids: [`${san} (${v.identity?.issuer ?? ""})`],
  };
}

/** What verifying one of our bundles proved. */
export interface VerifiedEvidenceBundle {
  readonly statement: Statement;
  readonly keyids: readonly string[];
  readonly logIndex: number;
  readonly integratedTime?: number;
}

/**
 * Verifies a bundle made by {@link signStatement}: the DSSE signature by a trusted key, that the
 * logged body is this envelope's, and its inclusion under a checkpoint signed by our log key.
 * @throws AttestError ATTEST_SIGNATURE_INVALID (signature) or ATTEST_VERIFY_FAILED (the rest),
 *   with a message naming what broke
 */
export interface TrustedLog {
  readonly publicKey: KeyObject;
  readonly origin: string;
}

/** Who may sign keyless, and the Sigstore trusted root their certificates chain to. */
export interface KeylessTrust {
  readonly trustedRoot: unknown;
  readonly identities: readonly {
    readonly subjectAlternativeName: string;
    readonly issuer: string;
  }[];
}

export function verifyEvidenceBundle(
  bytes: Uint8Array,
  keys: readonly KeyObject[],
  logs: TrustedLog | readonly TrustedLog[],
  keyless?: KeylessTrust,
): VerifiedEvidenceBundle {
  let bundle: EvidenceBundle;
  const text = new TextDecoder().decode(bytes);
  assertJsonDepth(text, "the attestation");
  try {
    bundle = JSON.parse(text) as EvidenceBundle;
  } catch {
    throw new AttestError("ATTEST_VERIFY_FAILED", "the attestation is not JSON");
  }
  if (bundle?.mediaType !== BUNDLE_MEDIA_TYPE || !bundle.dsseEnvelope) {
    throw new AttestError(
      "ATTEST_VERIFY_FAILED",
      "the attestation is not a Sigstore v0.3 bundle with a DSSE envelope",
    );
  }
  const env = bundle.verificationMaterial?.certificate
    ? verifyKeyless(bundle, keyless)
    : verifyEnvelope(bundle.dsseEnvelope, keys);
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new AttestError("ATTEST_VERIFY_FAILED", `payload type ${env.payloadType} is not in-toto`);
  }
  const entry = bundle.verificationMaterial?.tlogEntries?.[0];
  if (!entry?.inclusionProof) {
    throw new AttestError(
      "ATTEST_VERIFY_FAILED",
      "transparency log: the bundle carries no inclusion proof",
    );
  }
  const body = new Uint8Array(Buffer.from(entry.canonicalizedBody, "base64"));
  let logged: {
    spec?: {
      payloadHash?: { value?: string };
      envelopeHash?: { value?: string };
      signatures?: { signature?: string }[];
    };
  };
  try {
    logged = JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new AttestError("ATTEST_VERIFY_FAILED", "transparency log: the logged body is not JSON");
  }
  const hex = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
  if (
    logged.spec?.payloadHash?.value !== hex(env.payload) ||
    logged.spec?.envelopeHash?.value !==
      hex(new TextEncoder().encode(JSON.stringify(bundle.dsseEnvelope))) ||
    JSON.stringify(logged.spec?.signatures?.map((s) => s.signature)) !==
      JSON.stringify(bundle.dsseEnvelope.signatures.map((s) => s.sig))
  ) {
    throw new AttestError(
      "ATTEST_VERIFY_FAILED",
      "transparency log: the logged entry is for another envelope than this one",
    );
  }
  const logId = (k: KeyObject): string =>
    createHash("sha256")
      .update(k.export({ type: "spki", format: "der" }))
      .digest("base64");
  const candidates = Array.isArray(logs) ? (logs as readonly TrustedLog[]) : [logs as TrustedLog];
  const log = candidates.find((l) => logId(l.publicKey) === entry.logId?.keyId);
  if (!log) {
    throw new AttestError(
      "ATTEST_VERIFY_FAILED",
      `transparency log: the entry is in a log this store does not trust (log id ${entry.logId?.keyId})`,
      { hint: "add that log's public key to $CLEANIMG_HOME/keys/trusted-logs/" },
    );
  }
  const verified = verifyLoggedEntry(body, entry.inclusionProof, log.publicKey, log.origin);
  let statement: Statement;
  try {
    statement = JSON.parse(new TextDecoder().decode(env.payload)) as Statement;
  } catch {
    throw new AttestError("ATTEST_VERIFY_FAILED", "the signed payload is not JSON");
  }
  return {
    statement,
    keyids: env.keyids,
    logIndex: verified.logIndex,
    ...(verified.integratedTime !== undefined ? { integratedTime: verified.integratedTime } : {}),
  };
}

/**
 * Verifies the Rekor entries an evidence bundle carries after its own log's entry, with
 * sigstore-js against a Sigstore trusted root: each entry's signed entry timestamp, inclusion
 * proof under Rekor's signed checkpoint, and that it records this envelope signed by this key.
 * Returns how many entries verified (0 when the bundle has none).
 * @throws AttestError ATTEST_VERIFY_FAILED naming the entry and what broke
 */
export function verifyRekorEntries(
  bytes: Uint8Array,
  publicKeyPem: string,
  trustedRoot: unknown,
): number {
  const bundle = JSON.parse(new TextDecoder().decode(bytes)) as EvidenceBundle;
  const rekor = bundle.verificationMaterial.tlogEntries.slice(1);
  rekor.forEach((entry, i) => {
    try {
      const cert = bundle.verificationMaterial.certificate;
      verifySigstoreBundle(
        {
          mediaType: BUNDLE_MEDIA_TYPE,
          verificationMaterial: {
            ...(cert
              ? { certificate: cert }
              : { publicKey: bundle.verificationMaterial.publicKey }),
            tlogEntries: [entry],
          },
          dsseEnvelope: bundle.dsseEnvelope,
        },
        cert ? { trustedRoot } : { trustedRoot, publicKeyPem },
      );
    } catch (e) {
      throw new AttestError(
        "ATTEST_VERIFY_FAILED",
        `Rekor entry ${i + 1}: ${(e as Error).message}`,
        { cause: e },
      );
    }
  });
  return rekor.length;
}
