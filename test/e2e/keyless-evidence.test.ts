import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createAppContext,
  latestLink,
  verifyAuditTrail,
  verifyChain,
} from "../../src/app/index.js";
import { sha256 } from "../../src/core/digest.js";
import { generateChains, imageOf, recordBareLink } from "../support/chains.js";
import {
  identityToken,
  type SigstoreServices,
  startSigstoreServices,
} from "../support/sigstore-services.js";
import { tempDir } from "../support/tmp.js";

const ISSUER = "https://token.actions.githubusercontent.com";
const IDENTITY = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";

/**
 * Evidence signed keyless, as in CI: each chain link signed by an ephemeral key that Fulcio
 * certifies for the workflow's identity, recorded in Rekor and the embedded log; verified
 * against the Sigstore trusted root and the identities allowed to sign. (Fulcio and Rekor on
 * 127.0.0.1 from sigstore-js's @sigstore/mock handlers.)
 */
describe("keyless evidence", () => {
  let services: SigstoreServices;
  let root: string;
  const home = tempDir();
  const trusting = (identities: string) => ({
    CLEANIMG_SIGSTORE_TRUSTED_ROOT: root,
    CLEANIMG_TRUSTED_IDENTITIES: identities,
  });

  beforeAll(async () => {
    services = await startSigstoreServices();
    root = join(tempDir(), "trusted_root.json");
    writeFileSync(root, JSON.stringify(services.trustedRoot));
    const ctx = createAppContext({
      home,
      env: {
        CLEANIMG_FULCIO_URL: services.url,
        CLEANIMG_REKOR_URL: services.url,
        SIGSTORE_ID_TOKEN: identityToken({ iss: ISSUER, sub: IDENTITY }),
      },
    });
    await generateChains(ctx, 1);
    await ctx.close();
  }, 120_000);
  afterAll(async () => {
    await services.close();
  });

  it("signs every link with a Fulcio certificate for the workflow, and verifies it against the trusted identity", async () => {
    expect(services.requests.filter((r) => r.path === "/api/v2/signingCert")).toHaveLength(6);
    const ctx = createAppContext({ home, env: trusting(`${IDENTITY}|${ISSUER}`) });
    const link = await latestLink(ctx, imageOf(0).digest, "sbom");
    const bundle = JSON.parse(
      new TextDecoder().decode((await ctx.evidence().getBlob(link?.attestation as never)).bytes),
    );
    expect(bundle.verificationMaterial.certificate.rawBytes).toBeTruthy();
    expect(bundle.verificationMaterial.publicKey).toBeUndefined();
    expect(bundle.verificationMaterial.tlogEntries).toHaveLength(2);
    const report = await verifyChain(ctx, imageOf(0).digest);
    expect(report.intact).toBe(true);
    for (const l of report.links) {
      expect(l.state, l.stage).toBe("valid");
      expect(l.signers).toEqual([`${IDENTITY} (${ISSUER})`]);
      expect(l.rekorEntries).toBe(1);
    }
    // the audit trail stays signed with the store's key
    expect((await verifyAuditTrail(ctx)).intact).toBe(true);
    await ctx.close();
  });

  it("refuses a keyless link from an identity that is not trusted, or with no trusted root", async () => {
    const other = createAppContext({
      home,
      env: trusting(
        `https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main|${ISSUER}`,
      ),
    });
    const wrong = await verifyChain(other, imageOf(0).digest);
    await other.close();
    expect(wrong.firstBroken).toBe("provenance");
    expect(wrong.links[0]?.reason).toMatch(/keyless signature not accepted/);
    const none = createAppContext({ home, env: {} });
    const unconfigured = await verifyChain(none, imageOf(0).digest);
    await none.close();
    expect(unconfigured.links[0]?.reason).toMatch(/no trusted root and identities are configured/);
  });

  it("says what is missing when keyless signing is half configured, and signs nothing", async () => {
    const ctx = createAppContext({ home, env: { CLEANIMG_FULCIO_URL: services.url } });
    const image = { name: "registry.example/half:1", digest: sha256("half") };
    await expect(recordBareLink(ctx, image)).rejects.toThrow(/needs an OIDC identity token/);
    expect(await latestLink(ctx, image.digest, "sbom")).toBeUndefined();
    await ctx.close();
  });
});
