import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createAppContext,
  latestLink,
  readTransparencyLog,
  trustedKeys,
  verifyChain,
} from "../../src/app/index.js";
import { verifyRekorEntries } from "../../src/attest/index.js";
import { sha256 } from "../../src/core/digest.js";
import { generateChains, imageOf, recordBareLink } from "../support/chains.js";
import { type SigstoreServices, startSigstoreServices } from "../support/sigstore-services.js";
import { tempDir } from "../support/tmp.js";

/**
 * With CLEANIMG_REKOR_URL set, every chain link is also recorded in Rekor (a stand-in on
 * 127.0.0.1 built from sigstore-js's @sigstore/mock handlers), and with
 * CLEANIMG_SIGSTORE_TRUSTED_ROOT set, chain verification checks those entries too.
 */
describe("evidence recorded in Rekor", () => {
  let services: SigstoreServices;
  let other: SigstoreServices;
  let root: string;
  let otherRoot: string;
  const home = tempDir();

  beforeAll(async () => {
    services = await startSigstoreServices();
    other = await startSigstoreServices();
    const dir = tempDir();
    root = join(dir, "trusted_root.json");
    otherRoot = join(dir, "other_root.json");
    writeFileSync(root, JSON.stringify(services.trustedRoot));
    writeFileSync(otherRoot, JSON.stringify(other.trustedRoot));
    const ctx = createAppContext({ home, env: { CLEANIMG_REKOR_URL: services.url } });
    await generateChains(ctx, 1);
    await ctx.close();
  }, 120_000);
  afterAll(async () => {
    await services.close();
    await other.close();
  });

  it("logs each link in Rekor by hashes only, and verifies those entries with the trusted root", async () => {
    const entries = services.requests.filter((r) => r.path === "/api/v1/log/entries");
    expect(entries).toHaveLength(6);
    for (const e of entries) {
      const proposed = JSON.parse(e.body) as { kind: string; spec: { proposedContent?: unknown } };
      expect(proposed.kind).toBe("dsse");
    }
    const ctx = createAppContext({ home, env: { CLEANIMG_SIGSTORE_TRUSTED_ROOT: root } });
    const report = await verifyChain(ctx, imageOf(0).digest);
    // what Rekor logged: the hashes and the signature, not the statement
    const link = await latestLink(ctx, imageOf(0).digest, "scan");
    const bundle = JSON.parse(
      new TextDecoder().decode((await ctx.evidence().getBlob(link?.attestation as never)).bytes),
    );
    const logged = Buffer.from(
      bundle.verificationMaterial.tlogEntries[1].canonicalizedBody,
      "base64",
    ).toString("utf8");
    expect(JSON.parse(logged).spec.payloadHash.value).toMatch(/^[0-9a-f]{64}$/);
    expect(logged).not.toContain(bundle.dsseEnvelope.payload);
    await ctx.close();
    expect(report.intact).toBe(true);
    expect(report.links.map((l) => [l.stage, l.state, l.rekorEntries])).toEqual(
      ["provenance", "sbom", "scan", "vex", "policy", "deployment"].map((s) => [s, "valid", 1]),
    );
  });

  it("breaks the link when its Rekor entry does not verify, naming Rekor", async () => {
    // another Rekor's trusted root: the entries are not in a log it trusts
    const ctx = createAppContext({ home, env: { CLEANIMG_SIGSTORE_TRUSTED_ROOT: otherRoot } });
    const report = await verifyChain(ctx, imageOf(0).digest);
    expect(report.intact).toBe(false);
    expect(report.firstBroken).toBe("provenance");
    expect(report.links[0]?.reason).toMatch(/^Rekor entry 1: /);

    // an altered Rekor entry in a bundle
    const link = await latestLink(ctx, imageOf(0).digest, "sbom");
    const bytes = (await ctx.evidence().getBlob(link?.attestation as never)).bytes;
    const bundle = JSON.parse(new TextDecoder().decode(bytes));
    const body = Buffer.from(
      bundle.verificationMaterial.tlogEntries[1].canonicalizedBody,
      "base64",
    );
    body[body.length - 3] = (body[body.length - 3] as number) ^ 1;
    bundle.verificationMaterial.tlogEntries[1].canonicalizedBody = body.toString("base64");
    const [key] = await trustedKeys(ctx);
    const pem = key?.export({ type: "spki", format: "pem" }).toString() ?? "";
    expect(verifyRekorEntries(bytes, pem, services.trustedRoot)).toBe(1);
    expect(() =>
      verifyRekorEntries(
        new TextEncoder().encode(JSON.stringify(bundle)),
        pem,
        services.trustedRoot,
      ),
    ).toThrow(/Rekor entry 1: /);
    await ctx.close();
  });

  it("stores and logs nothing when Rekor refuses the entry", async () => {
    const ctx = createAppContext({
      home,
      env: { CLEANIMG_REKOR_URL: `${services.url}/no-such-log` },
    });
    const before = (await readTransparencyLog(ctx)).bodies.length;
    const image = { name: "registry.example/refused:1", digest: sha256("refused") };
    await expect(recordBareLink(ctx, image)).rejects.toThrow(/Rekor did not record the entry/);
    expect((await readTransparencyLog(ctx)).bodies.length).toBe(before);
    expect(await latestLink(ctx, image.digest, "sbom")).toBeUndefined();
    await ctx.close();
  });
});
