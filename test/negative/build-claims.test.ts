import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppContext,
  BUILDER_ID,
  type BuildResult,
  copyImageBetween,
  createAppContext,
  evaluateImagePolicy,
  policyInput,
  recordChainLink,
  SLSA_PROVENANCE_V1,
  signStatement,
} from "../../src/app/index.js";
import { statement } from "../../src/attest/index.js";
import { type Digest, sha256 } from "../../src/core/digest.js";
import { startRegistry, type TestRegistry } from "../support/registry.js";
import { tempDir } from "../support/tmp.js";
import { offlineBuild } from "./offline-build.js";

const FILES = "files:\n  - src: app/\n    dst: /app/\n";

/**
 * "Hermetic" and "isolated" only from what the verified provenance records and verification can
 * check (no network during assembly, every input pinned by digest, the assembly's environment),
 * never from the reproducibility check; what it does not show is "unknown", and the default
 * policy's require_secure_build then cannot pass.
 */
describe("hermetic and isolated build claims", () => {
  let ctx: AppContext;
  let registry: TestRegistry;
  let local: BuildResult;

  const build = async (ref: string) =>
    (await policyInput(ctx, ref)).input["image"] as Record<string, Record<string, unknown>>;
  const provenanceOf = async (r: BuildResult) => {
    const links = await ctx.evidence().find({ subject: r.image.digest, kind: "provenance" });
    const bundle = JSON.parse(
      Buffer.from(
        (await ctx.evidence().getBlob(links[links.length - 1]?.evidence as Digest)).bytes,
      ).toString(),
    );
    return JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, "base64").toString()).predicate;
  };
  const secureBuild = async (ref: string) =>
    (await evaluateImagePolicy(ctx, ref, { record: false })).decision.rules.find(
      (r) => r.name === "require_secure_build",
    )?.result;

  beforeAll(async () => {
    ctx = createAppContext({
      home: tempDir("cleanimg-negative-build-"),
      env: { SOURCE_DATE_EPOCH: "1700000000" },
      insecure: true,
    });
    local = await offlineBuild(ctx, `image: static:1.0.0\n${FILES}`);
    registry = await startRegistry("none");
    await copyImageBetween(ctx, "local:static:1.0.0", `docker://${registry.host}/base:1`);
  }, 300_000);
  afterAll(async () => {
    await registry?.stop();
    await ctx?.close();
  });

  it("records what the assembly guarantees, and calls the build hermetic but not isolated", async () => {
    const image = await build("static:1.0.0");
    // no sandbox: not isolated, however reproducible the build is
    expect(image["build"]).toMatchObject({ reproducible: true, hermetic: true, isolated: false });
    const assembly = (await provenanceOf(local)).buildDefinition.internalParameters.assembly;
    expect(assembly).toMatchObject({
      network: "none",
      inputs: "pinned by sha256",
      environment: { sandbox: "none" },
    });
    expect(await secureBuild("static:1.0.0")).toBe("pass");
  });

  it("is not hermetic when the base image's layers were read from a registry during assembly", async () => {
    const remote = await offlineBuild(
      ctx,
      `image: remote:1.0.0\nbase: ${registry.host}/base:1@${local.image.digest}\n${FILES}`,
    );
    const image = await build("remote:1.0.0");
    expect(image["build"]).toMatchObject({ reproducible: true, hermetic: false });
    const assembly = (await provenanceOf(remote)).buildDefinition.internalParameters.assembly;
    expect(assembly.network).toMatch(/registry/);
    expect(String(image["build"]?.["detail"])).toMatch(/the assembly used the network/);
    expect(await secureBuild("remote:1.0.0")).toBe("fail");
  });

  it("is unknown when the signed provenance records nothing about the assembly, reproducible or not", async () => {
    // a provenance as a builder that records no assembly properties signs it, with the chain's
    // provenance link naming a reproducibility attestation
    const image = { name: "elsewhere:1.0.0", digest: sha256("an image built elsewhere") };
    const signed = await signStatement(
      ctx,
      statement([image], SLSA_PROVENANCE_V1, {
        buildDefinition: {
          buildType: "https://example.com/build/v1",
          externalParameters: {},
          internalParameters: {},
          resolvedDependencies: [],
        },
        runDetails: { builder: { id: BUILDER_ID } },
      }),
    );
    const doc = await ctx
      .evidence()
      .putBlob(signed.bytes, "application/vnd.dev.sigstore.bundle.v0.3+json");
    const repro = await ctx.evidence().putBlob(new TextEncoder().encode("{}"), "application/json");
    await recordChainLink(ctx, {
      image,
      stage: "provenance",
      evidence: { digest: doc, mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json" },
      previous: [],
      inputs: { slsaBuildLevel: "1", builder: BUILDER_ID, base: "scratch", reproducible: repro },
      tool: "test",
    });
    const input = await build(image.digest);
    expect(input["provenance"]).toMatchObject({ verified: true });
    expect(input["build"]).toMatchObject({
      reproducible: true,
      hermetic: "unknown",
      isolated: "unknown",
    });
    expect(await secureBuild(image.digest)).toBe("fail");
  });
});
