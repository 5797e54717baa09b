import { createPublicKey, type KeyObject, X509Certificate } from "node:crypto";
import { type ContractTestApi, codeOf, thrownBy } from "../core/contract.js";
import { keyIdOf, type Signer, type SignerKey, verifySignature } from "./keys.js";

/** How a signer's contract run makes a signer. */
export interface SignerCase {
  readonly name: string;
  /** A new signer. */
  create(): Promise<Signer>;
}

/** The public key a signature names: the key itself, or the one its certificate certifies. */
function publicKeyOf(key: SignerKey): KeyObject {
  return key.$case === "publicKey"
    ? createPublicKey(key.publicKey)
    : new X509Certificate(key.certificate).publicKey;
}

/**
 * The contract every {@link Signer} keeps: each signature comes with the key that made it (a
 * public key matching the signer's key id, or a certificate), it verifies under that key, and it
 * proves nothing else: not other data, not a signature one byte off, not another signer's key.
 * @example describeSignerContract({ name: "ecdsa", create }, { describe, it, expect })
 */
export function describeSignerContract(c: SignerCase, t: ContractTestApi): void {
  const { it, expect } = t;
  const data = new TextEncoder().encode('{"_type":"https://in-toto.io/Statement/v1"}');
  const verify = (key: SignerKey, d: Uint8Array, sig: Uint8Array) =>
    verifySignature(publicKeyOf(key), d, sig);
  t.describe(`Signer contract: ${c.name}`, () => {
    it("names the key each signature was made with, and that key is its key id's", async () => {
      const s = await c.create();
      const { key } = await s.sign(data);
      const pub = publicKeyOf(key);
      if (key.$case === "publicKey") {
        expect(s.keyid).toBe(keyIdOf(pub));
      } else {
        expect(s.keyid).toBe("");
      }
    });
    it("signs so that the signature verifies over the data under the key it names", async () => {
      const s = await c.create();
      const { signature, key } = await s.sign(data);
      expect(signature.length > 0).toBe(true);
      expect(verify(key, data, signature)).toBe(true);
    });
    it("gives a signature that proves nothing about other data or when altered", async () => {
      const s = await c.create();
      const { signature, key } = await s.sign(data);
      for (const at of [0, data.length >> 1, data.length - 1]) {
        const other = new Uint8Array(data);
        other[at] = (other[at] as number) ^ 1;
        expect(verify(key, other, signature)).toBe(false);
      }
      expect(verify(key, data.subarray(0, data.length - 1), signature)).toBe(false);
      const flipped = new Uint8Array(signature);
      const at = flipped.length >> 1;
      flipped[at] = (flipped[at] as number) ^ 0x40;
      expect(verify(key, data, flipped)).toBe(false);
      expect(verify(key, data, new Uint8Array(0))).toBe(false);
    });
    it("is a different key from another signer it makes", async () => {
      const a = await c.create();
      const b = await c.create();
      const sa = await a.sign(data);
      const sb = await b.sign(data);
      expect(a.keyid !== "" && a.keyid === b.keyid).toBe(false);
      expect(verify(sb.key, data, sa.signature)).toBe(false);
    });
    it("signs empty data without throwing", async () => {
      const s = await c.create();
      const e = await thrownBy(() => s.sign(new Uint8Array(0)));
      expect(codeOf(e)).toBe("no error");
    });
  });
}
