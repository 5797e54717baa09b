import type { bundleToJSON } from "@sigstore/bundle";
import type { SigningConfig } from "@sigstore/protobuf-specs";
import type {
  Artifact,
  BundleBuilder,
  FulcioSigner,
  Signer as SigstoreSigner,
  Witness,
} from "@sigstore/sign";
import { AttestError } from "../core/errors.js";
import { lazyModule } from "../core/lazy.js";
import type { Signer } from "./keys.js";

const bundleLib = lazyModule<typeof import("@sigstore/bundle")>("@sigstore/bundle");
const specs = lazyModule<typeof import("@sigstore/protobuf-specs")>("@sigstore/protobuf-specs");
const sign = lazyModule<typeof import("@sigstore/sign")>("@sigstore/sign");

/**
 * Where keyless signing sends its requests: a Fulcio CA for the short-lived certificate, a Rekor
 * log and optionally a timestamp authority as witnesses. Nothing has a default: offline is the
 * default, and every URL is the caller's choice (the public instance, a private one, a stand-in).
 */
export interface SigstoreServiceUrls {
  readonly fulcioURL?: string;
  readonly rekorURL?: string;
  readonly tsaURL?: string;
  /** A Sigstore signing_config.json (v0.2), used instead of the URLs above. */
  readonly signingConfig?: unknown;
  readonly timeoutMs?: number;
}

/** A Sigstore bundle (v0.3) as JSON. */
export type SigstoreBundleJson = ReturnType<typeof bundleToJSON>;

const FETCH = (o: SigstoreServiceUrls) => ({ timeout: o.timeoutMs ?? 30_000, retry: 2 });

function witnesses(o: SigstoreServiceUrls): Witness[] {
  const out: Witness[] = [];
  if (o.rekorURL) {
    out.push(
      new (sign().RekorWitness)({ rekorBaseURL: o.rekorURL, fetchOnConflict: true, ...FETCH(o) }),
    );
  }
  if (o.tsaURL) {
    out.push(new (sign().TSAWitness)({ tsaBaseURL: o.tsaURL, ...FETCH(o) }));
  }
  return out;
}

function builder(
  kind: "messageSignature" | "dsseEnvelope",
  signer: SigstoreSigner | undefined,
  identityToken: string | undefined,
  o: SigstoreServiceUrls,
): BundleBuilder {
  if (o.signingConfig !== undefined && signer === undefined) {
    let config: SigningConfig;
    try {
      config = specs().SigningConfig.fromJSON(o.signingConfig);
    } catch (e) {
      throw new AttestError(
        "ATTEST_CONFIG_INVALID",
        `not a Sigstore signing config: ${(e as Error).message}`,
      );
    }
    return sign().bundleBuilderFromSigningConfig({
      signingConfig: config,
      identityProvider: { getToken: async () => identityToken ?? "" },
      bundleType: kind,
      fetchOptions: FETCH(o),
    });
  }
  const s =
    signer ??
    (() => {
      if (!o.fulcioURL) {
        throw new AttestError(
          "ATTEST_CONFIG_INVALID",
          "keyless signing needs a Fulcio URL (or a signing config)",
        );
      }
      return new (sign().FulcioSigner)({
        fulcioBaseURL: o.fulcioURL,
        identityProvider: { getToken: async () => identityToken ?? "" },
        ...FETCH(o),
      });
    })();
  const w = witnesses(o);
  if (w.length === 0) {
    throw new AttestError(
      "ATTEST_CONFIG_INVALID",
      "a Sigstore bundle needs a witness: give a Rekor URL or a timestamp authority URL",
    );
  }
  return kind === "dsseEnvelope"
    ? new (sign().DSSEBundleBuilder)({ signer: s, witnesses: w })
    : new (sign().MessageSignatureBundleBuilder)({ signer: s, witnesses: w });
}

export const BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json";

/**
 * sigstore-js writes keyless bundles as v0.2 with the whole certificate chain; v0.3 carries the
 * leaf certificate alone (the chain's root is in the trusted root) and requires inclusion proofs.
 * The same signature and log entries, in the v0.3 form, when every entry has its proof.
 */
function asV03(b: SigstoreBundleJson): SigstoreBundleJson {
  const vm = b.verificationMaterial as Record<string, unknown> & {
    x509CertificateChain?: { certificates?: { rawBytes: string }[] };
    tlogEntries?: { inclusionProof?: unknown }[];
  };
  if ((vm.tlogEntries ?? []).some((e) => !e.inclusionProof)) {
    return b;
  }
  const leaf = vm.x509CertificateChain?.certificates?.[0];
  const { x509CertificateChain: _chain, ...rest } = vm;
  return {
    ...b,
    mediaType: BUNDLE_V03,
    verificationMaterial: {
      ...rest,
      ...(leaf ? { certificate: leaf } : {}),
    } as SigstoreBundleJson["verificationMaterial"],
  };
}

async function create(b: BundleBuilder, artifact: Artifact): Promise<SigstoreBundleJson> {
  try {
    return asV03(bundleLib().bundleToJSON(await b.create(artifact)));
  } catch (e) {
    const err = e as Error & { code?: string };
    throw new AttestError(
      "ATTEST_SIGN_FAILED",
      `Sigstore signing failed${err.code ? ` (${err.code})` : ""}: ${err.message}`,
      { cause: e },
    );
  }
}

/**
 * Signs an artifact keyless: an ephemeral key, a Fulcio certificate for the identity token's
 * subject, the signature logged in Rekor (and timestamped when a TSA is given). Returns a v0.3
 * message-signature bundle, or a DSSE bundle when `payloadType` is given.
 * Side effects: network requests to the given services.
 * @throws AttestError ATTEST_SIGN_FAILED naming the service's answer
 */
export async function signKeyless(
  data: Uint8Array,
  identityToken: string,
  o: SigstoreServiceUrls,
  payloadType?: string,
): Promise<SigstoreBundleJson> {
  if (!identityToken.trim()) {
    throw new AttestError("ATTEST_CONFIG_INVALID", "keyless signing needs an OIDC identity token");
  }
  const kind = payloadType ? "dsseEnvelope" : "messageSignature";
  return create(builder(kind, undefined, identityToken, o), {
    data: Buffer.from(data),
    ...(payloadType ? { type: payloadType } : {}),
  });
}

/**
 * Signs with a managed key and has the signature witnessed by Rekor (a `hashedrekord` entry for
 * an artifact, a `dsse` entry when `payloadType` is given; only hashes are logged) and/or a TSA.
 * The key signs; the services only witness.
 * Side effects: network requests to the given services.
 * @throws AttestError ATTEST_SIGN_FAILED naming the service's answer
 */
export async function signWithKeyWitnessed(
  data: Uint8Array,
  signer: Signer,
  o: SigstoreServiceUrls,
  payloadType?: string,
): Promise<SigstoreBundleJson> {
  return create(builder(payloadType ? "dsseEnvelope" : "messageSignature", signer, undefined, o), {
    data: Buffer.from(data),
    ...(payloadType ? { type: payloadType } : {}),
  });
}

/**
 * Records a DSSE envelope signed with a managed key in a Rekor log (a `dsse` entry: hashes of the
 * envelope and payload, the signature and the public key; never the payload). Returns Rekor's
 * transparency log entry (inclusion promise and proof) as bundle JSON.
 * Side effects: a network request to Rekor.
 * @throws AttestError ATTEST_SIGN_FAILED with Rekor's answer
 */
export async function witnessEnvelopeInRekor(
  envelope: {
    readonly payloadType: string;
    readonly payload: string;
    readonly signatures: readonly { readonly keyid: string; readonly sig: string }[];
  },
  publicKeyPem: string,
  o: { readonly rekorURL: string; readonly timeoutMs?: number },
): Promise<Record<string, unknown>> {
  const witness = new (sign().RekorWitness)({
    rekorBaseURL: o.rekorURL,
    entryType: "dsse",
    fetchOnConflict: true,
    ...FETCH(o),
  });
  try {
    const vm = await witness.testify(
      {
        $case: "dsseEnvelope",
        dsseEnvelope: {
          payloadType: envelope.payloadType,
          payload: Buffer.from(envelope.payload, "base64"),
          signatures: envelope.signatures.map((s) => ({
            keyid: s.keyid,
            sig: Buffer.from(s.sig, "base64"),
          })),
        },
      },
      publicKeyPem,
    );
    const entry = vm.tlogEntries?.[0];
    if (!entry) {
      throw new Error("Rekor returned no entry");
    }
    return specs().TransparencyLogEntry.toJSON(entry) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof AttestError) {
      throw e;
    }
    throw new AttestError(
      "ATTEST_SIGN_FAILED",
      `Rekor did not record the entry: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
}

/**
 * Signs with an ephemeral key certified by Fulcio for the identity token's subject (sigstore-js's
 * FulcioSigner): each call returns the signature and the certificate of the key that made it.
 * Side effects: a request to Fulcio.
 * @throws AttestError ATTEST_SIGN_FAILED with Fulcio's answer
 */
export function fulcioSigner(
  identityToken: string,
  o: { readonly fulcioURL: string; readonly timeoutMs?: number },
): Signer {
  const signer = new (sign().FulcioSigner)({
    fulcioBaseURL: o.fulcioURL,
    identityProvider: { getToken: async () => identityToken },
    ...FETCH(o),
  });
  return {
    keyid: "",
    async sign(data) {
      let s: Awaited<ReturnType<FulcioSigner["sign"]>>;
      try {
        s = await signer.sign(Buffer.from(data));
      } catch (e) {
        throw new AttestError(
          "ATTEST_SIGN_FAILED",
          `keyless signing failed at Fulcio: ${(e as Error).message}`,
          { cause: e },
        );
      }
      if (s.key.$case !== "x509Certificate") {
        throw new AttestError(
          "ATTEST_SIGN_FAILED",
          "keyless signing failed: Fulcio returned no certificate",
        );
      }
      return { signature: s.signature, key: s.key };
    },
  };
}
