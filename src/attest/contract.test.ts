import type { KeyObject } from "node:crypto";
import { describe, expect, it } from "vitest";
import { describeSignerContract } from "./contract.js";
import {
  generateKeyPair,
  type KeyType,
  keyIdOf,
  keySigner,
  loadPrivateKey,
  loadPublicKey,
  type Signer,
  verifySignature,
} from "./keys.js";

/** The key signers keep the Signer contract, verified as the DSSE and bundle verifiers do. */
for (const type of ["ecdsa-p256", "ed25519"] as const satisfies readonly KeyType[]) {
  const keys = new WeakMap<Signer, KeyObject>();
  describeSignerContract(
    {
      name: `key signer (${type})`,
      create: async () => {
        const k = generateKeyPair(type);
        const s = keySigner(loadPrivateKey(k.privatePem));
        const pub = loadPublicKey(k.publicPem);
        expect(s.keyid).toBe(keyIdOf(pub));
        keys.set(s, pub);
        return s;
      },
      verify: async (s, data, sig) => verifySignature(keys.get(s) as KeyObject, data, sig),
    },
    { describe, it, expect },
  );
}
