import { createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { createAppContext, identities } from "../../src/app/index.js";
import { keyIdOf, keySigner, loadPrivateKey, verifySignature } from "../../src/attest/index.js";
import { tempDir } from "../support/tmp.js";

const KEY = resolve(import.meta.dirname, "../fixtures/cosign/conforma-test.key");

/** Runs `f`, expecting a ToolError with this code whose message matches. */
function expectKeyError(f: () => unknown, code: string, message: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect((err as { code?: string })?.code).toBe(code);
  expect((err as Error).message).toMatch(message);
}

/** Private keys as cosign writes them (scrypt + NaCl secretbox), from a real cosign key file. */
describe("cosign key files", () => {
  const pem = readFileSync(KEY, "utf8");

  it("opens a cosign.key with its password and signs with it", async () => {
    const key = loadPrivateKey(pem, "");
    expect(key.asymmetricKeyType).toBe("ec");
    expect(key.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    const data = new TextEncoder().encode("payload");
    const { signature } = await keySigner(key).sign(data);
    expect(verifySignature(createPublicKey(key), data, signature)).toBe(true);
  });

  it("refuses a wrong password and an altered key, saying which it may be", () => {
    expectKeyError(
      () => loadPrivateKey(pem, "not the password"),
      "ATTEST_KEY_INVALID",
      /wrong password, or the key was altered/,
    );
    // one character of the ciphertext changed: the secretbox's authenticator refuses it
    const lines = pem.split("\n");
    const body = Buffer.from(lines.slice(1, -2).join(""), "base64").toString("utf8");
    const doc = JSON.parse(body);
    const ct = Buffer.from(doc.ciphertext, "base64");
    ct[5] = (ct[5] ?? 0) ^ 1;
    doc.ciphertext = ct.toString("base64");
    const altered = `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${Buffer.from(JSON.stringify(doc)).toString("base64")}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`;
    expectKeyError(
      () => loadPrivateKey(altered, ""),
      "ATTEST_KEY_INVALID",
      /wrong password, or the key was altered/,
    );
    expectKeyError(
      () =>
        loadPrivateKey(
          "-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\nbm90IGEga2V5\n-----END ENCRYPTED COSIGN PRIVATE KEY-----\n",
          "",
        ),
      "ATTEST_KEY_INVALID",
      /not base64 JSON/,
    );
  });

  it("is the signing key with CLEANIMG_SIGNING_KEY and cosign's COSIGN_PASSWORD", async () => {
    const ctx = createAppContext({
      home: tempDir("cleanimg-cosign-home-"),
      env: { CLEANIMG_SIGNING_KEY: KEY, COSIGN_PASSWORD: "" },
    });
    const { signing } = await identities(ctx);
    expect(signing.keyid).toBe(keyIdOf(createPublicKey(loadPrivateKey(pem, ""))));
    await ctx.close();
  });
});
