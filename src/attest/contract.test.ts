import { describe, expect, it } from "vitest";
import { describeSignerContract } from "./contract.js";
import { generateKeyPair, type KeyType, keySigner, loadPrivateKey } from "./keys.js";

/** The key signers keep the Signer contract. */
for (const type of ["ecdsa-p256", "ed25519"] as const satisfies readonly KeyType[]) {
  describeSignerContract(
    {
      name: `key signer (${type})`,
      create: async () => keySigner(loadPrivateKey(generateKeyPair(type).privatePem)),
    },
    { describe, it, expect },
  );
}

/** Runs a contract suite outside vitest and returns the names of the cases that failed. */
async function failedCases(c: Parameters<typeof describeSignerContract>[0]): Promise<string[]> {
  const cases: [string, () => Promise<void>][] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const check = (ok: boolean) => {
    if (!ok) {
      throw new Error("expectation failed");
    }
  };
  describeSignerContract(c, {
    describe: (_n, fn) => fn(),
    it: (n, fn) => cases.push([n, fn]),
    expect: (v) => ({
      toBe: (x) => check(Object.is(v, x)),
      toEqual: (x) => check(same(v, x)),
      toHaveLength: (n) => check((v as { length: number }).length === n),
    }),
  });
  const failed: string[] = [];
  for (const [name, fn] of cases) {
    await fn().catch(() => failed.push(name));
  }
  return failed;
}

describe("the Signer contract fails a signer that breaks it", () => {
  it("fails a signer whose key id names no key of its own", async () => {
    const failed = await failedCases({
      name: "wrong key id",
      create: async () => {
        const s = keySigner(loadPrivateKey(generateKeyPair("ecdsa-p256").privatePem));
        return { keyid: "0".repeat(64), sign: (d) => s.sign(d) };
      },
    });
    expect(failed).toContain(
      "names the key each signature was made with, and that key is its key id's",
    );
  });

  it("fails a signer that names another key than the one it signed with", async () => {
    const other = keySigner(loadPrivateKey(generateKeyPair("ecdsa-p256").privatePem));
    const failed = await failedCases({
      name: "wrong key",
      create: async () => {
        const s = keySigner(loadPrivateKey(generateKeyPair("ecdsa-p256").privatePem));
        return {
          keyid: other.keyid,
          sign: async (d) => ({ ...(await s.sign(d)), key: (await other.sign(d)).key }),
        };
      },
    });
    expect(failed).toContain(
      "signs so that the signature verifies over the data under the key it names",
    );
  });

  it("passes the key signer", async () => {
    const failed = await failedCases({
      name: "key signer",
      create: async () => keySigner(loadPrivateKey(generateKeyPair("ed25519").privatePem)),
    });
    expect(failed).toEqual([]);
  });
});
