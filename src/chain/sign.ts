import { X509Certificate } from "node:crypto";
import {
  BUNDLE_MEDIA_TYPE,
  dsseLogBody,
  type EvidenceBundle,
  fulcioSigner,
  IN_TOTO_PAYLOAD_TYPE,
  type SignerKey,
  type Statement,
  signEnvelopeKeyed,
  witnessEnvelopeInRekor,
} from "../attest/index.js";
import { type Digest, sha256 } from "../core/digest.js";
import { UsageError } from "../core/errors.js";
import type { ChainContext, ChainSettings } from "./context.js";
import { identities } from "./keys.js";
import { logDsseBody } from "./tlog.js";

/**
 * Keyless signing of evidence, when configured: CLEANIMG_FULCIO_URL and an OIDC token
 * (CLEANIMG_IDENTITY_TOKEN, or SIGSTORE_ID_TOKEN as CI systems provide it); Rekor is then
 * required (CLEANIMG_REKOR_URL), since only its time shows the short-lived certificate was valid.
 * @throws UsageError CLI_USAGE when half of it is configured
 */
function keylessConfig(
  settings: ChainSettings,
): { fulcioURL: string; token: string; rekorURL: string } | undefined {
  const fulcioURL = settings.fulcioURL;
  if (!fulcioURL) {
    return undefined;
  }
  const token = settings.identityToken;
  const rekorURL = settings.rekorURL;
  if (!token || !rekorURL) {
    throw new UsageError(
      "CLI_USAGE",
      `keyless signing (CLEANIMG_FULCIO_URL) needs ${!token ? "an OIDC identity token" : "a Rekor URL"}`,
      {
        hint: !token
          ? "set CLEANIMG_IDENTITY_TOKEN (or SIGSTORE_ID_TOKEN) to the token your CI issues"
          : "set CLEANIMG_REKOR_URL: its entry is what proves the certificate was valid when it signed",
      },
    );
  }
  return { fulcioURL, token, rekorURL };
}

/**
 * Signs an in-toto statement (with the signing key, or keyless through Fulcio when configured),
 * logs it in the embedded log (and in Rekor when configured), and returns the Sigstore bundle
 * (serialized: its digest is the attestation's identity in the chain).
 */
export async function signStatement(
  ctx: ChainContext,
  stmt: Statement,
): Promise<{ bundle: EvidenceBundle; bytes: Uint8Array; digest: Digest }> {
  const { signing } = await identities(ctx);
  const payload = new TextEncoder().encode(JSON.stringify(stmt));
  const keyless = keylessConfig(ctx.settings);
  const signer = keyless
    ? fulcioSigner(keyless.token, { fulcioURL: keyless.fulcioURL })
    : signing.signer;
  const { envelope, keys } = await signEnvelopeKeyed(IN_TOTO_PAYLOAD_TYPE, payload, [signer]);
  const key = keys[0] as SignerKey;
  // the key that signed: the Fulcio certificate when keyless, else the signing key
  const verifierPem = key.$case === "x509Certificate" ? key.certificate : key.publicKey;
  const body = dsseLogBody(
    envelope,
    new TextEncoder().encode(JSON.stringify(envelope)),
    verifierPem,
  );
  // Rekor first: if it refuses, nothing has been logged or stored here
  const rekorURL = keyless?.rekorURL ?? ctx.settings.rekorURL;
  const rekor = rekorURL
    ? await witnessEnvelopeInRekor(envelope, verifierPem, { rekorURL })
    : undefined;
  const entry = await logDsseBody(ctx, body);
  const bundle: EvidenceBundle = {
    mediaType: BUNDLE_MEDIA_TYPE,
    verificationMaterial: {
      ...(keyless
        ? { certificate: { rawBytes: new X509Certificate(verifierPem).raw.toString("base64") } }
        : { publicKey: { hint: signing.keyid } }),
      tlogEntries: [entry, ...(rekor ? [rekor] : [])],
    },
    dsseEnvelope: envelope,
  };
  const bytes = new TextEncoder().encode(JSON.stringify(bundle));
  return { bundle, bytes, digest: sha256(bytes) };
}
