import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { sha256 } from "../core/digest.js";
import { AttestError } from "../core/errors.js";
import { type DsseEnvelope, pae, signEnvelope, verifyEnvelope } from "./dsse.js";
import { generateKeyPair, keySigner, loadPrivateKey, loadPublicKey } from "./keys.js";
import { IN_TOTO_PAYLOAD_TYPE, statement } from "./statement.js";

const INTOTO = resolve(
  import.meta.dirname,
  "../../../shared/corpus/attestations/in-toto/golang-testdata",
);

describe("DSSE", () => {
  it("encodes PAE as the DSSE specification's test vector", () => {
    expect(
      Buffer.from(pae("http://example.com/HelloWorld", Buffer.from("hello world"))).toString(),
    ).toBe("DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  });

  for (const type of ["ecdsa-p256", "ed25519"] as const) {
    it(`signs and verifies with ${type} keys, encrypted at rest`, async () => {
      const k = generateKeyPair(type, "correct horse");
      expect(k.privatePem).toContain("ENCRYPTED PRIVATE KEY");
      const signer = keySigner(loadPrivateKey(k.privatePem, "correct horse"));
      expect(signer.keyid).toBe(k.keyid);
      const st = statement(
        [{ name: "myapp", digest: sha256("image") }],
        "https://spdx.dev/Document",
        { spdxVersion: "SPDX-2.3" },
      );
      const env = await signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(st)), [
        signer,
      ]);
      const ok = verifyEnvelope(env, [loadPublicKey(k.publicPem)]);
      expect(ok.keyids).toEqual([k.keyid]);
      expect(JSON.parse(Buffer.from(ok.payload).toString()).subject[0].digest.sha256).toBe(
        sha256("image").slice(7),
      );
      // tampered payload, another key, a threshold above the signers: all rejected
      const tampered: DsseEnvelope = {
        ...env,
        payload: Buffer.from(JSON.stringify({ ...st, predicateType: "x" })).toString("base64"),
      };
      expect(() => verifyEnvelope(tampered, [loadPublicKey(k.publicPem)])).toThrow(AttestError);
      expect(() => verifyEnvelope(env, [loadPublicKey(generateKeyPair(type).publicPem)])).toThrow(
        AttestError,
      );
      expect(() => verifyEnvelope(env, [loadPublicKey(k.publicPem)], 2)).toThrowError(/2 required/);
      expect(() => loadPrivateKey(k.privatePem, "wrong")).toThrow(AttestError);
    });
  }

  it("counts distinct trusted keys toward a threshold", async () => {
    const a = generateKeyPair("ecdsa-p256");
    const b = generateKeyPair("ed25519");
    const env = await signEnvelope("text/plain", Buffer.from("x"), [
      keySigner(loadPrivateKey(a.privatePem)),
      keySigner(loadPrivateKey(b.privatePem)),
    ]);
    expect(
      verifyEnvelope(env, [loadPublicKey(a.publicPem), loadPublicKey(b.publicPem)], 2).keyids,
    ).toHaveLength(2);
  });

  it("makes ECDSA signatures that openssl verifies", async () => {
    const k = generateKeyPair("ecdsa-p256");
    const env = await signEnvelope("text/plain", Buffer.from("checked by openssl"), [
      keySigner(loadPrivateKey(k.privatePem)),
    ]);
    const d = mkdtempSync(join(tmpdir(), "dsse-"));
    writeFileSync(join(d, "pub.pem"), k.publicPem);
    writeFileSync(join(d, "pae.bin"), pae("text/plain", Buffer.from("checked by openssl")));
    writeFileSync(join(d, "sig.der"), Buffer.from(env.signatures[0]?.sig ?? "", "base64"));
    const out = execFileSync(
      "openssl",
      [
        "dgst",
        "-sha256",
        "-verify",
        join(d, "pub.pem"),
        "-signature",
        join(d, "sig.der"),
        join(d, "pae.bin"),
      ],
      { encoding: "utf8" },
    );
    expect(out.trim()).toBe("Verified OK");
  });

  it("verifies in-toto's DSSE-signed demo layout with alice's RSA key, and not with another key", () => {
    const env = JSON.parse(readFileSync(join(INTOTO, "demo.dsse.layout"), "utf8")) as DsseEnvelope;
    const ok = verifyEnvelope(env, [
      loadPublicKey(readFileSync(join(INTOTO, "alice.pub"), "utf8")),
    ]);
    expect(ok.payloadType).toBe(IN_TOTO_PAYLOAD_TYPE);
    expect(JSON.parse(Buffer.from(ok.payload).toString())._type).toBe("layout");
    expect(() =>
      verifyEnvelope(env, [loadPublicKey(readFileSync(join(INTOTO, "carol.pub"), "utf8"))]),
    ).toThrow(AttestError);
  });

  it("reads public keys as JWK", () => {
    const k = generateKeyPair("ed25519");
    const jwk = loadPublicKey(k.publicPem).export({ format: "jwk" });
    expect(loadPublicKey(jwk).asymmetricKeyType).toBe("ed25519");
  });
});
