import { afterAll, describe, expect, it } from "vitest";
import { fulcioSigner } from "../../src/attest/index.js";
import { describeSignerContract } from "../../src/testing.js";
import {
  identityToken,
  type SigstoreServices,
  startSigstoreServices,
} from "../support/sigstore-services.js";

/**
 * The keyless signer keeps the same Signer contract as the key signers: against Fulcio on
 * 127.0.0.1 (sigstore-js's @sigstore/mock handlers behind a real HTTP server), each signature
 * comes with the certificate of the ephemeral key that made it.
 */
let services: Promise<SigstoreServices> | undefined;
afterAll(async () => {
  await (await services)?.close();
});

describeSignerContract(
  {
    name: "Fulcio keyless signer",
    create: async () => {
      services ??= startSigstoreServices();
      const token = identityToken({ iss: "https://issuer.example", sub: "ci@example.com" });
      return fulcioSigner(token, { fulcioURL: (await services).url });
    },
  },
  { describe, it, expect },
);
