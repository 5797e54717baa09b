import { createPublicKey } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCosignPrivateKey } from "../../src/attest/keys.js";
import { runCliAsync } from "../support/cli.js";
import { startRekorV2 } from "../support/rekor-v2-stand-in.js";
import {
  identityToken,
  type SigstoreServices,
  startSigstoreServices,
} from "../support/sigstore-services.js";
import { tempDir } from "../support/tmp.js";

const COSIGN_KEY = resolve(import.meta.dirname, "../fixtures/cosign/conforma-test.key");
const ISSUER = "https://token.actions.githubusercontent.com";
const IDENTITY = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";

/**
 * Keyless signing and Rekor witnessing against Fulcio, Rekor and a TSA on 127.0.0.1 (the request
 * handlers of sigstore-js's @sigstore/mock behind a real HTTP server), driven through the
 * command line in the sigstore-conformance protocol, and verified offline by the same tool.
 */
describe("sigstore sign-bundle", () => {
  let services: SigstoreServices;
  let dir: string;
  let root: string;
  let artifact: string;
  const home = tempDir();
  const token = identityToken({ iss: ISSUER, sub: IDENTITY });

  beforeAll(async () => {
    services = await startSigstoreServices();
    dir = tempDir();
    root = join(dir, "trusted_root.json");
    writeFileSync(root, JSON.stringify(services.trustedRoot));
    writeFileSync(join(dir, "signing_config.json"), JSON.stringify(services.signingConfig));
    artifact = join(dir, "release.tar");
    writeFileSync(artifact, "the release artifact\n");
  });
  afterAll(async () => {
    await services.close();
  });

  const TRUSTED = ["--certificate-identity", IDENTITY, "--certificate-oidc-issuer", ISSUER];
  const signBundle = (bundle: string, args: string[]) =>
    runCliAsync(home, ["sigstore", "sign-bundle", ...args, "--bundle", bundle, artifact]);
  const verify = (bundle: string, extra: string[], file = artifact) =>
    runCliAsync(home, [
      "sigstore",
      "verify-bundle",
      "--bundle",
      bundle,
      "--trusted-root",
      root,
      ...extra,
      file,
    ]);

  it("signs keyless (Fulcio certificate, Rekor entry, timestamp) into a v0.3 bundle that verifies offline", async () => {
    const bundle = join(dir, "keyless.sigstore.json");
    const signed = await signBundle(bundle, [
      "--identity-token",
      token,
      "--fulcio-url",
      services.url,
      "--rekor-url",
      services.url,
      "--tsa-url",
      `${services.url}/api/v1/timestamp`,
    ]);
    expect(signed.code, signed.stderr).toBe(0);
    const b = JSON.parse(readFileSync(bundle, "utf8"));
    expect(b.mediaType).toBe("application/vnd.dev.sigstore.bundle.v0.3+json");
    expect(b.verificationMaterial.certificate.rawBytes).toBeTruthy();
    expect(b.verificationMaterial.tlogEntries[0].kindVersion.kind).toBe("hashedrekord");
    expect(b.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint.envelope).toBeTruthy();
    expect(b.verificationMaterial.timestampVerificationData.rfc3161Timestamps).toHaveLength(1);
    // Fulcio was asked for a certificate with the token; Rekor got hashes, not the artifact
    const fulcio = services.requests.find((r) => r.path === "/api/v2/signingCert");
    expect(fulcio?.body).toContain(token);
    const rekor = services.requests.filter((r) => r.path === "/api/v1/log/entries");
    expect(rekor.at(-1)?.body).not.toContain(
      Buffer.from("the release artifact").toString("base64"),
    );

    const ok = await verify(bundle, TRUSTED);
    expect(ok.code, ok.stderr).toBe(0);
    const wrongIdentity = await verify(bundle, [
      "--certificate-identity",
      "https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main",
      "--certificate-oidc-issuer",
      ISSUER,
    ]);
    expect(wrongIdentity.code).toBe(1);
    const other = join(dir, "other.tar");
    writeFileSync(other, "another artifact\n");
    const wrongArtifact = await verify(bundle, TRUSTED, other);
    expect(wrongArtifact.code).toBe(1);
  });

  it("checks Rekor's proofs: a changed proof root, index or logged body fails, naming what broke", async () => {
    const bundle = join(dir, "proof.sigstore.json");
    const signed = await signBundle(bundle, [
      "--identity-token",
      token,
      "--signing-config",
      join(dir, "signing_config.json"),
    ]);
    expect(signed.code, signed.stderr).toBe(0);
    const b = JSON.parse(readFileSync(bundle, "utf8"));
    const proof = b.verificationMaterial.tlogEntries[0].inclusionProof;
    const flip = (s: string) => {
      const x = Buffer.from(s, "base64");
      x[0] = (x[0] as number) ^ 1;
      return x.toString("base64");
    };
    const cases: [string, (c: typeof b) => void, RegExp][] = [
      [
        "root hash",
        (c) =>
          (c.verificationMaterial.tlogEntries[0].inclusionProof.rootHash = flip(proof.rootHash)),
        /root hash does not match its checkpoint/,
      ],
      [
        "log index",
        (c) =>
          (c.verificationMaterial.tlogEntries[0].inclusionProof.logIndex = String(
            Number(proof.logIndex ?? 0) + 1,
          )),
        /invalid index/,
      ],
      [
        "logged body",
        (c) =>
          (c.verificationMaterial.tlogEntries[0].canonicalizedBody = flip(
            c.verificationMaterial.tlogEntries[0].canonicalizedBody,
          )),
        /inclusion promise could not be verified/,
      ],
    ];
    const ok = await verify(bundle, TRUSTED);
    expect(ok.code, ok.stderr).toBe(0);
    for (const [what, mutate, reason] of cases) {
      const copy = JSON.parse(JSON.stringify(b));
      mutate(copy);
      const path = join(dir, `tampered-${what.replace(/ /g, "-")}.json`);
      writeFileSync(path, JSON.stringify(copy));
      const r = await verify(path, TRUSTED);
      expect(r.code, what).toBe(1);
      expect(r.stderr, what).toMatch(reason);
    }
  });

  it("signs with a cosign key and has Rekor witness it; verifies with the public key", async () => {
    const bundle = join(dir, "key.sigstore.json");
    const signed = await signBundle(bundle, ["--key", COSIGN_KEY, "--rekor-url", services.url]);
    expect(signed.code, signed.stderr).toBe(0);
    const b = JSON.parse(readFileSync(bundle, "utf8"));
    expect(b.mediaType).toBe("application/vnd.dev.sigstore.bundle.v0.3+json");
    expect(b.verificationMaterial.publicKey.hint).toBeTruthy();
    expect(b.verificationMaterial.tlogEntries).toHaveLength(1);
    const pub = join(dir, "cosign.pub");
    writeFileSync(
      pub,
      createPublicKey(loadCosignPrivateKey(readFileSync(COSIGN_KEY, "utf8"), ""))
        .export({ type: "spki", format: "pem" })
        .toString(),
    );
    const ok = await verify(bundle, ["--key", pub]);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it("signs against a Rekor v2 log named by a v0.2 signing config: hashedrekord 0.0.2, a signed checkpoint, a timestamp, no SET", async () => {
    const v2 = await startRekorV2();
    try {
      const config = services.signingConfig as { rekorTlogUrls: Record<string, unknown>[] };
      const v2Config = join(dir, "signing_config.v2.json");
      // the v1 log started earlier; the most recent shard the client speaks is chosen
      writeFileSync(
        v2Config,
        JSON.stringify({ ...config, rekorTlogUrls: [...config.rekorTlogUrls, v2.service] }),
      );
      const v2Root = join(dir, "trusted_root.v2.json");
      const tr = services.trustedRoot as { tlogs: unknown[] };
      writeFileSync(v2Root, JSON.stringify({ ...tr, tlogs: [...tr.tlogs, v2.tlog] }));
      const bundle = join(dir, "rekor-v2.sigstore.json");
      const signed = await signBundle(bundle, [
        "--identity-token",
        token,
        "--signing-config",
        v2Config,
      ]);
      expect(signed.code, signed.stderr).toBe(0);
      expect(v2.requests).toHaveLength(1);
      expect(JSON.parse(v2.requests[0] as string)).toHaveProperty("hashedRekordRequestV002");
      const b = JSON.parse(readFileSync(bundle, "utf8"));
      const entry = b.verificationMaterial.tlogEntries[0];
      expect(b.verificationMaterial.tlogEntries).toHaveLength(1);
      expect(entry.kindVersion).toEqual({ kind: "hashedrekord", version: "0.0.2" });
      expect(entry.inclusionPromise).toBeUndefined();
      expect(entry.integratedTime ?? "0").toBe("0");
      expect(entry.inclusionProof.checkpoint.envelope).toContain(new URL(v2.url).host);
      expect(b.verificationMaterial.timestampVerificationData.rfc3161Timestamps).toHaveLength(1);
      const verifyV2 = (file: string, rootFile = v2Root) =>
        runCliAsync(home, [
          "sigstore",
          "verify-bundle",
          "--bundle",
          file,
          "--trusted-root",
          rootFile,
          ...TRUSTED,
          artifact,
        ]);
      const ok = await verifyV2(bundle);
      expect(ok.code, ok.stderr).toBe(0);
      // the v2 log's key is what makes its checkpoint trusted; the timestamp stands in for a SET
      const untrusted = await verifyV2(bundle, root);
      expect(untrusted.code).toBe(1);
      expect(untrusted.stderr).toMatch(/checkpoint signature/);
      const noTimestamp = join(dir, "rekor-v2-no-ts.sigstore.json");
      const { timestampVerificationData: _ts, ...vm } = b.verificationMaterial;
      writeFileSync(noTimestamp, JSON.stringify({ ...b, verificationMaterial: vm }));
      const refused = await verifyV2(noTimestamp);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/timestamp/);
    } finally {
      await v2.close();
    }
  });

  it("writes no bundle when a service refuses, and says which", async () => {
    const bundle = join(dir, "refused.sigstore.json");
    const r = await signBundle(bundle, [
      "--identity-token",
      token,
      "--fulcio-url",
      `${services.url}/no-such-ca`,
      "--rekor-url",
      services.url,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Sigstore signing failed/);
    expect(existsSync(bundle)).toBe(false);
  });
});
