import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import type { Bundle } from "@sigstore/bundle";
import type { TrustedRoot } from "@sigstore/protobuf-specs";
import { AttestError, ToolError, TrustPolicyError } from "../core/errors.js";
import { lazyModule } from "../core/lazy.js";
import { entitiesToVerify } from "./rekor-v2.js";

const bundleLib = lazyModule<typeof import("@sigstore/bundle")>("@sigstore/bundle");
const specs = lazyModule<typeof import("@sigstore/protobuf-specs")>("@sigstore/protobuf-specs");
const verifyLib = lazyModule<typeof import("@sigstore/verify")>("@sigstore/verify");

/** What verifying a Sigstore bundle proved. Accepting the signer is a separate, policy step. */
export interface VerifiedBundle {
  /** "certificate" (keyless, Fulcio) or "public-key" (a managed key). */
  readonly keyKind: "certificate" | "public-key";
  readonly identity?: { readonly subjectAlternativeName?: string; readonly issuer?: string };
  readonly mediaType: string;
  /** For DSSE bundles: the payload type and payload bytes. */
  readonly dsse?: { readonly payloadType: string; readonly payload: Uint8Array };
}

export interface BundleVerifyOptions {
  /** The signed artifact (message signatures) or the attestation's subject (DSSE). */
  readonly artifact?: Uint8Array;
  /** A Sigstore trusted_root.json (offline: no TUF, no network). */
  readonly trustedRoot: unknown;
  /** Required certificate identity (SAN) and issuer, for keyless bundles. */
  readonly identity?: string;
  readonly issuer?: string;
  /** PEM public key for bundles signed with a managed key. */
  readonly publicKeyPem?: string;
}

function fail(message: string, cause?: unknown): never {
  throw new AttestError("ATTEST_VERIFY_FAILED", message, cause === undefined ? {} : { cause });
}

/**
 * sigstore-js checks the proof against the signed checkpoint's root; the proof's own copy of
 * the root and size must say the same, or the bundle is not what its log said.
 */
function checkProofsMatchCheckpoints(bundle: Bundle): void {
  for (const [i, e] of bundle.verificationMaterial.tlogEntries.entries()) {
    const proof = e.inclusionProof;
    const lines = proof?.checkpoint?.envelope.split("\n") ?? [];
    if (proof && lines.length >= 3) {
      if (lines[1] !== String(proof.treeSize)) {
        fail(
          `transparency log entry ${i}: the inclusion proof's tree size does not match its checkpoint`,
        );
      }
      if (lines[2] !== Buffer.from(proof.rootHash).toString("base64")) {
        fail(
          `transparency log entry ${i}: the inclusion proof's root hash does not match its checkpoint`,
        );
      }
    }
  }
}

/**
 * Verifies a Sigstore bundle (v0.1-v0.3) offline against a trusted root, with sigstore-js
 * (@sigstore/verify): signature, certificate chain and SCTs or the managed key, transparency
 * log inclusion (a signed entry timestamp, or an inclusion proof against a checkpoint signed by
 * a trusted log key; Rekor v2 entries have no SET and so need an RFC 3161 timestamp), timestamps,
 * and the expected identity. Rekor v1 and v2 entry kinds (dsse, hashedrekord, also hashedrekord
 * over a DSSE envelope's PAE, see rekor-v2.ts). For DSSE bundles the artifact given
 * must be a subject of the in-toto statement (by sha256).
 * @throws ToolError ATTEST_VERIFY_FAILED with the reason
 */
export function verifySigstoreBundle(
  bundleJson: unknown,
  opts: BundleVerifyOptions,
): VerifiedBundle {
  let bundle: Bundle;
  let root: TrustedRoot;
  try {
    bundle = bundleLib().bundleFromJSON(bundleJson);
  } catch (e) {
    fail(`not a valid Sigstore bundle: ${(e as Error).message}`, e);
  }
  try {
    root = specs().TrustedRoot.fromJSON(opts.trustedRoot);
  } catch (e) {
    fail(`not a valid trusted root: ${(e as Error).message}`, e);
  }
  // A log key without the start of its validity is a malformed root, not an unbounded key.
  for (const log of [...root.tlogs, ...root.ctlogs]) {
    if (!log.publicKey?.validFor?.start) {
      fail(`malformed trusted root: log ${log.baseUrl} has no validity start`);
    }
  }
  checkProofsMatchCheckpoints(bundle);
  const keyed = bundle.verificationMaterial.content.$case === "publicKey";
  if (keyed && !opts.publicKeyPem) {
    fail("the bundle is signed with a key, and no public key was given");
  }
  let keys: (() => { publicKey: KeyObject; validFor: () => boolean }) | undefined;
  if (opts.publicKeyPem) {
    let key: KeyObject;
    try {
      key = createPublicKey(opts.publicKeyPem);
    } catch (e) {
      // a key that cannot be read cannot have made the signature
      fail(`the public key cannot be read: ${(e as Error).message}`, e);
    }
    keys = () => ({ publicKey: key, validFor: () => true });
  }
  const material = verifyLib().toTrustMaterial(root, keys);
  const verifier = new (verifyLib().Verifier)(material, {
    tlogThreshold: 1,
    ctlogThreshold: keyed ? 0 : 1,
  });
  try {
    const entity = verifyLib().toSignedEntity(
      bundle,
      opts.artifact ? Buffer.from(opts.artifact) : undefined,
    );
    // Rekor v2 may log a DSSE envelope as hashedrekord over its PAE: those entries are
    // verified as their own part; every part is verified in full. The signer's identity is
    // what this proves; whether it is trusted is acceptIdentity's separate step below.
    const [signer] = entitiesToVerify(bundle, entity).map((part) => verifier.verify(part));
    if (!signer) {
      fail("nothing to verify");
    }
    let dsse: VerifiedBundle["dsse"];
    if (bundle.content.$case === "dsseEnvelope") {
      const env = bundle.content.dsseEnvelope;
      dsse = { payloadType: env.payloadType, payload: new Uint8Array(env.payload) };
      if (opts.artifact && env.payloadType === "application/vnd.in-toto+json") {
        const digest = createHash("sha256").update(opts.artifact).digest("hex");
        const statement = JSON.parse(Buffer.from(env.payload).toString("utf8")) as {
          subject?: { digest?: Record<string, string> }[];
        };
        if (!(statement.subject ?? []).some((s) => s.digest?.["sha256"] === digest)) {
          fail("the artifact is not a subject of the attestation");
        }
      }
    }
    const verified: VerifiedBundle = {
      keyKind: keyed ? "public-key" : "certificate",
      ...(signer.identity
        ? {
            identity: {
              ...(signer.identity.subjectAlternativeName
                ? { subjectAlternativeName: signer.identity.subjectAlternativeName }
                : {}),
              ...(signer.identity.extensions?.issuer
                ? { issuer: signer.identity.extensions.issuer }
                : {}),
            },
          }
        : {}),
      mediaType: bundle.mediaType,
      ...(dsse ? { dsse } : {}),
    };
    if (!keyed && (opts.identity || opts.issuer)) {
      acceptIdentity(verified, [
        {
          ...(opts.identity ? { subjectAlternativeName: opts.identity } : {}),
          ...(opts.issuer ? { issuer: opts.issuer } : {}),
        },
      ]);
    }
    return verified;
  } catch (e) {
    if (e instanceof ToolError) {
      throw e;
    }
    fail(
      `${(e as Error).name === "VerificationError" || (e as Error).name === "PolicyError" ? "" : "verification error: "}${(e as Error).message}`,
      e,
    );
  }
}

/** An identity the trust policy accepts: a certificate's SAN and OIDC issuer, matched exactly. */
export interface TrustedIdentity {
  readonly subjectAlternativeName?: string;
  readonly issuer?: string;
}

/**
 * The trust policy, apart from verification: accepts a verified keyless signer when its
 * certificate's SAN and issuer equal those of one trusted identity (exact strings, as cosign's
 * `--certificate-identity` and `--certificate-oidc-issuer`; an identity's absent field matches
 * any value). sigstore-js matches the SAN as an unanchored regular expression, under which
 * `ci@example.com` would accept `ci@example.com.attacker.net`; this does not.
 * @throws TrustPolicyError ATTEST_VERIFY_FAILED naming the signer and what is trusted
 */
export function acceptIdentity(v: VerifiedBundle, trusted: readonly TrustedIdentity[]): void {
  if (v.keyKind !== "certificate") {
    throw new TrustPolicyError(
      "ATTEST_VERIFY_FAILED",
      "signed with a key, not a certificate: no identity to accept",
    );
  }
  const san = v.identity?.subjectAlternativeName;
  const issuer = v.identity?.issuer;
  const ok = trusted.some(
    (t) =>
      (t.subjectAlternativeName === undefined || t.subjectAlternativeName === san) &&
      (t.issuer === undefined || t.issuer === issuer),
  );
  if (!ok) {
    const names = trusted.map(
      (t) => `${t.subjectAlternativeName ?? "any identity"} (issuer ${t.issuer ?? "any"})`,
    );
    throw new TrustPolicyError(
      "ATTEST_VERIFY_FAILED",
      `certificate identity error - signed by ${san ?? "no identity"} (issuer ${issuer ?? "none"}), not by ${names.join(" or ")}`,
    );
  }
}
