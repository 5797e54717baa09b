import { type ContractTestApi, codeOf, thrownBy } from "../core/contract.js";
import type { Signer } from "./keys.js";

/** How a signer's contract run makes a signer and checks what it signs. */
export interface SignerCase {
  readonly name: string;
  /** A new signer. */
  create(): Promise<Signer>;
  /**
   * The verifier the signatures are for: true when `signature` is `signer.keyid`'s over `data`
   * (for a keyless signer, the certificate it returned). It must not throw on a bad signature.
   */
  verify(signer: Signer, data: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

/**
 * The contract every {@link Signer} keeps: it names its key, what it signs verifies under that
 * key, and the signature proves nothing else: not other data, not a signature one byte off, not
 * another signer's key.
 * @example describeSignerContract({ name: "ecdsa", create, verify }, { describe, it, expect })
 */
export function describeSignerContract(c: SignerCase, t: ContractTestApi): void {
  const { it, expect } = t;
  const data = new TextEncoder().encode('{"_type":"https://in-toto.io/Statement/v1"}');
  t.describe(`Signer contract: ${c.name}`, () => {
    it("names its key", async () => {
      const s = await c.create();
      expect(typeof s.keyid === "string" && s.keyid.length > 0).toBe(true);
      expect(s.keyid).toBe(s.keyid);
    });
    it("signs so that the signature verifies over the data", async () => {
      const s = await c.create();
      const sig = await s.sign(data);
      expect(sig.length > 0).toBe(true);
      expect(await c.verify(s, data, sig)).toBe(true);
    });
    it("gives a signature that proves nothing about other data or when altered", async () => {
      const s = await c.create();
      const sig = await s.sign(data);
      for (const at of [0, data.length >> 1, data.length - 1]) {
        const other = new Uint8Array(data);
        other[at] = (other[at] as number) ^ 1;
        expect(await c.verify(s, other, sig)).toBe(false);
      }
      expect(await c.verify(s, data.subarray(0, data.length - 1), sig)).toBe(false);
      const flipped = new Uint8Array(sig);
      const at = flipped.length >> 1;
      flipped[at] = (flipped[at] as number) ^ 0x40;
      expect(await c.verify(s, data, flipped)).toBe(false);
      expect(await c.verify(s, data, new Uint8Array(0))).toBe(false);
    });
    it("is a different key from another signer it makes", async () => {
      const a = await c.create();
      const b = await c.create();
      expect(a.keyid === b.keyid).toBe(false);
      expect(await c.verify(b, data, await a.sign(data))).toBe(false);
    });
    it("signs empty data without throwing", async () => {
      const s = await c.create();
      const e = await thrownBy(() => s.sign(new Uint8Array(0)));
      expect(codeOf(e)).toBe("no error");
    });
  });
}
