import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAppContext, verifyChain } from "../../src/app/index.js";
import { generateChains, imageOf } from "../support/chains.js";
import { runCliAsync } from "../support/cli.js";
import {
  identityToken,
  type SigstoreServices,
  startSigstoreServices,
} from "../support/sigstore-services.js";
import { tempDir } from "../support/tmp.js";

const ISSUER = "https://token.actions.githubusercontent.com";
/** Who signed: a workflow of another repository whose name contains the trusted one. */
const SIGNER = "https://github.com/acme/app-fork/.github/workflows/release.yml@refs/heads/main";
/** What is trusted; as an unanchored regular expression it matches SIGNER ("." is any char). */
const TRUSTED = "https://github.com/acme/app.fork/.github/workflows/release.yml";

/**
 * A certificate identity is trusted only when it is the identity given, as cosign's
 * `--certificate-identity` means. sigstore-js tests the SAN as an unanchored regular expression,
 * so a trusted identity that is a part of the signer's, or matches it with "." as any character,
 * was accepted: a chain signed by another workflow verified intact, and `sigstore verify-bundle`
 * said verified.
 */
describe("a certificate identity matches exactly, never as a pattern", () => {
  let services: SigstoreServices;
  let root: string;
  const home = tempDir();
  const token = identityToken({ iss: ISSUER, sub: SIGNER });

  beforeAll(async () => {
    services = await startSigstoreServices();
    root = join(tempDir(), "trusted_root.json");
    writeFileSync(root, JSON.stringify(services.trustedRoot));
    const ctx = createAppContext({
      home,
      env: {
        CLEANIMG_FULCIO_URL: services.url,
        CLEANIMG_REKOR_URL: services.url,
        SIGSTORE_ID_TOKEN: token,
      },
    });
    await generateChains(ctx, 1);
    await ctx.close();
  }, 120_000);
  afterAll(async () => {
    await services.close();
  });

  it("does not call a chain intact when its signer only matches the trusted identity as a pattern", async () => {
    const verifyAs = async (identities: string) => {
      const ctx = createAppContext({
        home,
        env: { CLEANIMG_SIGSTORE_TRUSTED_ROOT: root, CLEANIMG_TRUSTED_IDENTITIES: identities },
      });
      try {
        return await verifyChain(ctx, imageOf(0).digest);
      } finally {
        await ctx.close();
      }
    };
    for (const trusted of [TRUSTED, "acme/app-fork", `${SIGNER.slice(0, -4)}`]) {
      const report = await verifyAs(`${trusted}|${ISSUER}`);
      expect(report.intact, trusted).toBe(false);
      expect(report.links[0]?.reason).toMatch(/keyless signature not accepted.*signed by/);
    }
    // the signer's own identity, given exactly, is accepted
    const exact = await verifyAs(`${SIGNER}|${ISSUER}`);
    expect(exact.intact).toBe(true);
    expect(exact.links[0]?.signers).toEqual([`${SIGNER} (${ISSUER})`]);
  });

  it("sigstore verify-bundle refuses a signer whose identity merely matches --certificate-identity", async () => {
    const dir = tempDir();
    const artifact = join(dir, "release.tar");
    writeFileSync(artifact, "the release artifact\n");
    const bundle = join(dir, "release.sigstore.json");
    const cli = (args: string[]) => runCliAsync(home, ["sigstore", ...args]);
    const signed = await cli([
      "sign-bundle",
      "--identity-token",
      token,
      "--fulcio-url",
      services.url,
      "--rekor-url",
      services.url,
      "--bundle",
      bundle,
      artifact,
    ]);
    expect(signed.code, signed.stderr).toBe(0);
    const verify = (identity: string, issuer = ISSUER) =>
      cli([
        "verify-bundle",
        "--bundle",
        bundle,
        "--trusted-root",
        root,
        "--certificate-identity",
        identity,
        "--certificate-oidc-issuer",
        issuer,
        artifact,
      ]);
    for (const identity of [TRUSTED, "acme/app-fork", "release"]) {
      const r = await verify(identity);
      expect(r.code, identity).not.toBe(0);
      expect(r.stderr).toMatch(/certificate identity error/);
    }
    const wrongIssuer = await verify(SIGNER, "https://token.actions.githubusercontent.com.evil");
    expect(wrongIssuer.code).not.toBe(0);
    const ok = await verify(SIGNER);
    expect(ok.code, ok.stderr).toBe(0);
  });
});
